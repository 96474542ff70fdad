// Peer health and round-trip time with real exo-proxy processes: A reaches B and C over mutual
// TLS, B through a TCP relay that holds every chunk for a while (a far peer), C directly. A's
// status shows both peers with their health and round trips, a stopped peer goes down and comes
// back, a chain of two equal peers serves through the nearer one, and `exoflow status` prints
// all of it.

#include <atomic>
#include <csignal>
#include <fstream>
#include <memory>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <nlohmann/json.hpp>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/certs.h"
#include "proxy/proxy_process.h"
#include "support/fake_server.h"
#include "support/local_files.h"

namespace exoflow::proxy::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kPeerToken = "peer-token-rtt-0123456789";
/// How long the relay holds each chunk, each way: B's round trip is at least twice this.
constexpr auto kRelayDelay = 150ms;

using testsupport::freePort;
using testsupport::writeFile;

/// A TCP relay on 127.0.0.1 to `target_port` that holds every chunk `delay` before passing it
/// on, both ways: a peer that is far away. TLS passes through untouched.
class DelayRelay {
public:
  DelayRelay(int target_port, std::chrono::milliseconds delay)
      : target_port_(target_port), delay_(delay) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    const int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof addr;
    ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(listen_fd_, 64);
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &size);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { acceptLoop(); });
  }

  ~DelayRelay() {
    stop_ = true;
    acceptor_.join();
    for (std::thread& t : pumps_)
      t.join();
    for (const int fd : fds_)
      ::close(fd);
    ::close(listen_fd_);
  }

  DelayRelay(const DelayRelay&) = delete;
  DelayRelay& operator=(const DelayRelay&) = delete;

  int port() const { return port_; }

private:
  /// Waits up to 100 ms for `fd` to be readable; the loops check stop_ between waits.
  static bool readable(int fd) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, 100) > 0;
  }

  void acceptLoop() {
    while (!stop_) {
      if (!readable(listen_fd_)) continue;
      const int client = ::accept(listen_fd_, nullptr, nullptr);
      if (client < 0) continue;
      const int server = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      addr.sin_port = htons(static_cast<std::uint16_t>(target_port_));
      if (::connect(server, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(server);
        ::close(client);
        continue;
      }
      fds_.push_back(client);
      fds_.push_back(server);
      pumps_.emplace_back([this, client, server] { pump(client, server); });
      pumps_.emplace_back([this, client, server] { pump(server, client); });
    }
  }

  void pump(int from, int to) {
    char buffer[16384];
    while (!stop_) {
      if (!readable(from)) continue;
      const ssize_t n = ::read(from, buffer, sizeof buffer);
      if (n <= 0) break;
      std::this_thread::sleep_for(delay_);
      ssize_t sent = 0;
      while (sent < n) {
        const ssize_t w =
            ::send(to, buffer + sent, static_cast<std::size_t>(n - sent), MSG_NOSIGNAL);
        if (w <= 0) break;
        sent += w;
      }
      if (sent < n) break;
    }
    ::shutdown(to, SHUT_WR);
  }

  const int target_port_;
  const std::chrono::milliseconds delay_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread acceptor_;
  std::vector<std::thread> pumps_; ///< only the acceptor adds, only the destructor joins
  std::vector<int> fds_;
};

class PeerRttTest : public ::testing::Test {
protected:
  void SetUp() override {
    const fs::path certs = dir_.path() / "certs";
    fs::create_directories(certs);
    auto ca = net::makeCa("exoflow test CA");
    ASSERT_TRUE(ca);
    writeFile(certs / "ca.crt", ca->cert);
    for (const std::string name : {"a", "b", "c"}) {
      auto leaf = net::makeLeaf(*ca, name, {"localhost", name}, {"127.0.0.1"});
      ASSERT_TRUE(leaf) << leaf.error().message;
      writeFile(certs / (name + ".crt"), leaf->cert);
      writeFile(certs / (name + ".key"), leaf->key);
    }
    b_port_ = freePort();
    c_port_ = freePort();
    startSite("b", b_port_, b_);
    startSite("c", c_port_, c_);
    relay_ = std::make_unique<DelayRelay>(b_port_, kRelayDelay);
  }

