// The aws.sqs translation path: an SQS send through exo-proxy (libexoclient -> exo-proxy ->
// SigV4 -> moto) against the same SendMessage sent straight to moto by a tight client (the
// project's JSON-protocol client on one keep-alive connection, as exo-proxy uses it). Both run
// one request at a time, interleaved round by round; CPU is read from /proc for exo-proxy and
// moto, and from getrusage for this process.
//
// moto closes every connection after its answer, which SQS does not do; so by default both
// paths reach moto through an nginx that keeps their connections alive and alone opens a new
// one to moto per request (--no-front: straight to moto, a new connection per send).
//
// A second part measures the same two paths at throughput: `--concurrency` senders at once against
// an nginx that answers every SendMessageBatch with a fixed SQS answer in place of moto (moto
// spends 9-15 ms of CPU per send, so with it the proxy waits and sleeps between requests, and a
// per-request figure mostly counts wake-ups from idle). Both parts run unless --only picks one.
//
// Usage: bench_sqs [--rounds 5] [--seconds 3] [--exo-proxy PATH] [--no-front]
//                  [--concurrency 8] [--only moto|canned]
// Needs moto_server on $PATH (the machine's Python has it) and nginx.

#include <atomic>
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "backend/aws/json_api.h"
#include "backend/cloud.h"
#include "bench_support.h"
#include "exoflow/client.h"

