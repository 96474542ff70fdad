// Replication through a real exo-proxy whose objects and kv bindings chain moto (AWS) first and
// Azurite (Azure) second. The end state is checked on both emulators directly, with the
// project's own S3, DynamoDB, Blob and Table clients in this process, never through the proxy.
#include <atomic>
#include <chrono>
#include <csignal>
#include <future>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "backend/cloud.h"
#include "backend/registry.h"
#include "backend/thread_scheduler.h"
#include "proxy/cloud_backend_fixture.h"
#include "proxy/proxy_process.h"
#include "support/azurite_server.h"
#include "support/moto_server.h"

namespace exoflow::proxy::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testsupport::AzuriteServer;

/// This suite's own Azurite: the tests stop and restart it.
AzuriteServer& azurite() {
  static AzuriteServer server;
  return server;
}

/// The issue's load: 1,000 objects and 1,000 items, small, written by kWriters threads.
constexpr int kWrites = 1000;
constexpr int kWriters = 8;

template <typename T, typename F> Result<T> await(F&& call) {
  auto promise = std::make_shared<std::promise<Result<T>>>();
  auto future = promise->get_future();
  call([promise](Result<T> r) { promise->set_value(std::move(r)); });
  return future.get();
}

/// Runs `body(i)` for i in [0, n) on kWriters threads.
template <typename F> void parallelFor(int n, F body) {
  std::atomic<int> next{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kWriters; ++t) {
    threads.emplace_back([&] {
      for (int i = next++; i < n; i = next++)
        body(i);
    });
  }
  for (std::thread& t : threads)
    t.join();
}

/// The backend entries of the two bindings, as the config and the direct clients name them.
struct Names {
  std::string n;
  std::string bucket() const { return "rp-" + n; }
  std::string table() const { return "rp" + n; }
};

std::string replicatedConfig(const Names& names, const std::string& mode) {
  const std::string aws = "region: us-east-1, endpoint: " + sharedMoto().endpoint();
  const std::string az = "account: devstoreaccount1, create: true";
  return fmt::format(
      "listen: 127.0.0.1:0\n"
      "token: ${{EXO_TEST_TOKEN}}\n"
      "data_dir: data\n"
      "limits: {{backend_timeout: 3s}}\n"
      "bindings:\n"
      "  assets:\n"
      "    kind: objects\n"
      "    replication: {mode}\n"
      "    backends:\n"
      "      - {{type: aws.s3, bucket: {bucket}, path_style: true, create: true, {aws}}}\n"
      "      - {{type: azure.blob, container: {bucket}, endpoint: {blob}, {az}}}\n"
      "  sessions:\n"
      "    kind: kv\n"
      "    replication: {mode}\n"
      "    backends:\n"
      "      - {{type: aws.dynamodb, table: {table}, create: true, {aws}}}\n"
      "      - {{type: azure.table, table: {table}, endpoint: {tables}, {az}}}\n"
      "credentials:\n"
      "  aws: {{source: static, access_key_id: testing, secret_access_key: testing}}\n"
      "  azure: {{source: shared_key, account_key: \"{key}\"}}\n",
      fmt::arg("mode", mode), fmt::arg("bucket", names.bucket()), fmt::arg("aws", aws),
      fmt::arg("blob", azurite().blobEndpoint()), fmt::arg("az", az),
      fmt::arg("table", names.table()), fmt::arg("tables", azurite().tableEndpoint()),
      fmt::arg("key", AzuriteServer::kAccountKey));
}

