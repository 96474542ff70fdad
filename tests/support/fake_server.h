#pragma once
// A tiny scripted HTTP/1.1 server on plain POSIX sockets, for the connection behaviours the real
// proxy cannot be made to show on demand: a server that closes idle connections, one that
// drops a request mid-way, one that never answers. Each accepted connection runs the handler
// on its own thread.

#include <atomic>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace exoflow::testsupport {

/// One request as the fake server read it.
struct FakeRequest {
  std::string method;
  std::string target;
  std::string head; ///< request line and headers, as received
  std::string body;
};

/// The server side of one connection.
class FakeConnection {
public:
  explicit FakeConnection(int fd) : fd_(fd) {}

  /// Reads one request (Content-Length bodies only); nullopt when the peer closed or on error.
  std::optional<FakeRequest> readRequest();
  /// Reads only a request's head, leaving any body unread.
  std::optional<FakeRequest> readHead();
  /// Reads exactly `size` bytes (a body after readHead()); nullopt when the peer closed.
  std::optional<std::string> readBody(std::size_t size);
  /// Writes `bytes` in full; false on error.
  bool write(const std::string& bytes);
  /// Sends a 200 with a JSON body (keep-alive).
  bool respondJson(const std::string& json, int status = 200);
  /// Closes the connection now.
  void close();

private:
  int fd_;
  std::string pending_;
};

/// A listening server on 127.0.0.1 with an ephemeral port.
class FakeServer {
public:
  /// `handler(connection, index)` serves the index-th accepted connection (0-based).
  using Handler = std::function<void(FakeConnection& connection, int index)>;

  explicit FakeServer(Handler handler);
  ~FakeServer();
  FakeServer(const FakeServer&) = delete;
  FakeServer& operator=(const FakeServer&) = delete;

  /// `http://127.0.0.1:<port>`.
  std::string endpoint() const;
  /// Connections accepted so far.
  int accepted() const { return accepted_; }
  /// Connections whose handler has returned (and whose socket is closed).
  int finished() const { return finished_; }

private:
  void acceptLoop();

  Handler handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> accepted_{0};
  std::atomic<int> finished_{0};
  std::mutex mutex_;
  std::vector<int> open_fds_;
  std::vector<std::thread> threads_;
  std::thread acceptor_;
};

/// A port on 127.0.0.1 where nothing listens (bound, then closed).
int unusedPort();

/// The canonical keep-alive answer to /healthz.
std::string healthyResponse();

} // namespace exoflow::testsupport
