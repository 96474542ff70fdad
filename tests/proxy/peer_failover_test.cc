// Regional failover across clouds through a peer: proxy A (identity aws) serves each binding
// from moto first and from its peer B second; B (identity azure) serves the same bindings on
// Azurite and listens for A with mutual TLS. moto is paused with SIGSTOP for 10 s (a killed
// moto forgets its data) while several senders keep a steady load of 10,000 messages going
// through A: every acknowledged message is received through A, duplicates stay within the
// bound derived below, and A's /v1/status shows the failover to the peer and the failback.
// Objects and kv written during the pause land behind the peer and are still read through A
// after the failback.
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <thread>

#include <arpa/inet.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <nlohmann/json.hpp>
#include <sys/socket.h>
#include <unistd.h>

#include "net/certs.h"
#include "proxy/cloud_backend_fixture.h"
#include "proxy/proxy_process.h"
#include "support/azurite_server.h"
#include "support/local_files.h"
#include "support/moto_server.h"

namespace exoflow::proxy::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;
using Clock = std::chrono::steady_clock;
using testsupport::AzuriteServer;

constexpr const char* kPeerToken = "peer-token-failover-0123";
/// What A's answers name when the peer served them.
constexpr const char* kPeerBackend = "peer:azure";

AzuriteServer& azurite() {
  static AzuriteServer server;
  return server;
}

/// The load: batches of 10 messages from kSenders threads at a steady rate, moto paused from
/// kPauseAt for kPause: 1,000 batches at 20 per second are the issue's 10,000 messages in
/// 50 s. moto (Python, on two shared cores) still falls behind at times after it resumed: its
/// calls time out and A sends to the peer again for a while, which the checks below allow
/// (they hold whichever backend takes a send). Draining what the peer took through A takes
/// much of the test's time (about 2 minutes in all on a loaded 2-core machine).
/// Under AddressSanitizer (EXOFLOW_SANITIZED=1, set by `make asan-test`) every process is
/// several times slower, so that build runs the same failover with 2,400 messages at 10
/// batches per second.
constexpr int kSenders = 5;
constexpr int kConsumers = 8;
constexpr auto kPauseAt = 8s;
constexpr auto kPause = 10s;
/// A's backend_timeout: how long a call to the paused moto waits before the request goes on.
constexpr auto kBackendTimeout = 3s;
/// Where duplicates come from, and their bound. A send that timed out at moto goes on to the
/// peer within the same request and is acknowledged there, but moto still carries out the
/// first copy when it resumes: such a call duplicates at most its 10 messages. A delete that
/// failed or timed out may be carried out after its receipts expired (or never), so its up to
/// 10 messages are received again; so may those of a receive whose answer came back late. Every
/// such call outlasts backend_timeout or fails, so the bound is 10 messages per send, receive or
/// delete that did. During the pause alone each sender and consumer has at most one per
/// backend_timeout plus one that straddles its start (kPause / kBackendTimeout + 1 = 4): 520
/// messages. On a loaded machine moto also times out now and then after it resumed (A's
/// failovers show it); those calls are counted too, so the bound is computed from the calls.
constexpr int kCallsAtPausedMoto = kPause / kBackendTimeout + 1;
constexpr int kPauseDuplicateBound = 10 * (kSenders + kConsumers) * kCallsAtPausedMoto;

bool sanitized() {
  const char* value = std::getenv("EXOFLOW_SANITIZED");
  return value != nullptr && std::string(value) == "1";
}

using testsupport::freePort;
using testsupport::writeFile;

/// Resumes moto when a test ends early.
struct Resume {
  pid_t pid;
  ~Resume() { ::kill(pid, SIGCONT); }
};

