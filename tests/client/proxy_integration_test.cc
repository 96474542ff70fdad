// Authentication, operations routes and connection handling against the real exo-proxy.

#include <atomic>
#include <cstdlib>
#include <iostream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "client/proxy_process.h"

namespace exoflow::client {
namespace {

using namespace std::chrono_literals;
using testing::ProxyTest;

class ProxyApiTest : public ProxyTest {};

TEST_F(ProxyApiTest, AWrongOrMissingTokenIsUnauthenticated) {
  for (const char* token : {"wrong-token", ""}) {
    Client exo = client(std::string(token));
    auto queues = exo.listQueues();
    ASSERT_FALSE(queues) << "token '" << token << "'";
    EXPECT_EQ(queues.error().code, ErrorCode::kUnauthenticated);
    EXPECT_EQ(queues.error().http_status, 401);
    EXPECT_FALSE(queues.error().request_id.empty());
    // Checked before routing: an unknown route without a token is 401 too.
    auto item = exo.getItem("no-such-table", "k");
    ASSERT_FALSE(item);
    EXPECT_EQ(item.error().code, ErrorCode::kUnauthenticated);
  }
}

TEST_F(ProxyApiTest, HealthReadinessAndMetricsNeedNoToken) {
  Client exo = client(std::string());
  EXPECT_TRUE(exo.health());
  auto ready = exo.ready();
  ASSERT_TRUE(ready) << describe(ready.error());
  EXPECT_TRUE(ready->ready);
  EXPECT_EQ(ready->status, "ok");
  ASSERT_EQ(ready->bindings.count("orders"), 1u);
  EXPECT_TRUE(ready->bindings.at("orders").healthy);
  EXPECT_EQ(ready->bindings.at("orders").backend, "local.sqlite");
  auto metrics = exo.metrics();
  ASSERT_TRUE(metrics) << describe(metrics.error());
  EXPECT_NE(metrics->find("# TYPE exo_requests_total"), std::string::npos);
}

TEST_F(ProxyApiTest, StatusIsJson) {
  Client exo = client();
  auto status = exo.status();
  ASSERT_TRUE(status) << describe(status.error());
  EXPECT_TRUE(nlohmann::json::accept(*status)) << *status;
}

TEST_F(ProxyApiTest, AnUnknownDatabaseIsNotFound) {
  Client exo = client();
  auto credentials = exo.databaseCredentials("no-such-db");
  ASSERT_FALSE(credentials);
  EXPECT_EQ(credentials.error().code, ErrorCode::kNotFound) << describe(credentials.error());
}

TEST_F(ProxyApiTest, ThousandSequentialRequestsShareOneConnection) {
  Client exo = client();
  ASSERT_TRUE(exo.putItem("sessions", "counter", "0"));
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 1000; ++i) {
    auto item = exo.getItem("sessions", "counter");
    ASSERT_TRUE(item) << i << ": " << describe(item.error());
  }
  const auto elapsed = std::chrono::steady_clock::now() - start;
  std::cout << "1000 requests in "
            << std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count() << " ms\n";
  EXPECT_EQ(exo.stats().connections_opened, 1u);
  EXPECT_EQ(exo.stats().connections_reused, 1000u);
  EXPECT_EQ(exo.stats().retries, 0u);
}

TEST_F(ProxyApiTest, OneClientServesManyThreads) {
  Client exo = client();
  constexpr int kThreads = 4;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&exo, &failures, t] {
      for (int i = 0; i < 50; ++i) {
        const std::string key = "t" + std::to_string(t) + "/" + std::to_string(i);
        if (!exo.putItem("sessions", key, std::to_string(i))) ++failures;
        auto item = exo.getItem("sessions", key);
        if (!item || item->value != std::to_string(i)) ++failures;
      }
    });
  }
  for (std::thread& thread : threads)
    thread.join();
  EXPECT_EQ(failures, 0);
  EXPECT_LE(exo.stats().connections_opened, static_cast<std::uint64_t>(kThreads));
}

TEST_F(ProxyApiTest, FromEnvironmentReadsEndpointAndToken) {
  ::setenv("EXO_ENDPOINT", proxy_->endpoint().c_str(), 1);
  ::setenv("EXO_TOKEN", testing::kProxyToken, 1);
  auto exo = Client::fromEnvironment();
  ::unsetenv("EXO_ENDPOINT");
  ::unsetenv("EXO_TOKEN");
  ASSERT_TRUE(exo) << describe(exo.error());
  EXPECT_EQ(exo->options().endpoint, proxy_->endpoint());
  EXPECT_TRUE(exo->listQueues());
}

// A proxy that closes connections idle for 300 ms.
class IdleProxyTest : public ProxyTest {
protected:
  std::string extraConfig() const override { return "limits: {idle_timeout: 300ms}"; }
};

TEST_F(IdleProxyTest, AConnectionTheProxyClosedWhileIdleIsReopenedTransparently) {
  Client exo = client();
  ASSERT_TRUE(exo.listQueues());
  std::this_thread::sleep_for(1s);
  auto again = exo.listQueues();
  ASSERT_TRUE(again) << describe(again.error());
  EXPECT_EQ(exo.stats().connections_opened, 2u);
  EXPECT_EQ(exo.stats().stale_connections + exo.stats().retries, 1u);
}

} // namespace
} // namespace exoflow::client
