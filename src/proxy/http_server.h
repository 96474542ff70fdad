#pragma once
// The HTTP/1.1 server of exo-proxy: one io_context per thread, each connection on one of them
// for its whole life, an acceptor with a connection limit, one session per connection
// (http_session.cc), and a graceful drain on SIGTERM/SIGINT. Boost.Asio and Beast stay inside
// http_listener.cc and http_session.cc.

#include <memory>

#include "backend/backend.h"
#include "common/error.h"
#include "proxy/config.h"
#include "proxy/http_types.h"

namespace exoflow::proxy {

struct ServerOptions {
  Limits limits;
  unsigned threads = 0; ///< 0: std::thread::hardware_concurrency()
  /// How long a drain waits for in-flight requests before closing what is left.
  std::chrono::milliseconds drain_timeout{30'000};
};

class HttpServer {
public:
  explicit HttpServer(ServerOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  /// Timers and deferred work on the server's event loop, for backends. Valid for the
  /// server's lifetime; its callbacks run once run() runs.
  backend::Scheduler& scheduler();

  /// Binds and listens on `address`; returns the address actually bound (the port chosen for
  /// port 0). kUnavailable when the address cannot be bound.
  Result<ListenAddress> listen(const ListenAddress& address);

  /// Also listens on `address` for peer proxies: HTTPS whose clients must present a
  /// certificate that chains to `tls.ca`; the server presents `tls.cert`. Its requests are
  /// marked RequestHead::from_peer. kUnavailable when the address cannot be bound,
  /// kInvalidArgument when the TLS files do not load.
  Result<ListenAddress> listenPeers(const ListenAddress& address, const TlsFiles& tls);

  /// Serves connections with `handler` on the threads until SIGTERM, SIGINT or stop(),
  /// then drains: stops accepting, closes idle connections, lets in-flight requests finish
  /// (at most drain_timeout), and returns. Call once, after listen().
  void run(Handler& handler);

  /// Starts the drain that SIGTERM starts; callable from any thread.
  void stop();

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace exoflow::proxy