class PeerFailoverTest : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_TRUE(sharedMoto().available()) << sharedMoto().why();
    ASSERT_TRUE(azurite().available()) << azurite().why();
    const fs::path certs = dir_.path() / "certs";
    fs::create_directories(certs);
    auto ca = net::makeCa("exoflow test CA");
    ASSERT_TRUE(ca) << ca.error().message;
    writeFile(certs / "ca.crt", ca->cert);
    for (const char* name : {"aws", "azure"}) {
      auto leaf = net::makeLeaf(*ca, name, {"localhost", name}, {"127.0.0.1"});
      ASSERT_TRUE(leaf) << leaf.error().message;
      writeFile(certs / (std::string(name) + ".crt"), leaf->cert);
      writeFile(certs / (std::string(name) + ".key"), leaf->key);
    }
    std::random_device random;
    const std::string n = std::to_string(random() % 1000000);
    const int peer_port = freePort();
    startB(n, peer_port);
    startA(n, peer_port);
  }

  std::string tls(const std::string& name) const {
    const fs::path certs = dir_.path() / "certs";
    return fmt::format("tls: {{cert: {}, key: {}, ca: {}}}\n", (certs / (name + ".crt")).string(),
                       (certs / (name + ".key")).string(), (certs / "ca.crt").string());
  }

  /// B: the Azure side, every binding on Azurite, listening for A.
  void startB(const std::string& n, int peer_port) {
    const std::string az = "account: devstoreaccount1, create: true, endpoint: ";
    std::string config = fmt::format("listen: 127.0.0.1:0\n"
                                     "identity: {{cloud: azure, region: eastus}}\n"
                                     "token: ${{EXO_TEST_TOKEN}}\n"
                                     "peer_listen: 127.0.0.1:{}\n"
                                     "peer_token: {}\n"
                                     "data_dir: data\n",
                                     peer_port, kPeerToken);
    config += tls("azure");
    config += fmt::format(
        "bindings:\n"
        "  orders:\n"
        "    kind: queue\n"
        "    options: {{visibility_timeout: 10s}}\n"
        "    backends: [{{type: azure.queue, queue: pf-{0}, {1}{2}, blob_endpoint: {3}}}]\n"
        "  assets:\n"
        "    kind: objects\n"
        "    backends: [{{type: azure.blob, container: pf-{0}, {1}{3}}}]\n"
        "  sessions:\n"
        "    kind: kv\n"
        "    backends: [{{type: azure.table, table: pf{0}, {1}{4}}}]\n"
        "credentials:\n"
        "  azure: {{source: shared_key, account_key: \"{5}\"}}\n",
        n, az, azurite().queueEndpoint(), azurite().blobEndpoint(), azurite().tableEndpoint(),
        AzuriteServer::kAccountKey);
    fs::create_directories(dir_.path() / "b");
    b_ = std::make_unique<ProxyProcess>(dir_.path() / "b", config);
    ASSERT_TRUE(b_->started()) << b_->errors();
  }

  /// A: the AWS side, each binding on moto first and on the peer B second.
  void startA(const std::string& n, int peer_port) {
    const std::string aws = "region: us-east-1, create: true, endpoint: " + sharedMoto().endpoint();
    std::string config = fmt::format("listen: 127.0.0.1:0\n"
                                     "identity: {{cloud: aws, region: us-east-1}}\n"
                                     "token: ${{EXO_TEST_TOKEN}}\n"
                                     "data_dir: data\n"
                                     "limits: {{backend_timeout: {}s}}\n",
                                     kBackendTimeout.count());
    config += tls("aws");
    config += fmt::format("bindings:\n"
                          "  orders:\n"
                          "    kind: queue\n"
                          "    options: {{visibility_timeout: 10s}}\n"
                          "    backends:\n"
                          "      - {{type: aws.sqs, queue: pf-{0}, {1}}}\n"
                          "      - {{type: peer, peer: azure}}\n"
                          "  assets:\n"
                          "    kind: objects\n"
                          "    backends:\n"
                          "      - {{type: aws.s3, bucket: pf-{0}, path_style: true, {1}}}\n"
                          "      - {{type: peer, peer: azure}}\n"
                          "  sessions:\n"
                          "    kind: kv\n"
                          "    backends:\n"
                          "      - {{type: aws.dynamodb, table: pf{0}, {1}}}\n"
                          "      - {{type: peer, peer: azure}}\n"
                          "peers:\n"
                          "  azure: {{url: \"https://127.0.0.1:{2}\", cloud: azure, region: "
                          "eastus, token: {3}}}\n"
                          "credentials:\n"
                          "  aws: {{source: static, access_key_id: testing, secret_access_key: "
                          "testing}}\n",
                          n, aws, peer_port, kPeerToken);
    fs::create_directories(dir_.path() / "a");
    a_ = std::make_unique<ProxyProcess>(dir_.path() / "a", config);
    ASSERT_TRUE(a_->started()) << a_->errors();
  }

  json status(const std::string& binding) const {
    const HttpResponse r = a_->call("GET", "/v1/status");
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body, nullptr, false)["bindings"][binding];
  }

  /// Waits (up to 30 s) until A serves `binding` with a backend that `prefix` names.
  bool waitForActive(const std::string& binding, const std::string& prefix) const {
    for (int i = 0; i < 150; ++i) {
      if (status(binding)["active"].get<std::string>().starts_with(prefix)) return true;
      std::this_thread::sleep_for(200ms);
    }
    return false;
  }

  TempDir dir_;
  std::unique_ptr<ProxyProcess> b_;
  std::unique_ptr<ProxyProcess> a_;
};

