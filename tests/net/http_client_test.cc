// The cloud HTTP client against scripted local servers: keep-alive reuse, a pooled connection
// the server closed, timeouts, refused connections, retries with back-off for idempotent calls
// only, and TLS with certificate and host name verification (openssl s_server with a
// certificate made by the test).
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <string>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "net/http_client.h"
#include "support/fake_server.h"

namespace exoflow::net {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testsupport::FakeConnection;
using testsupport::FakeServer;

bool respond(FakeConnection& c, int status, const std::string& body, bool close = false) {
  return c.write(fmt::format("HTTP/1.1 {} X\r\nContent-Length: {}\r\n{}\r\n{}", status, body.size(),
                             close ? "Connection: close\r\n" : "", body));
}

HttpRequest req(std::string method, std::string url, Headers headers = {}, std::string body = "",
                bool idempotent = false) {
  return {std::move(method), std::move(url), std::move(headers), std::move(body), idempotent};
}

HttpClientOptions fast() {
  HttpClientOptions o;
  o.connect_timeout = 2s;
  o.request_timeout = 2s;
  o.retry.base_delay = 1ms;
  o.retry.max_delay = 5ms;
  return o;
}

TEST(HttpClient, SendsARequestAndReusesTheConnection) {
  std::atomic<int> served{0};
  FakeServer server([&](FakeConnection& c, int) {
    while (auto r = c.readRequest()) {
      ++served;
      respond(c, 200, r->method + " " + r->target + " " + r->body);
    }
  });
  HttpClient client(fast());
  for (int i = 0; i < 3; ++i) {
    auto r = client.sendAndWait(
        req("POST", server.endpoint() + "/path?x=" + std::to_string(i), {{"X-A", "b"}}, "body"));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "POST /path?x=" + std::to_string(i) + " body");
    EXPECT_EQ(r->header("content-length"), std::to_string(r->body.size()));
    EXPECT_EQ(r->attempts, 1);
  }
  EXPECT_EQ(client.connectionsOpened(), 1U) << "keep-alive reuses one connection";
  EXPECT_EQ(server.accepted(), 1);
}