  std::string tls(const std::string& name) const {
    const fs::path certs = dir_.path() / "certs";
    return fmt::format("tls: {{cert: {}, key: {}, ca: {}}}\n", (certs / (name + ".crt")).string(),
                       (certs / (name + ".key")).string(), (certs / "ca.crt").string());
  }

  /// A site that serves kv "sessions" on local.sqlite and listens for peers on `peer_port`.
  void startSite(const std::string& name, int peer_port, std::unique_ptr<ProxyProcess>& site) {
    site.reset();
    std::string config =
        fmt::format("listen: 127.0.0.1:0\n"
                    "token: ${{EXO_TEST_TOKEN}}\n"
                    "peer_listen: 127.0.0.1:{}\n"
                    "peer_token: {}\n"
                    "data_dir: {}\n",
                    peer_port, kPeerToken, (dir_.path() / (name + "-data")).string());
    config += tls(name);
    config += "bindings:\n  sessions: {kind: kv, backends: [{type: local.sqlite}]}\n";
    fs::create_directories(dir_.path() / name);
    site = std::make_unique<ProxyProcess>(dir_.path() / name, config);
    ASSERT_TRUE(site->started()) << site->errors();
  }

  /// A with kv "sessions" on the chain [peer site-b, peer site-c], both of priority 0; site-b is
  /// reached through the relay.
  void startA() {
    std::string config = "listen: 127.0.0.1:0\n"
                         "token: ${EXO_TEST_TOKEN}\n"
                         "limits: {backend_timeout: 8s}\n";
    config += tls("a");
    config += "bindings:\n"
              "  sessions:\n"
              "    kind: kv\n"
              "    backends: [{type: peer, peer: site-b}, {type: peer, peer: site-c}]\n";
    config += fmt::format("peers:\n"
                          "  site-b: {{url: \"https://127.0.0.1:{}\", cloud: local, token: {}}}\n"
                          "  site-c: {{url: \"https://127.0.0.1:{}\", cloud: local, token: {}, "
                          "priority: 0}}\n",
                          relay_->port(), kPeerToken, c_port_, kPeerToken);
    fs::create_directories(dir_.path() / "a");
    a_ = std::make_unique<ProxyProcess>(dir_.path() / "a", config);
    ASSERT_TRUE(a_->started()) << a_->errors();
  }

  json status() const {
    const HttpResponse r = a_->call("GET", "/v1/status");
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body, nullptr, false);
  }

  /// Polls A's status until `ready` holds (60 s at most, for a loaded machine); the last status.
  json waitForStatus(const std::function<bool(const json&)>& ready) const {
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    json s = status();
    while (!ready(s) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(100ms);
      s = status();
    }
    return s;
  }

  static bool measured(const json& peer) {
    return peer.value("healthy", json()) == json(true) && peer["rtt_ms"].is_number() &&
           peer["last_rtt_ms"].is_number();
  }

  /// Runs `exoflow <args>`; its exit code, and its stdout and stderr together in `out`.
  static int exoflow(const std::string& args, std::string* out) {
    return runCommand(fmt::format("'{}' {} 2>&1", EXOFLOW_BINARY, args), out);
  }

  std::string endpoint() const { return fmt::format("http://127.0.0.1:{}", a_->port()); }

  TempDir dir_;
  int b_port_ = 0;
  int c_port_ = 0;
  std::unique_ptr<ProxyProcess> b_;
  std::unique_ptr<ProxyProcess> c_;
  std::unique_ptr<DelayRelay> relay_;
  std::unique_ptr<ProxyProcess> a_; ///< stops first: it talks to the others
};

