// The cloud HTTP client against scripted local servers: keep-alive reuse, a pooled connection
// the server closed, timeouts, refused connections, retries with back-off for idempotent calls
// only, and TLS with certificate and host name verification (openssl s_server with a
// certificate made by the test).
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

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