/// Both sides of both bindings, reached directly.
class Direct {
public:
  /// `scratch`: a folder the clients may write to (none of them does).
  Direct(const Names& names, const std::filesystem::path& scratch)
      : cloud_(
            backend::AwsCredentialsSpec{
                "static", {{"access_key_id", "testing"}, {"secret_access_key", "testing"}}},
            {},
            backend::AzureCredentialsSpec{"shared_key",
                                          {{"account_key", AzuriteServer::kAccountKey}}}) {
    backend::registerBuiltinBackends(registry_);
    const backend::BackendContext context{"direct", scratch, &scheduler_, &cloud_};
    const std::string moto = sharedMoto().endpoint();
    const std::map<std::string, std::string> aws = {{"region", "us-east-1"}, {"endpoint", moto}};
    const std::map<std::string, std::string> az = {{"account", "devstoreaccount1"}};
    auto with = [](std::map<std::string, std::string> base,
                   std::map<std::string, std::string> more) {
      base.insert(more.begin(), more.end());
      return base;
    };
    auto s3 = registry_.createObjectStore(
        {"aws.s3", with(aws, {{"bucket", names.bucket()}, {"path_style", "true"}})},
        {"assets", false}, context);
    auto blob = registry_.createObjectStore(
        {"azure.blob",
         with(az, {{"container", names.bucket()}, {"endpoint", azurite().blobEndpoint()}})},
        {"assets", false}, context);
    auto dynamo = registry_.createKvStore({"aws.dynamodb", with(aws, {{"table", names.table()}})},
                                          {"sessions"}, context);
    auto table = registry_.createKvStore(
        {"azure.table",
         with(az, {{"table", names.table()}, {"endpoint", azurite().tableEndpoint()}})},
        {"sessions"}, context);
    EXPECT_TRUE(s3 && blob && dynamo && table);
    if (s3) objects_.push_back(std::move(*s3));
    if (blob) objects_.push_back(std::move(*blob));
    if (dynamo) kv_.push_back(std::move(*dynamo));
    if (table) kv_.push_back(std::move(*table));
  }

  bool ready() const { return objects_.size() == 2 && kv_.size() == 2; }
  /// Side 0 is AWS, side 1 Azure.
  backend::ObjectStore& objects(int side) { return *objects_.at(side); }
  backend::KvStore& kv(int side) { return *kv_.at(side); }

  /// The object's body and content type, or nullopt when it is missing or unreadable.
  std::optional<std::pair<std::string, std::string>> object(int side, const std::string& key) {
    auto download = await<std::unique_ptr<backend::ObjectDownload>>(
        [&](auto done) { objects(side).get(key, std::nullopt, done); });
    if (!download) return std::nullopt;
    std::string body;
    while (true) {
      auto chunk = await<std::string>([&](auto done) { (*download)->read(1 << 20, done); });
      if (!chunk) return std::nullopt;
      if (chunk->empty()) break;
      body += *chunk;
    }
    return std::pair{body, (*download)->info().content_type};
  }

  /// The item's value as JSON, or null when missing.
  json item(int side, const std::string& key) {
    auto got = await<backend::KvItem>([&](auto done) { kv(side).get(key, done); });
    if (!got) return json();
    return json::parse(got->value, nullptr, false);
  }

private:
  backend::ThreadScheduler scheduler_;
  backend::CloudServices cloud_;
  backend::Registry registry_;
  std::vector<std::unique_ptr<backend::ObjectStore>> objects_;
  std::vector<std::unique_ptr<backend::KvStore>> kv_;
};

class ReplicationTest : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_TRUE(sharedMoto().available()) << sharedMoto().why();
    ASSERT_TRUE(azurite().available()) << azurite().why();
    std::random_device random;
    names_.n = std::to_string(random() % 1000000);
  }

  void start(const std::string& mode) {
    proxy_ = std::make_unique<ProxyProcess>(dir_.path(), replicatedConfig(names_, mode));
    ASSERT_TRUE(proxy_->started()) << proxy_->errors();
  }

  json status() const {
    const HttpResponse r = proxy_->call("GET", "/v1/status");
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body, nullptr, false);
  }

  /// Pending copies of both bindings, or -1 when status did not answer.
  std::int64_t pending() const {
    const json s = status();
    if (!s.is_object()) return -1;
    return s["bindings"]["assets"]["replication_pending"].get<std::int64_t>() +
           s["bindings"]["sessions"]["replication_pending"].get<std::int64_t>();
  }

  /// Polls until `condition` holds, up to `limit`.
  template <typename F> bool waitFor(F condition, std::chrono::seconds limit = 60s) const {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (condition()) return true;
      std::this_thread::sleep_for(50ms);
    }
    return condition();
  }

  bool waitForActive(const std::string& binding, const std::string& type) const {
    return waitFor([&] {
      return status()["bindings"][binding]["active"].get<std::string>().starts_with(type);
    });
  }

  static std::string objectBody(int i) { return fmt::format("object {} body", i); }
  static json itemValue(int i) { return {{"i", i}, {"name", fmt::format("item-{}", i)}}; }

  Names names_;
  TempDir dir_;
  std::unique_ptr<ProxyProcess> proxy_;
};

