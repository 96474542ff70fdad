// What exo-proxy acknowledged survives a SIGKILL: writers keep several connections busy, the
// proxy is killed with requests in flight, restarted on the same data, and everything it
// answered 2xx for is read back intact. Writes it did not acknowledge may or may not be there,
// but nothing half-written is ever visible.
#include <atomic>
#include <csignal>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "proxy/http_client.h"
#include "proxy/proxy_process.h"

namespace exoflow::proxy::testing {
namespace {

constexpr int kWriters = 4;

/// A body that tells from its own bytes whether it is whole: the key repeated to `size`.
std::string bodyFor(const std::string& key, std::size_t size) {
  std::string body;
  body.reserve(size);
  while (body.size() < size)
    body += key + ";";
  body.resize(size);
  return body;
}

/// A write that got no answer ends its writer (the kill came); one that got an error answer
/// before the kill is a failure.
bool refused(const std::optional<HttpResponse>& r) {
  if (r) ADD_FAILURE() << "a write was refused with " << r->status << ": " << r->body;
  return false;
}

class DurabilityTest : public ::testing::Test {
protected:
  void start() {
    proxy_ = std::make_unique<ProxyProcess>(dir_.path(), defaultConfig());
    ASSERT_TRUE(proxy_->started()) << proxy_->errors();
  }

  /// Runs `write(writer, seq, connection)` on kWriters threads, each on its own keep-alive
  /// connection, until `kill_after` writes were acknowledged in all; then SIGKILLs the proxy
  /// while the writers are still going, and waits for every writer to see the failure.
  /// `write` returns false when the request was not acknowledged (the writer then stops).
  template <typename Write> void writeUntilKilled(int kill_after, Write write) {
    std::atomic<int> acked{0};
    std::atomic<int> writing{kWriters};
    std::vector<std::thread> writers;
    for (int w = 0; w < kWriters; ++w) {
      writers.emplace_back([&, w] {
        auto connection = std::make_unique<HttpConnection>(proxy_->port());
        for (int seq = 0; write(w, seq, *connection); ++seq)
          acked.fetch_add(1);
        writing.fetch_sub(1);
      });
    }
    while (acked.load() < kill_after && writing.load() == kWriters) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    EXPECT_EQ(writing.load(), kWriters) << "a writer failed before the kill; the proxy says:\n"
                                        << proxy_->errors();
    // Killed mid-stream: the writers have requests on the wire right now.
    EXPECT_EQ(proxy_->stop(SIGKILL), -1);
    for (auto& t : writers)
      t.join();
    EXPECT_GE(acked.load(), kill_after);
  }

