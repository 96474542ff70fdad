// Regional failover through a peer, and what the peer hop costs. Two exo-proxy processes: A
// (identity aws) serves the queue `orders` from moto first and from its peer B second; B
// (identity azure) serves `orders` and the kv `sessions` on Azurite and listens for A with
// mutual TLS (certificates made here, as `exoflow certs` makes them).
//
// (a) Switch time. An open-loop load sends one message through A every 1/rate s, each send
// started on schedule whether or not the earlier ones have answered (as independent app
// requests would). Each round pauses moto with SIGSTOP (a killed moto forgets its data) for
// --pause, resumes it with SIGCONT and waits for the failback. Measured per round: from the
// SIGSTOP to the first acknowledged send whose `x-exo-backend` names the peer, from the SIGCONT
// to the first send started after it that moto served again, and the sends refused meanwhile.
//
// (b) The peer hop. A small kv GET and a queue send, one at a time, sent by libexoclient to B
// directly and to A's bindings that are only `peer` -> B, interleaved round by round: p50 and
// p99 of both, their ratio and difference, and the CPU A spends per request.
//
// The switch is measured for each of --backend-timeout (A's limits.backend_timeout): a health
// check that has not answered within it failed, and two failed checks take moto out, so the
// limit bounds how soon a silent moto is noticed.
//
// Usage: bench_failover [--rounds 5] [--rate 20] [--pause 10] [--seconds 3] [--exo-proxy PATH]
//                       [--only switch|hop] [--backend-timeout 10 3]
// Needs moto_server on $PATH and Azurite 3.35.0 in tests/synth/node_modules (scripts/setup).

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
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
#include "net/certs.h"
#include "net/http_client.h"

