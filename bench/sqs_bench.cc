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
// Usage: bench_sqs [--rounds 5] [--seconds 3] [--exo-proxy PATH] [--no-front]
// Needs moto_server on $PATH (the machine's Python has it) and nginx.

#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>
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

using nlohmann::json;

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
  app.add_option("--rounds", rounds, "rounds (each runs both paths)")->capture_default_str();
  app.add_option("--seconds", seconds, "seconds per run")->capture_default_str();
  app.add_option("--exo-proxy", proxy, "the exo-proxy binary")->capture_default_str();
  app.add_flag("--no-front", no_front,
               "send straight to moto (which closes every connection), without the keep-alive "
               "nginx in front");
  CLI11_PARSE(app, argc, argv);
  try {
    return exoflow::bench::run(rounds, seconds, proxy, !no_front);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_sqs: %s\n", e.what());
    return 1;
  }
}