/// Resumes moto when a test ends early.
struct Resume {
  pid_t pid;
  ~Resume() { ::kill(pid, SIGCONT); }
};

TEST_F(ReplicationTest, WritesAcknowledgedWhileTheSecondaryIsDownReachItThroughAProxyKill) {
  start("async");
  Direct direct(names_, dir_.path() / "direct");
  ASSERT_TRUE(direct.ready());
  azurite().stop();

  std::atomic<int> refused{0};
  parallelFor(2 * kWrites, [&](int n) {
    const int i = n / 2;
    const HttpResponse r =
        n % 2 == 0 ? proxy_->call("PUT", fmt::format("/v1/buckets/assets/objects/o-{}", i),
                                  objectBody(i), {{"Content-Type", "text/plain"}})
                   : proxy_->call("PUT", fmt::format("/v1/tables/sessions/items/s-{}", i),
                                  itemValue(i).dump());
    if (r.status != 200) ++refused;
  });
  ASSERT_EQ(refused, 0) << "the primary serves; a down secondary never refuses a write";
  EXPECT_EQ(pending(), 2 * kWrites) << "one entry per write, none copied yet";
  // The writes took a while: the oldest entry is older than 0 ms, and status and metrics say so.
  EXPECT_TRUE(waitFor([&] { return status()["replication_lag_seconds"]["assets"] > 0; }))
      << status();
  EXPECT_GT(status()["bindings"]["sessions"]["replication_lag_seconds"], 0) << status();
  const HttpResponse lagging = proxy_->call("GET", "/metrics");
  EXPECT_EQ(lagging.body.find("exo_replication_lag_seconds{binding=\"sessions\"} 0\n"),
            std::string::npos)
      << lagging.body;

  ASSERT_TRUE(azurite().restart()) << azurite().why();
  const auto returned = std::chrono::steady_clock::now();
  // Kill the proxy once the drain has begun but not ended.
  std::int64_t at_kill = -1;
  ASSERT_TRUE(waitFor([&] {
    at_kill = pending();
    return at_kill >= 0 && at_kill < 2 * kWrites - 50;
  })) << "the journal does not drain: "
      << status();
  ASSERT_EQ(proxy_->stop(SIGKILL), -1);
  proxy_.reset();
  ASSERT_GT(at_kill, 0) << "the kill came after the drain";

  start("async");
  const std::int64_t after_restart = pending();
  EXPECT_GT(after_restart, 0) << "the journal survived the kill";
  ASSERT_TRUE(waitFor([&] { return pending() == 0; }, 90s)) << status();
  const auto drained = std::chrono::steady_clock::now();
  const HttpResponse metrics = proxy_->call("GET", "/metrics");
  EXPECT_NE(metrics.body.find("exo_replication_lag_seconds{binding=\"assets\"} 0\n"),
            std::string::npos)
      << metrics.body;

  std::atomic<int> wrong{0};
  std::mutex mutex;
  std::vector<std::string> examples;
  parallelFor(kWrites, [&](int i) {
    for (int side : {0, 1}) {
      const auto object = direct.object(side, fmt::format("o-{}", i));
      const json item = direct.item(side, fmt::format("s-{}", i));
      const bool ok = object && object->first == objectBody(i) &&
                      object->second.starts_with("text/plain") && item == itemValue(i);
      if (ok) continue;
      ++wrong;
      std::lock_guard lock(mutex);
      if (examples.size() < 5) examples.push_back(fmt::format("side {} key {}", side, i));
    }
  });
  EXPECT_EQ(wrong, 0) << fmt::format("{}", fmt::join(examples, "; "));
  std::cout << fmt::format(
      "replication: {} pending when killed, {} after the restart; journal empty {} ms after the "
      "secondary returned (the kill and restart included)\n",
      at_kill, after_restart,
      std::chrono::duration_cast<std::chrono::milliseconds>(drained - returned).count());
}