namespace exoflow::bench {
namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

/// What one run of the throughput part measured.
struct ThroughputRun {
  double sends = 0;
  double subject_cpu = 0;      ///< exo-proxy's CPU seconds, or this process's for the direct client
  double subject_user_cpu = 0; ///< the user-mode part of subject_cpu
};

/// Runs `concurrency` threads for `seconds`, each calling `send(thread)` one after another.
template <typename Send>
ThroughputRun concurrent(double seconds, int concurrency, pid_t subject, Send send) {
  ThroughputRun run;
  std::atomic<long> sends{0};
  const double subject_before = subject > 0 ? cpuSeconds(subject) : ownCpu();
  const double user_before = subject > 0 ? userCpuSeconds(subject) : ownUserCpu();
  const auto end = Clock::now() + std::chrono::duration<double>(seconds);
  std::vector<std::thread> threads;
  for (int t = 0; t < concurrency; ++t) {
    threads.emplace_back([&, t] {
      while (Clock::now() < end) {
        send(t);
        sends.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  for (std::thread& thread : threads)
    thread.join();
  run.subject_cpu = (subject > 0 ? cpuSeconds(subject) : ownCpu()) - subject_before;
  run.subject_user_cpu = (subject > 0 ? userCpuSeconds(subject) : ownUserCpu()) - user_before;
  run.sends = static_cast<double>(sends.load());
  return run;
}

/// The throughput part: `concurrency` senders on each path against a fixed SQS answer.
int runCanned(int rounds, int seconds, const std::string& proxy_binary, int concurrency) {
  const std::optional<std::string> nginx = findProgram({"nginx", "/usr/sbin/nginx"});
  if (!nginx) throw std::runtime_error("nginx is not installed");
  // What SQS answers a SendMessageBatch of one entry with Id "0" (the proxy's batches number
  // their entries from 0); the MD5s are not checked by either client.
  const NginxCanned sqs_stand_in(*nginx, "application/x-amz-json-1.0",
                                 R"({"Successful":[{"Id":"0","MessageId":)"
                                 R"("5fea7756-0ea4-451a-a703-a558b933e274",)"
                                 R"("MD5OfMessageBody":"fafb00f5732ab283681e124bf8747ed1"}],)"
                                 R"("Failed":[]})");
  const std::string endpoint = fmt::format("http://127.0.0.1:{}", sqs_stand_in.port());
  const std::string queue_url = endpoint + "/123456789012/bench";

  backend::CloudServices cloud(backend::AwsCredentialsSpec{
      "static", {{"access_key_id", "bench"}, {"secret_access_key", "bench"}}});
  auto credentials = cloud.awsCredentials();
  if (!credentials) throw std::runtime_error(credentials.error().message);
  aws::JsonApi sqs(cloud.http(), **credentials, aws::ServiceEndpoint{endpoint, "us-east-1", "sqs"},
                   "AmazonSQS");
  const ExoProxy proxy(proxy_binary, fmt::format(R"(bindings:
  jobs: {{kind: queue, backends: [{{type: aws.sqs, region: us-east-1, queue_url: "{}", endpoint: "{}"}}]}}
credentials:
  aws: {{source: static, access_key_id: bench, secret_access_key: bench}}
)",
                                                 queue_url, endpoint));
  std::vector<client::Client> clients;
  for (int i = 0; i < concurrency; ++i) {
    client::ClientOptions options;
    options.endpoint = proxy.endpoint();
    options.token = ExoProxy::kToken;
    auto exo = client::Client::create(options);
    if (!exo) throw std::runtime_error("client: " + exo.error().message);
    clients.push_back(std::move(*exo));
  }
  const std::string body = R"({"order": 17, "sku": "A-1"})";
  // The request the proxy's aws.sqs backend sends for one message.
  const json direct_body = {{"QueueUrl", queue_url},
                            {"Entries", json::array({{{"Id", "0"}, {"MessageBody", body}}})}};
  client::OutgoingMessage message;
  message.body = body;
  const auto through_send = [&](int t) {
    if (!clients[static_cast<std::size_t>(t)].sendMessage("jobs", message)) {
      throw std::runtime_error("send through exo-proxy");
    }
  };
  const auto direct_send = [&](int) {
    if (!sqs.callAndWait("SendMessageBatch", direct_body, false)) {
      throw std::runtime_error("send");
    }
  };
  for (int i = 0; i < 200; ++i) {
    through_send(i % concurrency);
    direct_send(0);
  }

  std::vector<double> proxy_cpu, proxy_user, proxy_rate, direct_cpu, direct_user, direct_rate,
      ratio;
  for (int round = 0; round < rounds; ++round) {
    std::fprintf(stderr, "sqs (canned): round %d/%d\n", round + 1, rounds);
    const auto through = [&] {
      return concurrent(seconds, concurrency, proxy.pid(), through_send);
    };
    const auto direct = [&] { return concurrent(seconds, concurrency, 0, direct_send); };
    ThroughputRun p;
    ThroughputRun d;
    if (round % 2 == 0) {
      p = through();
      d = direct();
    } else {
      d = direct();
      p = through();
    }
    proxy_cpu.push_back(p.subject_cpu / p.sends * 1e6);
    proxy_user.push_back(p.subject_user_cpu / p.sends * 1e6);
    proxy_rate.push_back(p.sends / seconds);
    direct_cpu.push_back(d.subject_cpu / d.sends * 1e6);
    direct_user.push_back(d.subject_user_cpu / d.sends * 1e6);
    direct_rate.push_back(d.sends / seconds);
    ratio.push_back(proxy_cpu.back() / direct_cpu.back());
  }
  std::printf("## aws.sqs translation path at throughput, %s\n\n", loadAverage().c_str());
  std::printf(
      "SendMessageBatch of one 27-byte message, %d senders at once, %d s per run, %d rounds, "
      "against nginx answering with a fixed SQS answer\n\n",
      concurrency, seconds, rounds);
  std::printf("| path | CPU µs / send (subject) | of which user mode | sends / s |\n"
              "|---|---:|---:|---:|\n");
  std::printf("| direct: JSON-protocol client in this process (reference) | %s | %s | %s |\n",
              spread(direct_cpu, 1).c_str(), spread(direct_user, 1).c_str(),
              spread(direct_rate, 0).c_str());
  std::printf(
      "| through exo-proxy: libexoclient -> exo-proxy -> stand-in | %s exo-proxy | %s | %s |\n",
      spread(proxy_cpu, 1).c_str(), spread(proxy_user, 1).c_str(), spread(proxy_rate, 0).c_str());
  std::printf("\nexo-proxy CPU per send at throughput: %.1f µs (target ≤ 75); / the direct "
              "client's: %s\n",
              median(proxy_cpu), spread(ratio, 2).c_str());
  std::printf("load at the end: %s\n", loadAverage().c_str());
  return 0;
}

int run(int rounds, int seconds, const std::string& proxy_binary, bool front_nginx) {
  const std::optional<std::string> moto_binary = findProgram({"moto_server"});
  if (!moto_binary) throw std::runtime_error("moto_server is not on $PATH");
  const TempDir dir("exo-bench-sqs-");
  const int moto_port = freePort();
  Child moto({*moto_binary, "-H", "127.0.0.1", "-p", std::to_string(moto_port)},
             dir.path() / "moto.log", false);
  if (!waitForPort(moto_port, std::chrono::seconds(60))) {
    throw std::runtime_error("moto_server did not start");
  }
  std::optional<NginxFront> front;
  if (front_nginx) {
    const std::optional<std::string> nginx = findProgram({"nginx", "/usr/sbin/nginx"});
    if (!nginx) throw std::runtime_error("nginx is not installed (or pass --no-front)");
    front.emplace(*nginx, moto_port);
  }
  const std::string endpoint =
      fmt::format("http://127.0.0.1:{}", front ? front->port() : moto_port);

  // The direct client: the same JSON-protocol client exo-proxy uses, on the same credentials.
  backend::CloudServices cloud(backend::AwsCredentialsSpec{
      "static", {{"access_key_id", "bench"}, {"secret_access_key", "bench"}}});
  auto credentials = cloud.awsCredentials();
  if (!credentials) throw std::runtime_error(credentials.error().message);
  aws::JsonApi sqs(cloud.http(), **credentials, aws::ServiceEndpoint{endpoint, "us-east-1", "sqs"},
                   "AmazonSQS");
  auto created = sqs.callAndWait("CreateQueue", {{"QueueName", "bench"}}, true);
  if (!created) throw std::runtime_error("CreateQueue: " + created.error().message);
  const std::string queue_url = (*created)["QueueUrl"];

  const ExoProxy proxy(proxy_binary, fmt::format(R"(bindings:
  jobs: {{kind: queue, backends: [{{type: aws.sqs, region: us-east-1, queue: bench, endpoint: "{}"}}]}}
credentials:
  aws: {{source: static, access_key_id: bench, secret_access_key: bench}}
)",
                                                 endpoint));
  client::ClientOptions options;
  options.endpoint = proxy.endpoint();
  options.token = ExoProxy::kToken;
  auto exo = client::Client::create(options);
  if (!exo) throw std::runtime_error("client: " + exo.error().message);

  const std::string body = R"({"order": 17, "sku": "A-1"})";
  const json direct_body = {{"QueueUrl", queue_url}, {"MessageBody", body}};
  client::OutgoingMessage message;
  message.body = body;
  // Warm up both paths (connections, credentials, moto's first-request costs).
  for (int i = 0; i < 50; ++i) {
    if (!exo->sendMessage("jobs", message)) throw std::runtime_error("send through exo-proxy");
    if (!sqs.callAndWait("SendMessage", direct_body, false)) throw std::runtime_error("send");
  }

  PathComparison sends;
  for (int round = 0; round < rounds; ++round) {
    std::fprintf(stderr, "sqs: round %d/%d\n", round + 1, rounds);
    (void)sqs.callAndWait("PurgeQueue", {{"QueueUrl", queue_url}}, true); // keep moto's list short
    sends.round(
        round,
        [&] {
          return timedRun(seconds, proxy.pid(), moto.pid(), [&] {
            if (!exo->sendMessage("jobs", message)) {
              throw std::runtime_error("send through exo-proxy");
            }
          });
        },
        [&] {
          return timedRun(seconds, 0, moto.pid(), [&] {
            if (!sqs.callAndWait("SendMessage", direct_body, false)) {
              throw std::runtime_error("send");
            }
          });
        });
  }

  std::printf("## aws.sqs translation path, %s\n\n", loadAverage().c_str());
  std::printf("SendMessage of a 27-byte body, one at a time, %d s per run, %d rounds, %s\n\n",
              seconds, rounds,
              front ? "through a keep-alive nginx in front of moto"
                    : "straight to moto (a new connection per send)");
  sends.printTable("send", "moto", "direct: JSON-protocol client in this process (reference)",
                   "through exo-proxy: libexoclient -> exo-proxy -> moto");
  std::printf("\nexo-proxy CPU per send: %.1f µs (target ≤ 75); / the direct client's: %s; "
              "added p50: %.0f µs\n",
              median(sends.proxy_cpu), spread(sends.ratio, 2).c_str(),
              median(sends.proxy_p50) - median(sends.direct_p50));
  std::printf("load at the end: %s\n", loadAverage().c_str());
  return 0;
}

} // namespace
} // namespace exoflow::bench

int main(int argc, char** argv) {
  CLI::App app{"The aws.sqs translation path against direct calls to moto"};
  int rounds = 5;
  int seconds = 3;
  std::string proxy = EXO_PROXY_BINARY;
  bool no_front = false;
  int concurrency = 8;
  std::string only;
  app.add_option("--rounds", rounds, "rounds (each runs both paths)")->capture_default_str();
  app.add_option("--seconds", seconds, "seconds per run")->capture_default_str();
  app.add_option("--exo-proxy", proxy, "the exo-proxy binary")->capture_default_str();
  app.add_flag("--no-front", no_front,
               "send straight to moto (which closes every connection), without the keep-alive "
               "nginx in front");
  app.add_option("--concurrency", concurrency, "senders at once in the throughput part")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  app.add_option("--only", only, "run one part: moto (one send at a time) or canned (throughput)")
      ->check(CLI::IsMember({"moto", "canned"}));
  CLI11_PARSE(app, argc, argv);
  try {
    int status = 0;
    if (only != "canned") status = exoflow::bench::run(rounds, seconds, proxy, !no_front);
    if (status == 0 && only != "moto") {
      if (only.empty()) std::printf("\n");
      status = exoflow::bench::runCanned(rounds, seconds, proxy, concurrency);
    }
    return status;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_sqs: %s\n", e.what());
    return 1;
  }
}
