// Connection handling of the client against a scripted fake server: keep-alive reuse, the
// transparent reconnect after a server closed an idle connection, which requests may be sent
// again, timeouts, refused connections and early answers to large uploads. (The real proxy is
// the judge of everything else, in the *_integration_test.cc files.)

#include <atomic>
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "exoflow/client.h"
#include "support/fake_server.h"

namespace exoflow::client {
namespace {

using testsupport::FakeConnection;
using testsupport::FakeServer;
using namespace std::chrono_literals;

Client clientFor(const std::string& endpoint, ClientOptions options = {}) {
  options.endpoint = endpoint;
  options.token = "t";
  auto client = Client::create(options);
  EXPECT_TRUE(client) << client.error().message;
  return std::move(*client);
}

// Serves every request on the connection with a healthy answer until the peer closes.
void serveAll(FakeConnection& connection, int /*index*/) {
  while (connection.readRequest()) {
    if (!connection.respondJson(testsupport::healthyResponse())) return;
  }
}

template <typename Predicate> bool eventually(Predicate&& predicate) {
  for (int i = 0; i < 500 && !predicate(); ++i)
    std::this_thread::sleep_for(10ms);
  return predicate();
}

TEST(ConnectionTest, SequentialRequestsShareOneConnection) {
  FakeServer server(serveAll);
  Client client = clientFor(server.endpoint());
  for (int i = 0; i < 1000; ++i)
    ASSERT_TRUE(client.health()) << i;
  EXPECT_EQ(server.accepted(), 1);
  EXPECT_EQ(client.stats().connections_opened, 1u);
  EXPECT_EQ(client.stats().connections_reused, 999u);
}

TEST(ConnectionTest, ZeroIdleConnectionsClosesEachConnection) {
  FakeServer server(serveAll);
  ClientOptions options;
  options.max_idle_connections = 0;
  Client client = clientFor(server.endpoint(), options);
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(client.health());
  EXPECT_EQ(server.accepted(), 3);
}

TEST(ConnectionTest, AnIdleConnectionTheServerClosedIsReplacedTransparently) {
  // Each connection answers one request, then the server closes it while it is idle.
  FakeServer server([](FakeConnection& connection, int) {
    if (connection.readRequest()) connection.respondJson(testsupport::healthyResponse());
  });
  Client client = clientFor(server.endpoint());
  ASSERT_TRUE(client.health());
  ASSERT_TRUE(eventually([&] { return server.finished() == 1; }));
  auto second = client.health();
  ASSERT_TRUE(second) << describe(second.error());
  EXPECT_EQ(server.accepted(), 2);
  EXPECT_EQ(client.stats().stale_connections, 1u);
  EXPECT_EQ(client.stats().retries, 0u);
}

// The first connection answers one request, then reads the next one and drops it unanswered,
// as a server does whose idle timeout fires just as a request arrives.
void dropSecondRequest(FakeConnection& connection, int index) {
  if (index > 0) return serveAll(connection, index);
  if (!connection.readRequest()) return;
  connection.respondJson(testsupport::healthyResponse());
  connection.readRequest();
  connection.close();
}

TEST(ConnectionTest, AnIdempotentRequestIsResentOnceWhenAReusedConnectionBreaks) {
  FakeServer server(dropSecondRequest);
  Client client = clientFor(server.endpoint());
  ASSERT_TRUE(client.health());
  auto second = client.health();
  ASSERT_TRUE(second) << describe(second.error());
  EXPECT_EQ(client.stats().retries, 1u);
  EXPECT_EQ(server.accepted(), 2);
}

TEST(ConnectionTest, ANonIdempotentRequestIsNotResentOnceItWasSent) {
  FakeServer server(dropSecondRequest);
  Client client = clientFor(server.endpoint());
  ASSERT_TRUE(client.health());
  auto sent = client.sendMessage("orders", {"hello", {}, std::nullopt});
  ASSERT_FALSE(sent);
  EXPECT_EQ(sent.error().code, ErrorCode::kConnectionFailed) << describe(sent.error());
  EXPECT_EQ(client.stats().retries, 0u);
  EXPECT_EQ(server.accepted(), 1);
  // The client recovers on the next call.
  EXPECT_TRUE(client.health());
}

TEST(ConnectionTest, AServerThatNeverAnswersTimesOut) {
  FakeServer server([](FakeConnection& connection, int) {
    connection.readRequest();
    connection.readRequest(); // blocks until the client or the server's teardown closes
  });
  ClientOptions options;
  options.request_timeout = 300ms;
  Client client = clientFor(server.endpoint(), options);
  const auto start = std::chrono::steady_clock::now();
  auto health = client.health();
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(health);
  EXPECT_EQ(health.error().code, ErrorCode::kTimeout) << describe(health.error());
  EXPECT_EQ(health.error().http_status, 0);
  EXPECT_LT(elapsed, 5s);
  EXPECT_EQ(client.stats().retries, 0u);
}

TEST(ConnectionTest, ALongPollWaitsLongerThanTheRequestTimeout) {
  FakeServer server([](FakeConnection& connection, int) {
    if (!connection.readRequest()) return;
    std::this_thread::sleep_for(600ms);
    connection.respondJson(R"({"messages": []})");
    connection.readRequest();
  });
  ClientOptions options;
  options.request_timeout = 200ms;
  options.long_poll_margin = 2s;
  Client client = clientFor(server.endpoint(), options);
  ReceiveOptions receive;
  receive.wait = 1s;
  auto messages = client.receiveMessages("orders", receive);
  ASSERT_TRUE(messages) << describe(messages.error());
  EXPECT_TRUE(messages->empty());
}

TEST(ConnectionTest, ARefusedConnectionIsConnectionFailed) {
  Client client = clientFor("http://127.0.0.1:" + std::to_string(testsupport::unusedPort()));
  auto health = client.health();
  ASSERT_FALSE(health);
  EXPECT_EQ(health.error().code, ErrorCode::kConnectionFailed) << describe(health.error());
}

TEST(ConnectionTest, ALargeUploadRefusedBeforeItsBodyReturnsTheServersAnswer) {
  // The server answers 413 to the head of the request and never reads the body.
  FakeServer server([](FakeConnection& connection, int) {
    auto head = connection.readHead();
    if (!head) return;
    const bool expects = head->head.find("Expect: 100-continue") != std::string::npos;
    connection.respondJson(
        expects ? R"({"error": {"code": "PayloadTooLarge", "message": "too big"}})" : "{}", 413);
    connection.readRequest();
  });
  Client client = clientFor(server.endpoint());
  const std::string body(8 * 1024 * 1024, 'x');
  auto put = client.putObject("assets", "big", body);
  ASSERT_FALSE(put);
  EXPECT_EQ(put.error().code, ErrorCode::kPayloadTooLarge) << describe(put.error());
  EXPECT_EQ(put.error().message, "too big");
}

TEST(ConnectionTest, ALargeUploadIsSentAfter100Continue) {
  constexpr std::size_t kSize = 2 * 1024 * 1024;
  std::atomic<bool> body_complete{false};
  FakeServer server([&body_complete](FakeConnection& connection, int) {
    auto head = connection.readHead();
    if (!head || head->head.find("Expect: 100-continue") == std::string::npos) return;
    connection.write("HTTP/1.1 100 Continue\r\n\r\n");
    auto body = connection.readBody(kSize);
    body_complete = body && *body == std::string(kSize, 'y');
    connection.respondJson(R"({"etag": "\"e1\"", "size": 2097152})");
    serveAll(connection, 0);
  });
  Client client = clientFor(server.endpoint());
  auto put = client.putObject("assets", "big", std::string(kSize, 'y'));
  ASSERT_TRUE(put) << describe(put.error());
  EXPECT_TRUE(body_complete);
  EXPECT_EQ(put->etag, "\"e1\"");
  EXPECT_EQ(put->size, kSize);
  EXPECT_TRUE(client.health()); // the connection stays usable
  EXPECT_EQ(server.accepted(), 1);
}

TEST(ConnectionTest, ASinkErrorAbortsTheTransferAndDropsTheConnection) {
  FakeServer server([](FakeConnection& connection, int) {
    while (auto request = connection.readRequest()) {
      const std::string body(1024 * 1024, 'b');
      connection.write("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) +
                       "\r\n\r\n" + body);
    }
  });
  Client client = clientFor(server.endpoint());
  const BodySink sink = [](std::string_view) -> Result<void> {
    return fail(ErrorCode::kAborted, "disk full");
  };
  auto got = client.getObjectToSink("assets", "k", sink);
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, ErrorCode::kAborted);
  EXPECT_EQ(got.error().message, "disk full");
  auto again = client.getObject("assets", "k");
  ASSERT_TRUE(again) << describe(again.error());
  EXPECT_EQ(again->body.size(), 1024u * 1024u);
  EXPECT_EQ(server.accepted(), 2);
}

} // namespace
} // namespace exoflow::client
