// Failover through a real exo-proxy whose bindings chain moto (AWS) first and Azurite (Azure)
// second. moto is paused with SIGSTOP (a killed moto forgets its data) and resumed with SIGCONT:
// sends keep being acknowledged, every acknowledged message is received, status and metrics
// show the failover and the failback; objects and kv written during the pause are served by
// Azure and read back after the failback.
#include <atomic>
#include <chrono>
#include <csignal>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "proxy/cloud_backend_fixture.h"
#include "proxy/proxy_process.h"
#include "support/azurite_server.h"
#include "support/moto_server.h"

namespace exoflow::proxy::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using Clock = std::chrono::steady_clock;
using testsupport::AzuriteServer;

testsupport::AzuriteServer& azurite() {
  static AzuriteServer server;
  return server;
}

/// The load: kBatches batches of 10 messages from kSenders threads at a steady kRate batches
/// per second (2,400 messages over 24 s), moto paused from kPauseAt for kPause. The issue's
/// figure is 10,000 messages; at moto's pace that takes minutes of test time on two shared
/// cores, so the test runs the same failover with fewer messages, and the benchmark can run
/// more.
constexpr int kSenders = 4;
constexpr int kConsumers = 4;
constexpr int kBatches = 240;
constexpr double kRate = 10.0;
constexpr auto kPauseAt = 6s;
constexpr auto kPause = 10s;
/// A send or delete that timed out at the paused moto may still be carried out when it
/// resumes: each such call can duplicate at most its 10 messages. With a 3 s backend_timeout,
/// each sender and consumer can have at most kPause / 3 s + 1 of them.
constexpr int kDuplicateBound = 10 * (kSenders + kConsumers) * 4;

std::string chainConfig(const std::string& n) {
  const std::string aws = "region: us-east-1, endpoint: " + sharedMoto().endpoint();
  const std::string az = "account: devstoreaccount1, create: true";
  return "listen: 127.0.0.1:0\n"
         "token: ${EXO_TEST_TOKEN}\n"
         "data_dir: data\n"
         "limits: {backend_timeout: 3s}\n"
         "bindings:\n"
         "  orders:\n"
         "    kind: queue\n"
         "    options: {visibility_timeout: 10s}\n"
         "    backends:\n"
         "      - {type: aws.sqs, queue: fo-" +
         n + ", create: true, " + aws +
         "}\n"
         "      - {type: azure.queue, queue: fo-" +
         n + ", endpoint: " + azurite().queueEndpoint() +
         ", blob_endpoint: " + azurite().blobEndpoint() + ", " + az +
         "}\n"
         "  assets:\n"
         "    kind: objects\n"
         "    backends:\n"
         "      - {type: aws.s3, bucket: fo-" +
         n + ", path_style: true, create: true, " + aws +
         "}\n"
         "      - {type: azure.blob, container: fo-" +
         n + ", endpoint: " + azurite().blobEndpoint() + ", " + az +
         "}\n"
         "  sessions:\n"
         "    kind: kv\n"
         "    backends:\n"
         "      - {type: aws.dynamodb, table: fo" +
         n + ", create: true, " + aws +
         "}\n"
         "      - {type: azure.table, table: fo" +
         n + ", endpoint: " + azurite().tableEndpoint() + ", " + az +
         "}\n"
         "credentials:\n"
         "  aws: {source: static, access_key_id: testing, secret_access_key: testing}\n"
         "  azure: {source: shared_key, account_key: \"" +
         AzuriteServer::kAccountKey + "\"}\n";
}

/// Resumes moto when a test ends early.
struct Resume {
  pid_t pid;
  ~Resume() { ::kill(pid, SIGCONT); }
};

class FailoverTest : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_TRUE(sharedMoto().available()) << sharedMoto().why();
    ASSERT_TRUE(azurite().available()) << azurite().why();
    std::random_device random;
    proxy_ = std::make_unique<ProxyProcess>(dir_.path(),
                                            chainConfig(std::to_string(random() % 1000000)));
    ASSERT_TRUE(proxy_->started()) << proxy_->errors();
  }

  json status(const std::string& binding) const {
    const HttpResponse r = proxy_->call("GET", "/v1/status");
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body, nullptr, false)["bindings"][binding];
  }

  /// Waits (up to 30 s) until `binding` is served by a backend whose type is `type`.
  bool waitForActive(const std::string& binding, const std::string& type) const {
    for (int i = 0; i < 150; ++i) {
      if (status(binding)["active"].get<std::string>().starts_with(type)) return true;
      std::this_thread::sleep_for(200ms);
    }
    return false;
  }

  TempDir dir_;
  std::unique_ptr<ProxyProcess> proxy_;
};