/// kConsumers threads that receive and delete through A until told to stop, counting each
/// body they got.
class Consumers {
public:
  explicit Consumers(const ProxyProcess& proxy) : proxy_(proxy) {
    for (int i = 0; i < kConsumers; ++i)
      threads_.emplace_back([this] { run(); });
  }
  ~Consumers() { stop(); }

  void stop() {
    stop_ = true;
    for (std::thread& t : threads_) {
      if (t.joinable()) t.join();
    }
  }
  std::map<std::string, int> received() const {
    std::lock_guard lock(mutex_);
    return received_;
  }
  int polls() const { return polls_; }
  /// Receives and deletes that failed or outlasted backend_timeout (and the receive's wait).
  int suspectCalls() const { return suspect_; }

private:
  void run() {
    while (!stop_) {
      Clock::time_point start = Clock::now();
      const HttpResponse r = proxy_.call("GET", "/v1/queues/orders/messages?max=10&wait=1");
      ++polls_;
      if (Clock::now() - start >= kBackendTimeout + 1s) ++suspect_;
      if (r.status != 200) continue; // an outage not yet detected; the next poll goes on
      const json doc = json::parse(r.body, nullptr, false);
      json receipts = json::array();
      {
        std::lock_guard lock(mutex_);
        for (const json& m : doc["messages"]) {
          ++received_[m["body"].get<std::string>()];
          receipts.push_back(m["receipt"]);
        }
      }
      if (receipts.empty()) continue;
      start = Clock::now();
      const HttpResponse deleted = proxy_.call("POST", "/v1/queues/orders/messages/delete",
                                               json{{"receipts", receipts}}.dump());
      if (deleted.status != 200 || Clock::now() - start >= kBackendTimeout) ++suspect_;
    }
  }

  const ProxyProcess& proxy_;
  mutable std::mutex mutex_;
  std::map<std::string, int> received_;
  std::atomic<bool> stop_{false};
  std::atomic<int> polls_{0};
  std::atomic<int> suspect_{0};
  std::vector<std::thread> threads_;
};