namespace exoflow::bench {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

constexpr const char* kAccount = "devstoreaccount1";
/// Azurite's published development key for devstoreaccount1.
constexpr const char* kAccountKey =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/"
    "KBHBeksoGMGw==";
constexpr const char* kToken = "bench-token";
constexpr const char* kPeerToken = "bench-peer-token";
/// What A's answers name when the peer served them.
constexpr const char* kPeerBackend = "peer:azure";
/// The issue's target for the switch.
constexpr double kTargetSeconds = 5.0;

double msSince(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

void writeText(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

/// Azurite on three free loopback ports, its data in a temp dir.
class Azurite {
public:
  explicit Azurite(const std::string& binary)
      : dir_("exo-bench-azurite-"), blob_(freePort()), queue_(freePort()), table_(freePort()) {
    child_.emplace(std::vector<std::string>{binary, "--silent", "--disableTelemetry", "--location",
                                            dir_.path().string(), "--blobHost", "127.0.0.1",
                                            "--blobPort", std::to_string(blob_), "--queueHost",
                                            "127.0.0.1", "--queuePort", std::to_string(queue_),
                                            "--tableHost", "127.0.0.1", "--tablePort",
                                            std::to_string(table_)},
                   dir_.path() / "azurite.log", false);
    for (const int port : {blob_, queue_, table_}) {
      if (!waitForPort(port, std::chrono::seconds(60))) {
        throw std::runtime_error("Azurite did not start");
      }
    }
  }
  pid_t pid() const { return child_->pid(); }
  std::string endpoint(int port) const {
    return fmt::format("http://127.0.0.1:{}/{}", port, kAccount);
  }
  std::string blob() const { return endpoint(blob_); }
  std::string queue() const { return endpoint(queue_); }
  std::string table() const { return endpoint(table_); }

private:
  TempDir dir_;
  int blob_;
  int queue_;
  int table_;
  std::optional<Child> child_;
};

/// moto_server on a free loopback port.
class Moto {
public:
  Moto() : dir_("exo-bench-moto-"), port_(freePort()) {
    const std::optional<std::string> binary = findProgram({"moto_server"});
    if (!binary) throw std::runtime_error("moto_server is not on $PATH");
    child_.emplace(
        std::vector<std::string>{*binary, "-H", "127.0.0.1", "-p", std::to_string(port_)},
        dir_.path() / "moto.log", false);
    if (!waitForPort(port_, std::chrono::seconds(60))) {
      throw std::runtime_error("moto_server did not start");
    }
  }
  ~Moto() { ::kill(pid(), SIGCONT); }
  Moto(const Moto&) = delete;
  Moto& operator=(const Moto&) = delete;
  pid_t pid() const { return child_->pid(); }
  std::string endpoint() const { return fmt::format("http://127.0.0.1:{}", port_); }

private:
  TempDir dir_;
  int port_;
  std::optional<Child> child_;
};

/// exo-proxy started on `config` in `dir` (written to proxy.yaml there), app port from its
/// first line.
class Proxy {
public:
  Proxy(const std::string& binary, const fs::path& dir, const std::string& config) {
    fs::create_directories(dir);
    writeText(dir / "proxy.yaml", config);
    child_.emplace(std::vector<std::string>{binary, "--config", (dir / "proxy.yaml").string(),
                                            "--log-level", "warn"},
                   dir / "proxy.log", true);
    const std::optional<std::string> line = child_->readLine(std::chrono::seconds(60));
    const std::string prefix = "listening on 127.0.0.1:";
    if (!line || !line->starts_with(prefix)) {
      std::ifstream log(dir / "proxy.log");
      throw std::runtime_error("exo-proxy did not start: " +
                               std::string(std::istreambuf_iterator<char>(log), {}));
    }
    port_ = std::stoi(line->substr(prefix.size()));
  }
  pid_t pid() const { return child_->pid(); }
  std::string endpoint() const { return fmt::format("http://127.0.0.1:{}", port_); }

private:
  std::optional<Child> child_;
  int port_ = 0;
};

/// The two sites: certificates, moto, Azurite, B and A.
class Sites {
public:
  /// One A per entry of `backend_timeouts` (seconds), all on the same moto queue and peer.
  Sites(const std::string& proxy_binary, const std::vector<int>& backend_timeouts)
      : dir_("exo-bench-failover-") {
    const std::string azurite_binary =
        std::string(EXOFLOW_SOURCE_DIR) + "/tests/synth/node_modules/.bin/azurite";
    if (!findProgram({azurite_binary})) {
      throw std::runtime_error(azurite_binary + " is missing (run scripts/setup)");
    }
    azurite_.emplace(azurite_binary);
    const fs::path certs = dir_.path() / "certs";
    fs::create_directories(certs);
    auto ca = net::makeCa("exoflow bench CA");
    if (!ca) throw std::runtime_error(ca.error().message);
    writeText(certs / "ca.crt", ca->cert);
    for (const char* name : {"aws", "azure"}) {
      auto leaf = net::makeLeaf(*ca, name, {"localhost", name}, {"127.0.0.1"});
      if (!leaf) throw std::runtime_error(leaf.error().message);
      writeText(certs / (std::string(name) + ".crt"), leaf->cert);
      writeText(certs / (std::string(name) + ".key"), leaf->key);
    }
    auto tls = [&](const std::string& name) {
      return fmt::format("tls: {{cert: {}, key: {}, ca: {}}}\n", (certs / (name + ".crt")).string(),
                         (certs / (name + ".key")).string(), (certs / "ca.crt").string());
    };
    const int peer_port = freePort();
    const std::string az = fmt::format("account: {}, create: true, endpoint: ", kAccount);
    b_.emplace(proxy_binary, dir_.path() / "b",
               fmt::format("listen: 127.0.0.1:0\n"
                           "identity: {{cloud: azure, region: eastus}}\n"
                           "token: {0}\n"
                           "peer_listen: 127.0.0.1:{1}\n"
                           "peer_token: {2}\n"
                           "data_dir: data\n"
                           "{3}"
                           "bindings:\n"
                           "  orders: {{kind: queue, backends: [{{type: azure.queue, queue: "
                           "bench, {4}{5}, blob_endpoint: {6}}}]}}\n"
                           "  sessions: {{kind: kv, backends: [{{type: azure.table, table: "
                           "bench, {4}{7}}}]}}\n"
                           "credentials:\n"
                           "  azure: {{source: shared_key, account_key: \"{8}\"}}\n",
                           kToken, peer_port, kPeerToken, tls("azure"), az, azurite_->queue(),
                           azurite_->blob(), azurite_->table(), kAccountKey));
    const std::string aws = "region: us-east-1, create: true, endpoint: " + moto_.endpoint();
    for (const int timeout : backend_timeouts) {
      a_.push_back(std::make_unique<Proxy>(
          proxy_binary, dir_.path() / fmt::format("a-{}", timeout),
          fmt::format("listen: 127.0.0.1:0\n"
                      "identity: {{cloud: aws, region: us-east-1}}\n"
                      "token: {0}\n"
                      "data_dir: data\n"
                      "limits: {{backend_timeout: {5}s}}\n"
                      "{1}"
                      "bindings:\n"
                      "  orders:\n"
                      "    kind: queue\n"
                      "    backends:\n"
                      "      - {{type: aws.sqs, queue: bench, {2}}}\n"
                      "      - {{type: peer, peer: azure}}\n"
                      "  hop-orders:\n"
                      "    kind: queue\n"
                      "    backends: [{{type: peer, peer: azure, name: orders}}]\n"
                      "  hop-sessions:\n"
                      "    kind: kv\n"
                      "    backends: [{{type: peer, peer: azure, name: sessions}}]\n"
                      "peers:\n"
                      "  azure: {{url: \"https://127.0.0.1:{3}\", cloud: azure, region: "
                      "eastus, token: {4}}}\n"
                      "credentials:\n"
                      "  aws: {{source: static, access_key_id: testing, "
                      "secret_access_key: testing}}\n",
                      kToken, tls("aws"), aws, peer_port, kPeerToken, timeout)));
    }
  }

  const Moto& moto() const { return moto_; }
  const Azurite& azurite() const { return *azurite_; }
  const Proxy& a(std::size_t i) const { return *a_.at(i); }
  const Proxy& b() const { return *b_; }

private:
  TempDir dir_;
  Moto moto_;
  std::optional<Azurite> azurite_;
  std::optional<Proxy> b_;
  std::vector<std::unique_ptr<Proxy>> a_;
};

/// One send of the open-loop load.
struct Send {
  Clock::time_point started;
  Clock::time_point answered;
  int status = 0;
  std::string backend;
};

/// Sends one message through A's `orders` every 1/rate s on the project's HTTP client (which
/// gives the answer's headers), each on schedule; every answer is recorded.
class OpenLoopLoad {
public:
  OpenLoopLoad(const std::string& endpoint, double rate) : endpoint_(endpoint) {
    net::HttpClientOptions options;
    options.retry.max_attempts = 1; // a send that failed is counted, not sent again
    options.max_idle_per_endpoint = 64;
    http_.emplace(options);
    thread_ = std::thread([this, rate] { run(rate); });
  }
  ~OpenLoopLoad() {
    stop_ = true;
    thread_.join();
    // Wait for the answers still owed (each within the proxy's backend timeout).
    const auto deadline = Clock::now() + std::chrono::seconds(60);
    while (in_flight_ > 0 && Clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    http_.reset();
  }
  OpenLoopLoad(const OpenLoopLoad&) = delete;
  OpenLoopLoad& operator=(const OpenLoopLoad&) = delete;

  std::vector<Send> sends() const {
    std::lock_guard lock(mutex_);
    return sends_;
  }

private:
  void run(double rate) {
    const Clock::time_point start = Clock::now();
    for (long i = 0; !stop_; ++i) {
      std::this_thread::sleep_until(start + std::chrono::duration_cast<Clock::duration>(
                                                std::chrono::duration<double>(i / rate)));
      net::HttpRequest request;
      request.method = "POST";
      request.url = endpoint_ + "/v1/queues/orders/messages";
      request.headers = {{"Authorization", std::string("Bearer ") + kToken},
                         {"Content-Type", "application/json"}};
      request.body = fmt::format(R"({{"messages": [{{"body": "order {}"}}]}})", i);
      ++in_flight_;
      const Clock::time_point started = Clock::now();
      http_->send(std::move(request), [this, started](Result<net::HttpResponse> answer) {
        Send send{started, Clock::now(), 0, ""};
        if (answer) {
          send.status = answer->status;
          send.backend = answer->header("x-exo-backend");
        }
        {
          std::lock_guard lock(mutex_);
          sends_.push_back(std::move(send));
        }
        --in_flight_;
      });
    }
  }

  std::string endpoint_;
  std::optional<net::HttpClient> http_;
  mutable std::mutex mutex_;
  std::vector<Send> sends_;
  std::atomic<int> in_flight_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

/// A's /v1/status for `binding`, or null when it did not answer.
json status(net::HttpClient& http, const std::string& endpoint, const std::string& binding) {
  net::HttpRequest request;
  request.url = endpoint + "/v1/status";
  request.headers = {{"Authorization", std::string("Bearer ") + kToken}};
  auto answer = http.sendAndWait(std::move(request));
  if (!answer || answer->status != 200) return nullptr;
  return json::parse(answer->body, nullptr, false)["bindings"][binding];
}

/// Waits until `done(sends)` finds what it looks for (a time), up to `timeout`.
template <typename Find>
std::optional<Clock::time_point> waitFor(const OpenLoopLoad& load, std::chrono::seconds timeout,
                                         Find find) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (auto found = find(load.sends())) return found;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return std::nullopt;
}

struct Round {
  double switch_ms = 0;   ///< SIGSTOP -> first acknowledged send the peer served
  double failback_ms = 0; ///< SIGCONT -> first send started after it that moto served
  int refused = 0;        ///< sends started during the round that were not acknowledged
  int on_peer = 0;        ///< sends the peer acknowledged
  double slowest_ms = 0;  ///< the longest send of the round
};

int runSwitch(const Sites& sites, std::size_t which, int backend_timeout, int rounds, double rate,
              int pause) {
  const std::string a = sites.a(which).endpoint();
  net::HttpClient http;
  // Waits (up to 90 s) until A serves orders from moto again.
  auto wait_for_moto = [&] {
    json last;
    for (int i = 0; i < 450; ++i) {
      last = status(http, a, "orders");
      if (last.is_object() && last["active"].get<std::string>().starts_with("aws.sqs")) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    throw std::runtime_error("A does not serve orders from moto: " + last.dump());
  };
  // moto's SQS slows down as its queue grows (nothing consumes here): purged every round.
  backend::CloudServices cloud(backend::AwsCredentialsSpec{
      "static", {{"access_key_id", "testing"}, {"secret_access_key", "testing"}}});
  auto credentials = cloud.awsCredentials();
  if (!credentials) throw std::runtime_error(credentials.error().message);
  aws::JsonApi sqs(cloud.http(), **credentials,
                   aws::ServiceEndpoint{sites.moto().endpoint(), "us-east-1", "sqs"}, "AmazonSQS");
  auto created = sqs.callAndWait("CreateQueue", {{"QueueName", "bench"}}, true);
  if (!created) throw std::runtime_error("CreateQueue: " + created.error().message);
  const std::string queue_url = (*created)["QueueUrl"];
  wait_for_moto();
  OpenLoopLoad load(a, rate);
  std::this_thread::sleep_for(std::chrono::seconds(3)); // steady load before the first round
  std::vector<Round> results;
  for (int r = 0; r < rounds; ++r) {
    std::fprintf(stderr, "failover (backend_timeout %d s): round %d/%d\n", backend_timeout, r + 1,
                 rounds);
    Round round;
    (void)sqs.callAndWait("PurgeQueue", {{"QueueUrl", queue_url}}, true);
    wait_for_moto();
    std::this_thread::sleep_for(std::chrono::seconds(2));
    const Clock::time_point stopped = Clock::now();
    if (::kill(sites.moto().pid(), SIGSTOP) != 0) throw std::runtime_error("cannot stop moto");
    const auto on_peer = waitFor(load, std::chrono::seconds(60), [&](const std::vector<Send>& s) {
      std::optional<Clock::time_point> first_answer;
      for (const Send& send : s) {
        if (send.answered > stopped && send.status == 200 && send.backend == kPeerBackend &&
            (!first_answer || send.answered < *first_answer)) {
          first_answer = send.answered;
        }
      }
      return first_answer;
    });
    std::this_thread::sleep_until(stopped + std::chrono::seconds(pause));
    const Clock::time_point resumed = Clock::now();
    ::kill(sites.moto().pid(), SIGCONT);
    if (!on_peer) throw std::runtime_error("no send was served by the peer within 60 s");
    const auto back = waitFor(load, std::chrono::seconds(90), [&](const std::vector<Send>& s) {
      std::optional<Clock::time_point> first_answer;
      for (const Send& send : s) {
        if (send.started > resumed && send.status == 200 && send.backend.starts_with("aws.sqs") &&
            (!first_answer || send.answered < *first_answer)) {
          first_answer = send.answered;
        }
      }
      return first_answer;
    });
    if (!back) throw std::runtime_error("moto did not serve sends again within 90 s");
    // Let the sends still owed answer (the in-flight ones wait for the backend timeout).
    std::this_thread::sleep_for(std::chrono::seconds(12));
    round.switch_ms = msSince(stopped, *on_peer);
    round.failback_ms = msSince(resumed, *back);
    for (const Send& send : load.sends()) {
      if (send.started < stopped || send.started > *back) continue;
      round.refused += send.status == 200 ? 0 : 1;
      round.on_peer += send.backend == kPeerBackend ? 1 : 0;
      round.slowest_ms = std::max(round.slowest_ms, msSince(send.started, send.answered));
    }
    results.push_back(round);
    std::fprintf(stderr, "  switch %.0f ms, failback %.0f ms, %d refused, %d on the peer\n",
                 round.switch_ms, round.failback_ms, round.refused, round.on_peer);
  }
  const json after = status(http, a, "orders");

  std::vector<double> switches;
  std::vector<double> failbacks;
  for (const Round& round : results) {
    switches.push_back(round.switch_ms);
    failbacks.push_back(round.failback_ms);
  }
  std::printf("## Regional failover through a peer: the switch (backend_timeout %d s), %s\n\n",
              backend_timeout, loadAverage().c_str());
  std::printf("One message sent through A every %.0f ms (open loop), moto paused %d s per round, "
              "%d rounds, A's limits.backend_timeout %d s%s\n\n",
              1000.0 / rate, pause, rounds, backend_timeout,
              backend_timeout == 10 ? " (the default)" : "");
  std::printf("| round | SIGSTOP -> first send served by the peer, ms | SIGCONT -> first new "
              "send served by moto, ms | sends on the peer | refused | slowest send, ms |\n");
  std::printf("|---|---:|---:|---:|---:|---:|\n");
  for (std::size_t i = 0; i < results.size(); ++i) {
    std::printf("| %zu | %.0f | %.0f | %d | %d | %.0f |\n", i + 1, results[i].switch_ms,
                results[i].failback_ms, results[i].on_peer, results[i].refused,
                results[i].slowest_ms);
  }
  const double worst = *std::max_element(switches.begin(), switches.end());
  std::printf("\nswitch: min %.0f ms, median %.0f ms, max %.0f ms (target <= %.0f s: %s); "
              "failback median %.0f ms; A's failovers_total %s\n",
              *std::min_element(switches.begin(), switches.end()), median(switches), worst,
              kTargetSeconds, worst <= kTargetSeconds * 1000 ? "met" : "MISSED", median(failbacks),
              after.is_object() ? after["failovers_total"].dump().c_str() : "?");
  return 0;
}

int runHop(const Sites& sites, int rounds, int seconds) {
  auto connect = [](const std::string& endpoint) {
    client::ClientOptions options;
    options.endpoint = endpoint;
    options.token = kToken;
    auto exo = client::Client::create(options);
    if (!exo) throw std::runtime_error("client: " + exo.error().message);
    return std::move(*exo);
  };
  client::Client direct = connect(sites.b().endpoint());
  client::Client through = connect(sites.a(0).endpoint());
  if (!direct.putItem("sessions", "user:42", R"({"cart": [1, 2]})")) {
    throw std::runtime_error("kv PUT on B");
  }
  client::OutgoingMessage message;
  message.body = R"({"order": 17, "sku": "A-1"})";
  struct Operation {
    const char* what;
    std::function<void()> direct;
    std::function<void()> through;
  };
  const std::vector<Operation> operations = {
      {"kv GET of a 16-byte value (azure.table)",
       [&] {
         if (!direct.getItem("sessions", "user:42")) throw std::runtime_error("GET on B");
       },
       [&] {
         if (!through.getItem("hop-sessions", "user:42")) throw std::runtime_error("GET via A");
       }},
      {"queue send of a 27-byte body (azure.queue)",
       [&] {
         if (!direct.sendMessage("orders", message)) throw std::runtime_error("send on B");
       },
       [&] {
         if (!through.sendMessage("hop-orders", message)) throw std::runtime_error("send via A");
       }},
  };
  for (const Operation& operation : operations) {
    for (int i = 0; i < 50; ++i) {
      operation.direct();
      operation.through();
    }
  }
  struct Measured {
    std::vector<double> direct_us;
    std::vector<double> through_us;
    double a_cpu = 0;
    double b_cpu_direct = 0;
    double b_cpu_through = 0;
    double direct_requests = 0;
    double through_requests = 0;
  };
  std::vector<Measured> measured(operations.size());
  for (int round = 0; round < rounds; ++round) {
    std::fprintf(stderr, "peer hop: round %d/%d\n", round + 1, rounds);
    for (std::size_t i = 0; i < operations.size(); ++i) {
      Measured& m = measured[i];
      auto run_direct = [&] {
        const TimedRun run =
            timedRun(seconds, sites.b().pid(), sites.azurite().pid(), operations[i].direct);
        m.direct_us.insert(m.direct_us.end(), run.latency_us.begin(), run.latency_us.end());
        m.b_cpu_direct += run.subject_cpu;
        m.direct_requests += run.requests;
      };
      auto run_through = [&] {
        const double b_before = cpuSeconds(sites.b().pid());
        const TimedRun run =
            timedRun(seconds, sites.a(0).pid(), sites.azurite().pid(), operations[i].through);
        m.through_us.insert(m.through_us.end(), run.latency_us.begin(), run.latency_us.end());
        m.a_cpu += run.subject_cpu;
        m.b_cpu_through += cpuSeconds(sites.b().pid()) - b_before;
        m.through_requests += run.requests;
      };
      if (round % 2 == 0) {
        run_direct();
        run_through();
      } else {
        run_through();
        run_direct();
      }
    }
  }

  std::printf("## The peer hop: app -> A -> mTLS -> B against app -> B, %s\n\n",
              loadAverage().c_str());
  std::printf(
      "One request at a time, %d s per run, %d rounds, interleaved; B on Azurite 3.35.0\n\n",
      seconds, rounds);
  std::printf("| request | p50 µs, direct / via peer | added p50 µs | p50 ratio | p99 µs, direct / "
              "via peer | added p99 µs | A's CPU µs per request | B's CPU µs, direct / via "
              "peer |\n");
  std::printf("|---|---:|---:|---:|---:|---:|---:|---:|\n");
  for (std::size_t i = 0; i < operations.size(); ++i) {
    const Measured& m = measured[i];
    const double d50 = percentile(m.direct_us, 50);
    const double t50 = percentile(m.through_us, 50);
    const double d99 = percentile(m.direct_us, 99);
    const double t99 = percentile(m.through_us, 99);
    std::printf("| %s | %.0f / %.0f | %.0f | %.2f | %.0f / %.0f | %.0f | %.0f | %.0f / %.0f |\n",
                operations[i].what, d50, t50, t50 - d50, t50 / d50, d99, t99, t99 - d99,
                m.a_cpu * 1e6 / m.through_requests, m.b_cpu_direct * 1e6 / m.direct_requests,
                m.b_cpu_through * 1e6 / m.through_requests);
  }
  std::printf("\n(%.0f and %.0f requests per path for the two rows)\n",
              measured[0].direct_requests + measured[0].through_requests,
              measured[1].direct_requests + measured[1].through_requests);
  return 0;
}

int run(int rounds, double rate, int pause, int seconds, const std::string& proxy_binary,
        const std::string& only, const std::vector<int>& backend_timeouts) {
  const Sites sites(proxy_binary, backend_timeouts);
  if (only != "hop") {
    for (std::size_t i = 0; i < backend_timeouts.size(); ++i) {
      if (i > 0) std::printf("\n");
      runSwitch(sites, i, backend_timeouts[i], rounds, rate, pause);
    }
  }
  if (only != "switch") {
    if (only.empty()) std::printf("\n");
    runHop(sites, rounds, seconds);
  }
  std::printf("\nload at the end: %s\n", loadAverage().c_str());
  return 0;
}

} // namespace
} // namespace exoflow::bench

int main(int argc, char** argv) {
  CLI::App app{"Regional failover through a peer: the switch time and the peer hop's cost"};
  int rounds = 5;
  double rate = 20;
  int pause = 10;
  int seconds = 3;
  std::string proxy = EXO_PROXY_BINARY;
  std::string only;
  // The default limit, and the shorter one the failover tests use.
  std::vector<int> backend_timeouts = {10, 3};
  app.add_option("--rounds", rounds, "rounds of each part")->capture_default_str();
  app.add_option("--rate", rate, "sends per second during the switch rounds")
      ->capture_default_str();
  app.add_option("--pause", pause, "seconds moto stays paused per round")->capture_default_str();
  app.add_option("--seconds", seconds, "seconds per run of the peer hop part")
      ->capture_default_str();
  app.add_option("--exo-proxy", proxy, "the exo-proxy binary")->capture_default_str();
  app.add_option("--only", only, "run one part: switch or hop")
      ->check(CLI::IsMember({"switch", "hop"}));
  app.add_option("--backend-timeout", backend_timeouts,
                 "A's limits.backend_timeout in seconds; the switch is measured for each")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  try {
    return exoflow::bench::run(rounds, rate, pause, seconds, proxy, only, backend_timeouts);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_failover: %s\n", e.what());
    return 1;
  }
}