/// The consumers: kConsumers threads that receive and delete until told to stop, counting
/// each body they got.
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

private:
  void run() {
    while (!stop_) {
      const HttpResponse r = proxy_.call("GET", "/v1/queues/orders/messages?max=10&wait=1");
      ++polls_;
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
      proxy_.call("POST", "/v1/queues/orders/messages/delete", json{{"receipts", receipts}}.dump());
    }
  }

  const ProxyProcess& proxy_;
  mutable std::mutex mutex_;
  std::map<std::string, int> received_;
  std::atomic<bool> stop_{false};
  std::atomic<int> polls_{0};
  std::vector<std::thread> threads_;
};

TEST_F(FailoverTest, EveryAcknowledgedMessageArrivesThroughAPauseOfThePrimaryAndItsReturn) {
  const json before = status("orders");
  ASSERT_TRUE(before["active"].get<std::string>().starts_with("aws.sqs")) << before;
  Consumers consumers(*proxy_);
  std::mutex mutex;
  std::set<std::string> acknowledged;
  int refused = 0;
  std::optional<Clock::time_point> first_on_secondary;
  std::atomic<int> next{0};
  const Clock::time_point start = Clock::now();
  const Clock::time_point pause_at = start + kPauseAt;
  auto sender = [&] {
    for (int b = next++; b < kBatches; b = next++) {
      std::this_thread::sleep_until(start + std::chrono::duration_cast<Clock::duration>(
                                                std::chrono::duration<double>(b / kRate)));
      json messages = json::array();
      std::vector<std::string> ids;
      for (int m = 0; m < 10; ++m) {
        ids.push_back(fmt::format("m-{}-{}", b, m));
        messages.push_back({{"body", ids.back()}});
      }
      const HttpResponse r =
          proxy_->call("POST", "/v1/queues/orders/messages", json{{"messages", messages}}.dump());
      std::lock_guard lock(mutex);
      if (r.status != 200) {
        ++refused; // not acknowledged: the sender would retry; nothing is owed
        continue;
      }
      acknowledged.insert(ids.begin(), ids.end());
      if (!first_on_secondary && Clock::now() > pause_at &&
          r.header("x-exo-backend").starts_with("azure.queue")) {
        first_on_secondary = Clock::now();
      }
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
    EXPECT_TRUE(during["active"].get<std::string>().starts_with("azure.queue")) << during;
  }
  const Clock::time_point resumed = Clock::now();
  for (std::thread& t : senders)
    t.join();
  EXPECT_TRUE(waitForActive("orders", "aws.sqs")) << status("orders");

  // Every acknowledged message arrives (by id), the secondary drained after the failback.
  // Generous: on a loaded machine receives that time out hide their messages for the
  // visibility timeout.
  std::size_t missing = acknowledged.size();
  for (int i = 0; i < 600 && missing > 0; ++i) {
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
  EXPECT_LE(duplicates, kDuplicateBound);
  EXPECT_GE(acknowledged.size(), std::size_t{kBatches * 10 / 2}) << refused << " refused";
  ASSERT_TRUE(first_on_secondary.has_value()) << "no send was served by the secondary";
  std::cout << fmt::format(
      "failover: {} acknowledged, {} refused batches, {} duplicates (bound {}); first send on "
      "the secondary {} ms after the pause; drained {} ms after the resume in {} receives\n",
      acknowledged.size(), refused, duplicates, kDuplicateBound,
      std::chrono::duration_cast<std::chrono::milliseconds>(*first_on_secondary - pause_at).count(),
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - resumed).count(),
      consumers.polls());

  const json after = status("orders");
  ASSERT_GE(after["failovers"].size(), 2U) << after;
  bool away = false;
  bool back = false;
  for (const json& e : after["failovers"]) {
    const std::string from = e["from"];
    const std::string to = e["to"];
    away = away || (from.starts_with("aws.sqs") && to.starts_with("azure.queue"));
    back = back || (from.starts_with("azure.queue") && to.starts_with("aws.sqs"));
    EXPECT_TRUE(e["at"].is_string() && e["reason"].is_string()) << e;
  }
  EXPECT_TRUE(away && back) << after;
  const HttpResponse metrics = proxy_->call("GET", "/metrics");
  EXPECT_NE(metrics.body.find(fmt::format("exo_failovers_total{{binding=\"orders\"}} {}",
                                          after["failovers_total"].get<int>())),
            std::string::npos)
      << metrics.body;
  EXPECT_GE(after["failovers_total"].get<int>(), 2);
}

TEST_F(FailoverTest, ObjectsAndItemsWrittenWhileThePrimaryIsPausedAreServedByTheSecondary) {
  ASSERT_EQ(proxy_->call("PUT", "/v1/buckets/assets/objects/before.txt", "on s3").status, 200);
  ASSERT_EQ(::kill(sharedMoto().pid(), SIGSTOP), 0);
  {
    Resume resume{sharedMoto().pid()};
    ASSERT_TRUE(waitForActive("assets", "azure.blob")) << status("assets");
    ASSERT_TRUE(waitForActive("sessions", "azure.table")) << status("sessions");
    const HttpResponse ready = proxy_->call("GET", "/readyz");
    EXPECT_EQ(ready.status, 200) << "every binding still has a healthy backend: " << ready.body;
    const json assets = json::parse(ready.body)["bindings"]["assets"];
    EXPECT_TRUE(assets["backend"].get<std::string>().starts_with("azure.blob")) << ready.body;

    const HttpResponse put = proxy_->call("PUT", "/v1/buckets/assets/objects/during.txt", "azure");
    EXPECT_EQ(put.status, 200) << put.body;
    EXPECT_TRUE(put.header("x-exo-backend").starts_with("azure.blob"))
        << put.header("x-exo-backend");
    const HttpResponse item = proxy_->call("PUT", "/v1/tables/sessions/items/s1", R"({"u": 7})");
    EXPECT_EQ(item.status, 200) << item.body;
    EXPECT_TRUE(item.header("x-exo-backend").starts_with("azure.table"));
    EXPECT_EQ(proxy_->call("GET", "/v1/buckets/assets/objects/during.txt").body, "azure");
    const json backends = status("assets")["backends"];
    const HttpResponse metrics = proxy_->call("GET", "/metrics");
    for (const auto& [index, up] : {std::pair{0, 0}, std::pair{1, 1}}) {
      const std::string line =
          fmt::format("exo_backend_up{{binding=\"assets\",backend=\"{}\"}} {}\n",
                      backends[index]["backend"].get<std::string>(), up);
      EXPECT_NE(metrics.body.find(line), std::string::npos) << line << metrics.body;
    }
  }
  ASSERT_TRUE(waitForActive("assets", "aws.s3")) << status("assets");
  ASSERT_TRUE(waitForActive("sessions", "aws.dynamodb")) << status("sessions");
  // S3 and DynamoDB serve again but never had these: their NotFound sends the read on to Azure.
  const HttpResponse object = proxy_->call("GET", "/v1/buckets/assets/objects/during.txt");
  EXPECT_EQ(object.status, 200);
  EXPECT_EQ(object.body, "azure");
  const HttpResponse item = proxy_->call("GET", "/v1/tables/sessions/items/s1");
  EXPECT_EQ(item.status, 200);
  EXPECT_EQ(json::parse(item.body, nullptr, false), json::parse(R"({"u": 7})"));
  EXPECT_EQ(proxy_->call("GET", "/v1/buckets/assets/objects/before.txt").body, "on s3");
  // A delete reaches both, so no fallback read finds the object again.
  EXPECT_EQ(proxy_->call("DELETE", "/v1/buckets/assets/objects/during.txt").status, 204);
  EXPECT_EQ(proxy_->call("GET", "/v1/buckets/assets/objects/during.txt").status, 404);
  EXPECT_EQ(proxy_->call("GET", "/v1/tables/sessions/items/never").status, 404);
  const HttpResponse put = proxy_->call("PUT", "/v1/buckets/assets/objects/after.txt", "s3");
  EXPECT_TRUE(put.header("x-exo-backend").starts_with("aws.s3")) << "writes returned to S3";
}

} // namespace
} // namespace exoflow::proxy::testing