TEST_F(ReplicationTest, AfterTheFailbackBothSidesHoldTheNewestWriteOfAKey) {
  start("async");
  Direct direct(names_, dir_.path() / "direct");
  ASSERT_TRUE(direct.ready());
  ASSERT_EQ(::kill(sharedMoto().pid(), SIGSTOP), 0);
  {
    Resume resume{sharedMoto().pid()};
    ASSERT_TRUE(waitForActive("assets", "azure.blob")) << status();
    ASSERT_TRUE(waitForActive("sessions", "azure.table")) << status();
    const HttpResponse put = proxy_->call("PUT", "/v1/buckets/assets/objects/k", "old");
    ASSERT_EQ(put.status, 200) << put.body;
    EXPECT_TRUE(put.header("x-exo-backend").starts_with("azure.blob"));
    ASSERT_EQ(proxy_->call("PUT", "/v1/tables/sessions/items/k", R"("old")").status, 200);
  }
  ASSERT_TRUE(waitForActive("assets", "aws.s3")) << status();
  ASSERT_TRUE(waitForActive("sessions", "aws.dynamodb")) << status();
  // The copies of the old values to AWS may be pending, running or done: either way the newer
  // writes must win on both sides.
  const HttpResponse put = proxy_->call("PUT", "/v1/buckets/assets/objects/k", "new");
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_TRUE(put.header("x-exo-backend").starts_with("aws.s3"));
  ASSERT_EQ(proxy_->call("PUT", "/v1/tables/sessions/items/k", R"("new")").status, 200);
  ASSERT_TRUE(waitFor([&] { return pending() == 0; })) << status();
  for (int side : {0, 1}) {
    const auto object = direct.object(side, "k");
    ASSERT_TRUE(object) << "side " << side;
    EXPECT_EQ(object->first, "new") << "side " << side;
    EXPECT_EQ(direct.item(side, "k"), json("new")) << "side " << side;
  }
}

TEST_F(ReplicationTest, ASyncWriteIsOnBothSidesWhenAcknowledged) {
  start("sync");
  Direct direct(names_, dir_.path() / "direct");
  ASSERT_TRUE(direct.ready());
  for (int i = 0; i < 5; ++i) {
    const std::string key = fmt::format("k{}", i);
    ASSERT_EQ(proxy_->call("PUT", "/v1/buckets/assets/objects/" + key, objectBody(i)).status, 200);
    ASSERT_EQ(proxy_->call("PUT", "/v1/tables/sessions/items/" + key, itemValue(i).dump()).status,
              200);
    for (int side : {0, 1}) {
      const auto object = direct.object(side, key);
      ASSERT_TRUE(object) << "side " << side << " key " << key;
      EXPECT_EQ(object->first, objectBody(i));
      EXPECT_EQ(direct.item(side, key), itemValue(i)) << "side " << side << " key " << key;
    }
  }
  EXPECT_EQ(pending(), 0);
  const json assets = status()["bindings"]["assets"];
  EXPECT_EQ(assets["replication"], "sync") << assets;
  // A delete reaches both sides too.
  ASSERT_EQ(proxy_->call("DELETE", "/v1/buckets/assets/objects/k0").status, 204);
  EXPECT_FALSE(direct.object(1, "k0"));
}

} // namespace
} // namespace exoflow::proxy::testing