TEST(HttpClient, ManyConcurrentRequestsAllComplete) {
  FakeServer server([&](FakeConnection& c, int) {
    while (auto r = c.readRequest())
      respond(c, 200, r->target);
  });
  HttpClient client(fast());
  std::atomic<int> ok{0};
  std::atomic<int> finished{0};
  constexpr int kRequests = 50;
  for (int i = 0; i < kRequests; ++i) {
    client.send(req("GET", server.endpoint() + "/" + std::to_string(i)),
                [&, i](Result<HttpResponse> r) {
                  if (r && r->body == "/" + std::to_string(i)) ++ok;
                  ++finished;
                });
  }
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (finished < kRequests && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(5ms);
  EXPECT_EQ(ok.load(), kRequests);
}

/// An event loop on a thread of its own, under a ThreadLoop, as each of exo-proxy's threads runs.
class LoopThread {
public:
  LoopThread() : guard_(boost::asio::make_work_guard(ioc_)) {
    thread_ = std::thread([this] {
      const ThreadLoop calls_here(ioc_);
      ioc_.run();
    });
  }
  ~LoopThread() {
    guard_.reset();
    ioc_.stop();
    thread_.join();
  }
  LoopThread(const LoopThread&) = delete;
  LoopThread& operator=(const LoopThread&) = delete;
  template <typename Fn> void post(Fn fn) { boost::asio::post(ioc_, std::move(fn)); }
  std::thread::id id() const { return thread_.get_id(); }

private:
  boost::asio::io_context ioc_{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
  std::thread thread_;
};

TEST(HttpClient, RequestsSentFromALoopThreadRunOnThatThreadWithAPoolOfItsOwn) {
  FakeServer server([&](FakeConnection& c, int) {
    while (auto r = c.readRequest())
      respond(c, 200, r->target);
  });
  HttpClient client(fast());
  LoopThread loop;
  std::vector<std::thread::id> handled_on;
  std::vector<std::string> bodies;
  std::promise<void> finished;
  // Three requests, each sent from the previous one's handler, as a proxy's backend would.
  std::function<void(int)> next = [&](int i) {
    if (i == 3) return finished.set_value();
    client.send(req("GET", server.endpoint() + "/" + std::to_string(i)),
                [&, i](Result<HttpResponse> r) {
                  handled_on.push_back(std::this_thread::get_id());
                  bodies.push_back(r ? r->body : r.error().message);
                  next(i + 1);
                });
  };
  loop.post([&] { next(0); });
  ASSERT_EQ(finished.get_future().wait_for(30s), std::future_status::ready);
  EXPECT_EQ(bodies, (std::vector<std::string>{"/0", "/1", "/2"}));
  for (const std::thread::id& id : handled_on)
    EXPECT_EQ(id, loop.id()) << "handlers run on the sending thread's loop";
  EXPECT_EQ(client.connectionsOpened(), 1U) << "the loop keeps its connection alive";

  // A caller that blocks on that thread is served by the client's own thread instead of waiting
  // for the loop it blocks.
  std::promise<Result<HttpResponse>> blocking;
  loop.post([&] { blocking.set_value(client.sendAndWait(req("GET", server.endpoint() + "/b"))); });
  auto waited = blocking.get_future();
  ASSERT_EQ(waited.wait_for(30s), std::future_status::ready) << "sendAndWait on a loop thread hung";
  Result<HttpResponse> r = waited.get();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->body, "/b");
  EXPECT_EQ(client.connectionsOpened(), 2U) << "the client's own thread has a pool of its own";
  // From a thread without a loop, requests go to the client's thread and reuse its connection.
  ASSERT_TRUE(client.sendAndWait(req("GET", server.endpoint() + "/c")));
  EXPECT_EQ(client.connectionsOpened(), 2U);
}

TEST(HttpClient, ARequestOnALoopThreadOutlivingItsClientNeverCallsItsHandler) {
  FakeServer server([&](FakeConnection& c, int) {
    c.readRequest();
    c.readRequest(); // returns when the client side closes the connection
  });
  LoopThread loop;
  std::atomic<bool> handled{false};
  {
    HttpClientOptions o = fast();
    o.request_timeout = 200ms;
    o.retry.max_attempts = 1;
    HttpClient client(o);
    std::promise<void> sent;
    loop.post([&] {
      client.send(req("GET", server.endpoint() + "/never"),
                  [&](Result<HttpResponse>) { handled = true; });
      sent.set_value();
    });
    sent.get_future().wait();
  }
  // The request times out after its client is gone: it ends without a handler to call.
  std::this_thread::sleep_for(500ms);
  EXPECT_FALSE(handled.load());
}

TEST(HttpClient, AConnectionTheServerClosedWhileIdleIsReplacedSilently) {
  FakeServer server([&](FakeConnection& c, int) {
    // One request per connection, then the server closes without saying so.
    if (auto r = c.readRequest()) respond(c, 200, "ok");
  });
  HttpClient client(fast());
  for (int i = 0; i < 3; ++i) {
    auto r = client.sendAndWait(req("POST", server.endpoint() + "/", {}, "not idempotent"));
    ASSERT_TRUE(r) << "request " << i << ": " << r.error().message;
    EXPECT_EQ(r->status, 200);
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(server.accepted(), 3);
}

TEST(HttpClient, RefusedConnectionsAreUnavailable) {
  HttpClient client(fast());
  auto r = client.sendAndWait(req(
      "GET", "http://127.0.0.1:" + std::to_string(testsupport::unusedPort()) + "/", {}, "", true));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message.find("cannot connect"), std::string::npos) << r.error().message;
}

TEST(HttpClient, AServerThatNeverAnswersTimesOut) {
  FakeServer server([&](FakeConnection& c, int) {
    c.readRequest();
    std::this_thread::sleep_for(3s);
  });
  HttpClientOptions o = fast();
  o.request_timeout = 300ms;
  o.retry.max_attempts = 1;
  HttpClient client(o);
  auto r = client.sendAndWait(req("GET", server.endpoint() + "/slow"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message.find("timed out"), std::string::npos) << r.error().message;
}

TEST(HttpClient, IdempotentCallsAreRetriedOnThrottlingAndServerErrors) {
  std::atomic<int> served{0};
  FakeServer server([&](FakeConnection& c, int) {
    while (auto r = c.readRequest()) {
      const int n = ++served;
      respond(c, n == 1 ? 503 : n == 2 ? 429 : 200, "answer " + std::to_string(n));
    }
  });
  HttpClient client(fast());
  auto r = client.sendAndWait(req("GET", server.endpoint() + "/", {}, "", true));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->attempts, 3);
  EXPECT_EQ(served.load(), 3);

  served = 0;
  auto once = client.sendAndWait(req("POST", server.endpoint() + "/", {}, "x", false));
  ASSERT_TRUE(once);
  EXPECT_EQ(once->status, 503) << "a non-idempotent call is sent once";
  EXPECT_EQ(served.load(), 1);
}

TEST(HttpClient, RetriesStopAtTheLimitAndACustomRuleDecides) {
  std::atomic<int> served{0};
  FakeServer server([&](FakeConnection& c, int) {
    while (auto r = c.readRequest()) {
      ++served;
      respond(c, 400, R"({"__type":"ThrottlingException"})");
    }
  });
  HttpClientOptions o = fast();
  o.retry.max_attempts = 3;
  o.retry.retryable = [](const HttpResponse& r) {
    return r.body.find("ThrottlingException") != std::string::npos;
  };
  HttpClient client(o);
  auto r = client.sendAndWait(req("POST", server.endpoint() + "/", {}, "{}", true));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(r->attempts, 3);
  EXPECT_EQ(served.load(), 3);
}

TEST(HttpClient, BadUrlsAreInvalidArguments) {
  HttpClient client(fast());
  EXPECT_EQ(client.sendAndWait(req("GET", "ftp://x/")).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(client.sendAndWait(req("GET", "http:///nohost")).error().code,
            ErrorCode::kInvalidArgument);
}

// ---- TLS ------------------------------------------------------------------------------------

/// A self-signed certificate for `localhost` and openssl s_server answering GETs with it.
class TlsServer {
public:
  TlsServer() {
    std::string pattern = (fs::temp_directory_path() / "exo-tls-XXXXXX").string();
    dir_ = ::mkdtemp(pattern.data());
    const std::string make =
        fmt::format("cd '{}' && openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem "
                    "-out cert.pem -days 2 -subj /CN=localhost "
                    "-addext subjectAltName=DNS:localhost >/dev/null 2>&1",
                    dir_.string());
    if (std::system(make.c_str()) != 0) return;
    port_ = testsupport::unusedPort();
    pid_ = ::fork();
    if (pid_ == 0) {
      const std::string port = std::to_string(port_);
      ::chdir(dir_.c_str());
      ::freopen("/dev/null", "w", stdout);
      ::freopen("/dev/null", "w", stderr);
      ::execlp("openssl", "openssl", "s_server", "-accept", port.c_str(), "-cert", "cert.pem",
               "-key", "key.pem", "-www", "-quiet", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    // Ready when it accepts connections.
    for (int i = 0; i < 200; ++i) {
      HttpClientOptions o;
      o.verify_tls = false;
      o.retry.max_attempts = 1;
      if (HttpClient(o).sendAndWait(req("GET", url()))) return;
      std::this_thread::sleep_for(25ms);
    }
  }
  ~TlsServer() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
    fs::remove_all(dir_);
  }
  TlsServer(const TlsServer&) = delete;
  TlsServer& operator=(const TlsServer&) = delete;

  std::string url(const std::string& host = "localhost") const {
    return fmt::format("https://{}:{}/", host, port_);
  }
  std::string ca() const { return (dir_ / "cert.pem").string(); }

private:
  fs::path dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

TEST(HttpClient, TlsWithAVerifiedCertificate) {
  TlsServer server;
  HttpClientOptions o = fast();
  o.ca_file = server.ca();
  HttpClient client(o);
  auto r = client.sendAndWait(req("GET", server.url()));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 200);
}

TEST(HttpClient, TlsRefusesAnUntrustedCertificateOrAnotherHostsName) {
  TlsServer server;
  HttpClientOptions system_store = fast();
  system_store.retry.max_attempts = 1;
  HttpClient untrusted(system_store);
  auto r = untrusted.sendAndWait(req("GET", server.url()));
  ASSERT_FALSE(r) << "a self-signed certificate is not in the system store";
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message.find("certificate verify failed"), std::string::npos)
      << r.error().message;

  HttpClientOptions trusted = system_store;
  trusted.ca_file = server.ca();
  HttpClient wrong_name(trusted);
  auto by_ip = wrong_name.sendAndWait(req("GET", server.url("127.0.0.1")));
  ASSERT_FALSE(by_ip) << "the certificate names localhost, not 127.0.0.1";
  EXPECT_EQ(by_ip.error().code, ErrorCode::kUnavailable);
}

} // namespace
} // namespace exoflow::net