TEST_F(PeerFailoverTest, TenThousandMessagesArriveThroughAPauseOfMotoServedByThePeer) {
  const int batches = sanitized() ? 240 : 1000;
  const double rate = sanitized() ? 10.0 : 20.0;
  const json before = status("orders");
  ASSERT_TRUE(before["active"].get<std::string>().starts_with("aws.sqs")) << before;
  Consumers consumers(*a_);
  std::mutex mutex;
  std::set<std::string> acknowledged;
  int refused = 0;
  int on_peer = 0;
  int slow_sends = 0; // sends that failed or outlasted backend_timeout
  std::optional<Clock::time_point> first_on_peer;
  std::atomic<int> next{0};
  const Clock::time_point start = Clock::now();
  const Clock::time_point pause_at = start + kPauseAt;
  auto sender = [&] {
    for (int b = next++; b < batches; b = next++) {
      std::this_thread::sleep_until(start + std::chrono::duration_cast<Clock::duration>(
                                                std::chrono::duration<double>(b / rate)));
      json messages = json::array();
      std::vector<std::string> ids;
      for (int m = 0; m < 10; ++m) {
        ids.push_back(fmt::format("m-{}-{}", b, m));
        messages.push_back({{"body", ids.back()}});
      }
      const Clock::time_point sent_at = Clock::now();
      const HttpResponse r =
          a_->call("POST", "/v1/queues/orders/messages", json{{"messages", messages}}.dump());
      std::lock_guard lock(mutex);
      if (r.status != 200 || Clock::now() - sent_at >= kBackendTimeout) ++slow_sends;
      if (r.status != 200) {
        ++refused; // not acknowledged: the sender would retry; nothing is owed
        continue;
      }
      acknowledged.insert(ids.begin(), ids.end());
      if (r.header("x-exo-backend") != kPeerBackend) continue;
      ++on_peer;

      if (!first_on_peer && Clock::now() > pause_at) first_on_peer = Clock::now();
    }
  };
  std::vector<std::thread> senders;
  for (int i = 0; i < kSenders; ++i)
    senders.emplace_back(sender);
  std::this_thread::sleep_until(pause_at);
  ASSERT_EQ(::kill(sharedMoto().pid(), SIGSTOP), 0);
  {
    Resume resume{sharedMoto().pid()};
    std::this_thread::sleep_for(kPause);
    const json during = status("orders");
    EXPECT_EQ(during["active"], kPeerBackend) << during;
  }
  const Clock::time_point resumed = Clock::now();
  for (std::thread& t : senders)
    t.join();
  const Clock::time_point sent = Clock::now();
  EXPECT_TRUE(waitForActive("orders", "aws.sqs")) << status("orders");

  // Every acknowledged message arrives (by id): what the peer took is drained through A after
  // the failback. Generous: on a loaded machine receives that time out hide their messages for
  // the visibility timeout.
  std::size_t missing = acknowledged.size();
  for (int i = 0; i < 900 && missing > 0; ++i) {
    std::this_thread::sleep_for(200ms);
    const std::map<std::string, int> got = consumers.received();
    missing = 0;
    for (const std::string& id : acknowledged)
      missing += got.contains(id) ? 0 : 1;
  }
  consumers.stop();
  const std::map<std::string, int> got = consumers.received();
  int duplicates = 0;
  for (const auto& [id, n] : got)
    duplicates += n - 1;
  EXPECT_EQ(missing, 0U) << "of " << acknowledged.size() << " acknowledged messages; status "
                         << status("orders");
  const int duplicate_bound = 10 * (slow_sends + consumers.suspectCalls());
  EXPECT_LE(duplicates, duplicate_bound)
      << slow_sends << " slow sends, " << consumers.suspectCalls() << " slow receives/deletes";
  EXPECT_GE(acknowledged.size(), std::size_t(batches * 10 * 9 / 10)) << refused << " refused";
  ASSERT_TRUE(first_on_peer.has_value()) << "no send was served by the peer";
  std::cout << fmt::format(
      "peer failover: {} messages sent in {} s, {} acknowledged ({} by the peer), {} refused "
      "batches, {} duplicates (bound {}: {} slow sends, {} slow receives and deletes; {} "
      "for the pause alone); first send on the peer {} ms after the pause; drained "
      "{} ms after the resume in {} receives\n",
      batches * 10, std::chrono::duration_cast<std::chrono::seconds>(sent - start).count(),
      acknowledged.size(), on_peer * 10, refused, duplicates, duplicate_bound, slow_sends,
      consumers.suspectCalls(), kPauseDuplicateBound,
      std::chrono::duration_cast<std::chrono::milliseconds>(*first_on_peer - pause_at).count(),
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - resumed).count(),
      consumers.polls());

  // B's queue on Azurite was drained through A.
  const HttpResponse left = b_->call("GET", "/v1/queues/orders");
  ASSERT_EQ(left.status, 200) << left.body;
  EXPECT_EQ(json::parse(left.body)["approximate_messages"], 0) << left.body;

  const json after = status("orders");
  std::cout << "A's failovers of orders: " << after["failovers"].dump()
            << "\n"; // to read moto's flaps
  bool away = false;
  bool back = false;
  for (const json& e : after["failovers"]) {
    const std::string from = e["from"];
    const std::string to = e["to"];
    away = away || (from.starts_with("aws.sqs") && to == kPeerBackend);
    back = back || (from == kPeerBackend && to.starts_with("aws.sqs"));
    EXPECT_TRUE(e["at"].is_string() && e["reason"].is_string()) << e;
  }
  EXPECT_TRUE(away && back) << after;
  EXPECT_GE(after["failovers_total"].get<int>(), 2) << after;
}

