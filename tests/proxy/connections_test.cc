// Thousands of connections against the real exo-proxy: idle ones (silent, or kept alive after a
// request) are shed by the header and idle timeouts, connections over the limit are closed at
// once, and through all of it everyone else is served.
#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <sys/resource.h>

#include "proxy/proxy_fixture.h"

namespace exoflow::proxy::testing {
namespace {

/// Raises this process's open-file limit towards `want` (the proxy inherits it); returns the
/// soft limit now in force.
int raiseFileLimit(rlim_t want) {
  rlimit limit{};
  ::getrlimit(RLIMIT_NOFILE, &limit);
  if (limit.rlim_cur < want) {
    limit.rlim_cur = std::min(want, limit.rlim_max);
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
  ::getrlimit(RLIMIT_NOFILE, &limit);
  return static_cast<int>(std::min<rlim_t>(limit.rlim_cur, 1 << 20));
}

class ConnectionsTest : public ProxyFixture {
protected:
  void SetUp() override {
    // The test holds each connection once and the proxy holds it once; leave room for files.
    connections_ = std::min(3000, raiseFileLimit(8192) - 200);
    ASSERT_GE(connections_, 500) << "the open-file limit is too low for this test";
  }

  /// Opens `n` connections that say nothing; all must connect.
  std::vector<std::unique_ptr<HttpConnection>> openSilent(int n) const {
    std::vector<std::unique_ptr<HttpConnection>> open;
    open.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
      open.push_back(std::make_unique<HttpConnection>(proxy_->port()));
      EXPECT_TRUE(open.back()->connected()) << "connection " << i;
    }
    return open;
  }

  int connections_ = 0;
};

TEST_F(ConnectionsTest, ThousandsOfIdleConnectionsAreShedWhileOthersAreServed) {
  start("{header_timeout: 2s, idle_timeout: 2s}");
  // Two thirds never send a byte; one third send a request, read the answer and go quiet.
  const int silent_count = connections_ * 2 / 3;
  auto silent = openSilent(silent_count);
  auto kept = openSilent(connections_ - silent_count);
  for (auto& c : kept) {
    const auto r = c->request("GET", "/healthz");
    ASSERT_TRUE(r) << "a keep-alive connection is served";
    EXPECT_EQ(r->status, 200);
  }

  // With all of them open, everyone else is still served, and data routes work.
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(httpRequest(proxy_->port(), "GET", "/healthz").status, 200);
  }
  EXPECT_EQ(call("PUT", "/v1/tables/sessions/items/k", R"({"v": 1})").status, 200);
  EXPECT_EQ(call("GET", "/v1/tables/sessions/items/k").status, 200);

  // Then the proxy sheds every one of them by itself: silent ones after header_timeout,
  // kept-alive ones after idle_timeout.
  int shed = 0;
  for (auto& c : silent)
    shed += c->closedWithin(15'000) ? 1 : 0;
  EXPECT_EQ(shed, silent_count) << "silent connections are closed after header_timeout";
  shed = 0;
  for (auto& c : kept)
    shed += c->closedWithin(15'000) ? 1 : 0;
  EXPECT_EQ(shed, connections_ - silent_count) << "idle connections close after idle_timeout";

  const HttpResponse metrics = call("GET", "/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_EQ(httpRequest(proxy_->port(), "GET", "/healthz").status, 200);
}

TEST_F(ConnectionsTest, ConnectionsOverTheLimitAreClosedAtOnceAndTheRestKeepWorking) {
  const int limit = connections_ / 3;
  start("{max_connections: " + std::to_string(limit) + ", header_timeout: 60s}");
  auto held = openSilent(limit);
  // Make sure the proxy has taken every held connection before the flood.
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(
        held[static_cast<std::size_t>(i)]->send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
    const auto r = held[static_cast<std::size_t>(i)]->read();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));

  auto flood = openSilent(connections_ - limit);
  int closed = 0;
  for (auto& c : flood)
    closed += c->closedWithin(5'000) ? 1 : 0;
  EXPECT_EQ(closed, connections_ - limit)
      << "connections over max_connections are closed at once, long before header_timeout";

  // The connections inside the limit still work.
  for (int i = 0; i < 10; ++i) {
    const auto r = held[static_cast<std::size_t>(i)]->request("GET", "/healthz");
    ASSERT_TRUE(r) << "held connection " << i << " still works";
    EXPECT_EQ(r->status, 200);
  }
  // Freeing slots lets new clients in.
  held.resize(held.size() / 2);
  bool served = false;
  for (int i = 0; i < 100 && !served; ++i) {
    served = httpRequest(proxy_->port(), "GET", "/healthz").status == 200;
    if (!served) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(served);
}

} // namespace
} // namespace exoflow::proxy::testing