  TempDir dir_;
  std::unique_ptr<ProxyProcess> proxy_;
};

TEST_F(DurabilityTest, AcknowledgedMessagesSurviveAKill) {
  start();
  std::mutex mutex;
  std::set<std::string> acked;
  writeUntilKilled(1000, [&](int writer, int seq, HttpConnection& c) {
    // Batches of 1..5, so single sends and batches are both cut by the kill.
    nlohmann::json messages = nlohmann::json::array();
    std::vector<std::string> bodies;
    for (int i = 0; i <= seq % 5; ++i) {
      bodies.push_back("w" + std::to_string(writer) + "-" + std::to_string(seq) + "-" +
                       std::to_string(i));
      messages.push_back(
          {{"body", bodies.back()}, {"attributes", {{"writer", std::to_string(writer)}}}});
    }
    const auto r = c.request("POST", "/v1/queues/events/messages", ProxyProcess::auth(),
                             nlohmann::json{{"messages", messages}}.dump());
    if (!r || r->status != 200) return refused(r);
    const std::lock_guard lock(mutex);
    acked.insert(bodies.begin(), bodies.end());
    return true;
  });
  ASSERT_FALSE(acked.empty());

  start();
  std::set<std::string> received;
  for (int empty = 0; empty < 2;) {
    const HttpResponse r = proxy_->call("GET", "/v1/queues/events/messages?max=10&visibility=600");
    ASSERT_EQ(r.status, 200) << r.body;
    const auto messages = nlohmann::json::parse(r.body)["messages"];
    empty = messages.empty() ? empty + 1 : 0;
    for (const auto& m : messages) {
      const std::string body = m["body"];
      ASSERT_TRUE(body.starts_with("w")) << "a message came back damaged: " << m.dump();
      received.insert(body);
      const HttpResponse deleted =
          proxy_->call("DELETE", "/v1/queues/events/messages/" + m["receipt"].get<std::string>());
      ASSERT_EQ(deleted.status, 204) << deleted.body;
    }
  }
  std::size_t lost = 0;
  for (const auto& body : acked) {
    if (received.count(body) == 0 && ++lost <= 5) ADD_FAILURE() << "lost " << body;
  }
  EXPECT_EQ(lost, 0U) << "of " << acked.size() << " acknowledged messages";
  EXPECT_GE(received.size(), acked.size());
}

TEST_F(DurabilityTest, AcknowledgedObjectsSurviveAKillAndNoneIsTorn) {
  start();
  std::mutex mutex;
  std::map<std::string, std::string> acked; // key -> etag
  writeUntilKilled(150, [&](int writer, int seq, HttpConnection& c) {
    const std::string key = "w" + std::to_string(writer) + "/" + std::to_string(seq);
    // 1 KiB to 256 KiB, so the kill often lands in the middle of a body.
    const std::size_t size = 1024U << (seq % 9);
    const auto r = c.request("PUT", "/v1/buckets/assets/objects/" + key, ProxyProcess::auth(),
                             bodyFor(key, size));
    if (!r || r->status != 200) return refused(r);
    const std::lock_guard lock(mutex);
    acked[key] = r->header("etag");
    return true;
  });
  ASSERT_FALSE(acked.empty());

  start();
  for (const auto& [key, etag] : acked) {
    const HttpResponse r = proxy_->call("GET", "/v1/buckets/assets/objects/" + key);
    ASSERT_EQ(r.status, 200) << "acknowledged object " << key << " is gone";
    EXPECT_EQ(r.header("etag"), etag) << key;
    const std::size_t size = 1024U << (std::stoi(key.substr(key.find('/') + 1)) % 9);
    EXPECT_EQ(r.body, bodyFor(key, size)) << key;
  }
  // Every object that is listed, acknowledged or not, is whole.
  const HttpResponse list = proxy_->call("GET", "/v1/buckets/assets/objects");
  ASSERT_EQ(list.status, 200) << list.body;
  std::size_t listed = 0;
  const nlohmann::json listing = nlohmann::json::parse(list.body);
  for (const auto& o : listing["objects"]) {
    const std::string key = o["key"];
    const std::size_t size = 1024U << (std::stoi(key.substr(key.find('/') + 1)) % 9);
    EXPECT_EQ(o["size"], size) << "a torn object is listed: " << key;
    ++listed;
  }
  EXPECT_GE(listed, acked.size());
}

TEST_F(DurabilityTest, AcknowledgedKvWritesSurviveAKillWithTheirVersions) {
  start();
  std::mutex mutex;
  std::map<std::string, std::pair<std::string, std::string>> acked; // key -> value, version
  writeUntilKilled(1000, [&](int writer, int seq, HttpConnection& c) {
    // Each writer keeps rewriting 50 keys, so a kill can land on an update of a known key.
    const std::string key = "w" + std::to_string(writer) + "-" + std::to_string(seq % 50);
    const std::string value =
        nlohmann::json{{"seq", seq}, {"pad", std::string(seq % 7 * 100, 'x')}}.dump();
    const auto r =
        c.request("PUT", "/v1/tables/sessions/items/" + key, ProxyProcess::auth(), value);
    if (!r || r->status != 200) return refused(r);
    const std::lock_guard lock(mutex);
    acked[key] = {value, nlohmann::json::parse(r->body)["version"]};
    return true;
  });
  ASSERT_FALSE(acked.empty());

  start();
  for (const auto& [key, written] : acked) {
    const HttpResponse r = proxy_->call("GET", "/v1/tables/sessions/items/" + key);
    ASSERT_EQ(r.status, 200) << "acknowledged item " << key << " is gone";
    const auto value = nlohmann::json::parse(r.body);
    const auto expected = nlohmann::json::parse(written.first);
    // The last acknowledged write, or the one write in flight after it when the kill came.
    EXPECT_GE(value["seq"].get<int>(), expected["seq"].get<int>()) << key;
    if (value == expected) {
      EXPECT_EQ(r.header("etag"), "\"" + written.second + "\"") << key;
    }
  }
}

TEST_F(DurabilityTest, ASecondProxyOnTheSameDataIsRefusedAndTheFirstKeepsServing) {
  start();
  const std::string message = R"({"messages": [{"body": "kept"}]})";
  ASSERT_EQ(proxy_->call("POST", "/v1/queues/orders/messages", message).status, 200);

  // Another exo-proxy whose data_dir is the first one's: it must not serve the same store.
  const std::filesystem::path other = dir_.path() / "second";
  std::filesystem::create_directories(other);
  std::string config = defaultConfig();
  const std::string data_line = "data_dir: data\n";
  config.replace(config.find(data_line), data_line.size(),
                 "data_dir: " + (dir_.path() / "data").string() + "\n");
  ProxyProcess second(other, config);
  EXPECT_FALSE(second.started());
  EXPECT_EQ(second.wait(30'000), 1);
  EXPECT_NE(second.errors().find("is in use by another process"), std::string::npos)
      << second.errors();

  // The first one still serves its data.
  const HttpResponse got = proxy_->call("GET", "/v1/queues/orders/messages?max=10");
  ASSERT_EQ(got.status, 200);
  EXPECT_EQ(nlohmann::json::parse(got.body)["messages"][0]["body"], "kept");
}

} // namespace
} // namespace exoflow::proxy::testing