TEST_F(PeerRttTest, StatusShowsEachPeersHealthAndRoundTrip) {
  startA();
  const json s = waitForStatus([](const json& s) {
    return measured(s["peers"]["site-b"]) && measured(s["peers"]["site-c"]);
  });
  for (const char* name : {"site-b", "site-c"}) {
    const json& peer = s["peers"][name];
    ASSERT_TRUE(measured(peer)) << name << ": " << peer.dump();
    EXPECT_GT(peer["rtt_ms"].get<double>(), 0.0) << name;
    EXPECT_EQ(peer["priority"], 0);
    EXPECT_EQ(peer["cloud"], "local");
    EXPECT_TRUE(peer["last_error"].is_null()) << peer.dump();
  }
  // The relay holds each chunk both ways: B is measurably farther than C.
  EXPECT_GE(s["peers"]["site-b"]["last_rtt_ms"].get<double>(),
            2 * static_cast<double>(kRelayDelay.count()));

  const HttpResponse metrics = a_->call("GET", "/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("# TYPE exo_peer_up gauge"), std::string::npos);
  EXPECT_NE(metrics.body.find("# TYPE exo_peer_rtt_seconds gauge"), std::string::npos);
  EXPECT_NE(metrics.body.find("exo_peer_up{peer=\"site-c\"} 1"), std::string::npos) << metrics.body;
  EXPECT_NE(metrics.body.find("exo_peer_rtt_seconds{peer=\"site-b\"} 0."), std::string::npos)
      << metrics.body;
}

TEST_F(PeerRttTest, AStoppedPeerTurnsUnhealthyAndComesBack) {
  startA();
  json s = waitForStatus([](const json& s) { return measured(s["peers"]["site-c"]); });
  ASSERT_TRUE(measured(s["peers"]["site-c"])) << s.dump();

  ASSERT_EQ(c_->stop(SIGTERM), 0);
  s = waitForStatus([](const json& s) { return s["peers"]["site-c"]["healthy"] == json(false); });
  const json& down = s["peers"]["site-c"];
  ASSERT_EQ(down["healthy"], false) << down.dump();
  EXPECT_TRUE(down["last_error"].is_string()) << down.dump();
  EXPECT_TRUE(down["rtt_ms"].is_null()) << "a peer that is down has no current round trip";
  EXPECT_EQ(s["peers"]["site-b"]["healthy"], true) << "B is not affected";

  startSite("c", c_port_, c_);
  s = waitForStatus([](const json& s) { return measured(s["peers"]["site-c"]); });
  EXPECT_TRUE(measured(s["peers"]["site-c"])) << s.dump();
}

TEST_F(PeerRttTest, AChainOfEqualPeersServesThroughTheNearerOne) {
  startA();
  // In chain order B comes first; once both are measured, C is clearly nearer.
  const json s = waitForStatus(
      [](const json& s) { return s["bindings"]["sessions"]["active"] == "peer:site-c"; });
  const json& sessions = s["bindings"]["sessions"];
  ASSERT_EQ(sessions["active"], "peer:site-c") << s.dump(2);
  bool nearer = false;
  for (const json& f : sessions["failovers"]) {
    nearer = nearer || (f["from"] == "peer:site-b" && f["to"] == "peer:site-c" &&
                        f["reason"] == "nearer peer");
  }
  EXPECT_TRUE(nearer) << sessions.dump(2);

  const HttpResponse put = a_->call("PUT", "/v1/tables/sessions/items/u1", R"({"n": 1})");
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(put.header("x-exo-backend"), "peer:site-c");
  EXPECT_EQ(c_->call("GET", "/v1/tables/sessions/items/u1").status, 200);
  EXPECT_EQ(b_->call("GET", "/v1/tables/sessions/items/u1").status, 404)
      << "the far peer was not written";
}

TEST_F(PeerRttTest, ExoflowStatusPrintsBindingsAndPeers) {
  startA();
  waitForStatus([](const json& s) {
    return measured(s["peers"]["site-b"]) && measured(s["peers"]["site-c"]) &&
           s["bindings"]["sessions"]["active"] == "peer:site-c";
  });
  std::string out;
  ASSERT_EQ(exoflow(fmt::format("status --endpoint {} --token {}", endpoint(), kToken), &out), 0)
      << out;
  EXPECT_NE(out.find("proxy: local"), std::string::npos) << out;
  EXPECT_NE(out.find("sessions (kv): healthy, active peer:site-c"), std::string::npos) << out;
  EXPECT_NE(out.find("nearer peer"), std::string::npos) << out;
  EXPECT_NE(out.find("peers:"), std::string::npos) << out;
  for (const char* name : {"site-b", "site-c"}) {
    const auto line = out.find(fmt::format("\n  {} ", name));
    ASSERT_NE(line, std::string::npos) << out;
    const std::string text = out.substr(line + 1, out.find('\n', line + 1) - line - 1);
    EXPECT_NE(text.find("healthy"), std::string::npos) << text;
    EXPECT_NE(text.find(" ms (last "), std::string::npos) << text;
  }

  // The token from the environment, JSON out: the proxy's own answer.
  ASSERT_EQ(runCommand(fmt::format("EXO_ENDPOINT={} EXO_TOKEN={} '{}' status -o json", endpoint(),
                                   kToken, EXOFLOW_BINARY),
                       &out),
            0)
      << out;
  const json parsed = json::parse(out, nullptr, false);
  ASSERT_FALSE(parsed.is_discarded()) << out;
  EXPECT_EQ(parsed["bindings"]["sessions"]["kind"], "kv");
  EXPECT_EQ(parsed["peers"]["site-c"]["healthy"], true);
  EXPECT_TRUE(parsed["peers"]["site-b"]["rtt_ms"].is_number());
}

TEST_F(PeerRttTest, ExoflowStatusSaysWhatWentWrong) {
  startA();
  std::string out;
  // Nobody listens.
  EXPECT_EQ(
      exoflow(fmt::format("status --endpoint http://127.0.0.1:{} --token x", freePort()), &out), 2);
  EXPECT_NE(out.find("cannot reach the proxy at http://127.0.0.1:"), std::string::npos) << out;
  // A wrong token.
  EXPECT_EQ(exoflow(fmt::format("status --endpoint {} --token wrong", endpoint()), &out), 2);
  EXPECT_NE(out.find("refused the token (HTTP 401)"), std::string::npos) << out;
  // Something that is not a proxy answers.
  testsupport::FakeServer fake([](testsupport::FakeConnection& connection, int) {
    while (connection.readRequest())
      connection.respondJson("<html>hello</html>");
  });
  EXPECT_EQ(exoflow(fmt::format("status --endpoint {} --token x", fake.endpoint()), &out), 2);
  EXPECT_NE(out.find("is not an exo-proxy status (not JSON)"), std::string::npos) << out;
  // Usage.
  EXPECT_EQ(exoflow("status --endpoint ftp://example.com", &out), 2);
  EXPECT_NE(out.find("is not an http:// or https:// URL"), std::string::npos) << out;
  EXPECT_EQ(exoflow("status -o yaml", &out), 2) << out;
  EXPECT_EQ(exoflow("status --help", &out), 0);
  EXPECT_NE(out.find("--endpoint"), std::string::npos) << out;
}

TEST_F(PeerRttTest, ExoflowStatusExitsOneWhenABindingHasNoHealthyBackend) {
  startA();
  ASSERT_EQ(b_->stop(SIGTERM), 0);
  ASSERT_EQ(c_->stop(SIGTERM), 0);
  const json s =
      waitForStatus([](const json& s) { return s["bindings"]["sessions"]["healthy"] == false; });
  ASSERT_EQ(s["bindings"]["sessions"]["healthy"], false) << s.dump(2);
  std::string out;
  EXPECT_EQ(exoflow(fmt::format("status --endpoint {} --token {}", endpoint(), kToken), &out), 1)
      << out;
  EXPECT_NE(out.find("sessions (kv): UNHEALTHY"), std::string::npos) << out;
  EXPECT_NE(out.find("site-b"), std::string::npos) << out;
}

} // namespace
} // namespace exoflow::proxy::testing