TEST_F(PeerFailoverTest, ObjectsAndItemsWrittenDuringThePauseLiveBehindThePeer) {
  ASSERT_EQ(a_->call("PUT", "/v1/buckets/assets/objects/before.txt", "on s3").status, 200);
  ASSERT_EQ(::kill(sharedMoto().pid(), SIGSTOP), 0);
  {
    Resume resume{sharedMoto().pid()};
    ASSERT_TRUE(waitForActive("assets", kPeerBackend)) << status("assets");
    ASSERT_TRUE(waitForActive("sessions", kPeerBackend)) << status("sessions");
    const HttpResponse put = a_->call("PUT", "/v1/buckets/assets/objects/during.txt", "azure");
    EXPECT_EQ(put.status, 200) << put.body;
    EXPECT_EQ(put.header("x-exo-backend"), kPeerBackend);
    const HttpResponse item = a_->call("PUT", "/v1/tables/sessions/items/s1", R"({"u": 7})");
    EXPECT_EQ(item.status, 200) << item.body;
    EXPECT_EQ(item.header("x-exo-backend"), kPeerBackend);
  }
  // They live on Azurite behind B.
  EXPECT_EQ(b_->call("GET", "/v1/buckets/assets/objects/during.txt").body, "azure");
  EXPECT_EQ(json::parse(b_->call("GET", "/v1/tables/sessions/items/s1").body, nullptr, false),
            json::parse(R"({"u": 7})"));

  ASSERT_TRUE(waitForActive("assets", "aws.s3")) << status("assets");
  ASSERT_TRUE(waitForActive("sessions", "aws.dynamodb")) << status("sessions");
  // S3 and DynamoDB serve again but never had these: their NotFound sends the read on to B.
  const HttpResponse object = a_->call("GET", "/v1/buckets/assets/objects/during.txt");
  EXPECT_EQ(object.status, 200);
  EXPECT_EQ(object.body, "azure");
  const HttpResponse item = a_->call("GET", "/v1/tables/sessions/items/s1");
  EXPECT_EQ(item.status, 200);
  EXPECT_EQ(json::parse(item.body, nullptr, false), json::parse(R"({"u": 7})"));
  EXPECT_EQ(a_->call("GET", "/v1/buckets/assets/objects/before.txt").body, "on s3");
  // A delete through A reaches both sides.
  EXPECT_EQ(a_->call("DELETE", "/v1/buckets/assets/objects/during.txt").status, 204);
  EXPECT_EQ(b_->call("GET", "/v1/buckets/assets/objects/during.txt").status, 404);
  EXPECT_EQ(a_->call("GET", "/v1/buckets/assets/objects/during.txt").status, 404);
  const HttpResponse put = a_->call("PUT", "/v1/buckets/assets/objects/after.txt", "s3");
  EXPECT_TRUE(put.header("x-exo-backend").starts_with("aws.s3")) << "writes returned to S3";
}

} // namespace
} // namespace exoflow::proxy::testing
