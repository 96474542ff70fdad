// The HttpServer: one io_context per thread, the acceptor with its connection limit, signals,
// and the drain. Sessions are in http_session.cc.
//
// Why one io_context per thread rather than one shared by a pool: a connection then lives on
// one thread from accept to close, so its handlers need no strand, and handing work from one
// handler to the next never wakes another thread (futex, epoll_ctl and an extra epoll_wait per
// step with a shared context, which doubled the latency of a small request). Connections are
// dealt round-robin; the cost is that a backend call that blocks (a local fsync) holds up only
// the connections of its own thread, which the other threads cannot take over.
#include <utility>

#include <csignal>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "net/http_client.h"
#include "proxy/asio_scheduler.h"
#include "proxy/http_server.h"
#include "proxy/http_session.h"

namespace exoflow::proxy {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using boost::system::error_code;

struct HttpServer::Impl {
  explicit Impl(ServerOptions opts) : options(opts) {}

  /// Accepts the next connection on `acceptor`; `tls` for the peer listener.
  void accept(tcp::acceptor& acceptor, net::ssl::context* tls);
  void onAccept(tcp::acceptor& acceptor, net::ssl::context* tls, error_code ec, tcp::socket socket);
  Result<ListenAddress> bind(tcp::acceptor& acceptor, const ListenAddress& address);
  void beginDrain();
  void sessionEnded(const void* session);
  template <typename Fn> void forEachSession(Fn fn);
  /// Stops every io_context; run() then returns.
  void stopAll();

  using WorkGuard = net::executor_work_guard<net::io_context::executor_type>;

  ServerOptions options;
  std::shared_ptr<ServerShared> shared = std::make_shared<ServerShared>();
  // Declared before the io_context: sessions destroyed with its pending handlers still
  // report their end here.
  std::mutex sessions_mutex;
  std::unordered_map<const void*, std::weak_ptr<Session>> sessions;
  std::atomic<bool> drain_started{false};
  std::atomic<bool> stopped{false};

  // The other threads' io_contexts, with guards that keep them running while they have no
  // connection. Before `context`, so that they outlive it: an accept still pending when the
  // server is destroyed holds a socket made on one of them. Sessions destroyed with them find
  // `stopped` set and post nothing.
  std::vector<std::unique_ptr<net::io_context>> workers;
  std::vector<WorkGuard> worker_guards;
  std::size_t next_context = 0; ///< round-robin over context and workers; acceptor strand only

  // The first thread's io_context: the acceptor, signals, the drain and the backends'
  // scheduler, and its share of the connections. Each context is run by one thread only.
  net::io_context context{1};
  AsioScheduler scheduler{context};
  net::strand<net::io_context::executor_type> strand = net::make_strand(context);
  tcp::acceptor acceptor{strand};
  tcp::acceptor peer_acceptor{strand}; ///< open with a peer listener
  std::optional<net::ssl::context> peer_tls;
  net::signal_set signals{context, SIGINT, SIGTERM};
  net::steady_timer drain_timer{strand};
  net::steady_timer retry_timer{strand};
};

template <typename Fn> void HttpServer::Impl::forEachSession(Fn fn) {
  std::vector<std::shared_ptr<Session>> live;
  {
    std::lock_guard lock(sessions_mutex);
    for (auto& [key, weak] : sessions) {
      if (auto session = weak.lock()) live.push_back(std::move(session));
    }
  }
  for (auto& session : live)
    fn(session);
}

void HttpServer::Impl::accept(tcp::acceptor& acceptor, net::ssl::context* tls) {
  // The new connection lives on the next thread's io_context for good.
  const std::size_t pick = next_context++ % (workers.size() + 1);
  net::io_context& target = pick == 0 ? context : *workers[pick - 1];
  acceptor.async_accept(target.get_executor(),
                        [this, &acceptor, tls](error_code ec, tcp::socket socket) {
                          onAccept(acceptor, tls, ec, std::move(socket));
                        });
}

void HttpServer::Impl::onAccept(tcp::acceptor& acceptor, net::ssl::context* tls, error_code ec,
                                tcp::socket socket) {
  if (!acceptor.is_open() || ec == net::error::operation_aborted) return;
  if (ec) {
    // Out of file descriptors and the like: wait a little instead of spinning.
    spdlog::warn("accept failed: {}", ec.message());
    retry_timer.expires_after(std::chrono::milliseconds(100));
    retry_timer.async_wait([this, &acceptor, tls](error_code wait_ec) {
      if (!wait_ec && acceptor.is_open()) accept(acceptor, tls);
    });
    return;
  }
  if (shared->draining.load() || shared->connections.load() >= options.limits.max_connections) {
    // Over the limit: close at once, so the client learns it now rather than after a timeout.
    error_code ignored;
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
  } else {
    shared->connections.fetch_add(1);
    auto session = std::make_shared<Session>(std::move(socket), shared, tls);
    {
      std::lock_guard lock(sessions_mutex);
      sessions.emplace(session.get(), session);
    }
    session->start();
  }
  accept(acceptor, tls);
}

void HttpServer::Impl::beginDrain() {
  if (drain_started.exchange(true)) return;
  shared->draining.store(true);
  net::post(strand, [this] {
    spdlog::info("draining: no new connections; finishing {} open ones",
                 shared->connections.load());
    error_code ignored;
    acceptor.close(ignored);
    peer_acceptor.close(ignored);
    signals.cancel(ignored);
    retry_timer.cancel();
    forEachSession([](const std::shared_ptr<Session>& session) {
      net::post(session->executor(), [session] { session->drain(); });
    });
    if (shared->connections.load() == 0) {
      stopAll();
      return;
    }
    drain_timer.expires_after(options.drain_timeout);
    drain_timer.async_wait([this](error_code ec) {
      if (ec) return;
      spdlog::warn("drain timed out; closing {} connections", shared->connections.load());
      forEachSession([](const std::shared_ptr<Session>& session) {
        net::post(session->executor(), [session] { session->forceClose(); });
      });
      stopAll();
    });
  });
}

void HttpServer::Impl::sessionEnded(const void* session) {
  {
    std::lock_guard lock(sessions_mutex);
    sessions.erase(session);
  }
  // Once stopped (also while the io_contexts are destroyed with the sessions left on them),
  // nothing may be posted any more.
  if (!stopped.load() && shared->draining.load() && shared->connections.load() == 0) {
    net::post(strand, [this] {
      drain_timer.cancel();
      stopAll();
    });
  }
}

void HttpServer::Impl::stopAll() {
  stopped.store(true);
  for (WorkGuard& guard : worker_guards)
    guard.reset();
  for (auto& worker : workers)
    worker->stop();
  context.stop();
}

HttpServer::HttpServer(ServerOptions options) : impl_(std::make_unique<Impl>(options)) {
  impl_->shared->limits = impl_->options.limits;
  Impl* impl = impl_.get();
  impl_->shared->on_session_end = [impl](const void* session) { impl->sessionEnded(session); };
}

HttpServer::~HttpServer() = default;

backend::Scheduler& HttpServer::scheduler() {
  return impl_->scheduler;
}

Result<ListenAddress> HttpServer::Impl::bind(tcp::acceptor& acceptor,
                                             const ListenAddress& address) {
  error_code ec;
  const net::ip::address ip = net::ip::make_address(address.host, ec);
  if (ec) {
    // A host name: resolve it once, now.
    tcp::resolver resolver(context);
    auto results = resolver.resolve(address.host, std::to_string(address.port), ec);
    if (ec || results.empty()) {
      return fail(ErrorCode::kUnavailable,
                  fmt::format("cannot resolve {}: {}", address.host, ec.message()));
    }
    return bind(acceptor,
                ListenAddress{results.begin()->endpoint().address().to_string(), address.port});
  }
  const tcp::endpoint endpoint(ip, static_cast<unsigned short>(address.port));
  auto failed = [&](std::string_view what) {
    error_code ignored;
    acceptor.close(ignored);
    return fail(ErrorCode::kUnavailable,
                fmt::format("cannot {} {}:{}: {}", what, address.host, address.port, ec.message()));
  };
  if (acceptor.open(endpoint.protocol(), ec)) return failed("open");
  if (acceptor.set_option(net::socket_base::reuse_address(true), ec)) return failed("configure");
  if (acceptor.bind(endpoint, ec)) return failed("bind");
  if (acceptor.listen(net::socket_base::max_listen_connections, ec)) return failed("listen on");
  const tcp::endpoint bound = acceptor.local_endpoint(ec);
  if (ec) return failed("inspect");
  return ListenAddress{bound.address().to_string(), bound.port()};
}

Result<ListenAddress> HttpServer::listen(const ListenAddress& address) {
  return impl_->bind(impl_->acceptor, address);
}

Result<ListenAddress> HttpServer::listenPeers(const ListenAddress& address, const TlsFiles& tls) {
  net::ssl::context& ctx = impl_->peer_tls.emplace(net::ssl::context::tls_server);
  ctx.set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                  net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 |
                  net::ssl::context::no_tlsv1_1);
  // Peers only: a client without a certificate from our CA fails the handshake.
  ctx.set_verify_mode(net::ssl::verify_peer | net::ssl::verify_fail_if_no_peer_cert);
  error_code ec;
  auto loaded = [&](std::string_view what, const std::filesystem::path& path) -> Result<void> {
    if (!ec) return {};
    impl_->peer_tls.reset();
    return fail(ErrorCode::kInvalidArgument, fmt::format("peer listener: cannot load the {} {}: {}",
                                                         what, path.string(), ec.message()));
  };
  ctx.load_verify_file(tls.ca.string(), ec);
  if (auto r = loaded("CA", tls.ca); !r) return tl::unexpected(r.error());
  ctx.use_certificate_chain_file(tls.cert.string(), ec);
  if (auto r = loaded("certificate", tls.cert); !r) return tl::unexpected(r.error());
  ctx.use_private_key_file(tls.key.string(), net::ssl::context::pem, ec);
  if (auto r = loaded("key", tls.key); !r) return tl::unexpected(r.error());
  auto bound = impl_->bind(impl_->peer_acceptor, address);
  if (!bound) impl_->peer_tls.reset();
  return bound;
}

void HttpServer::run(Handler& handler) {
  Impl& impl = *impl_;
  impl.shared->handler = &handler;
  impl.signals.async_wait([&impl](error_code ec, int signal) {
    if (ec) return;
    spdlog::info("received signal {}", signal);
    impl.beginDrain();
  });
  unsigned threads = impl.options.threads;
  if (threads == 0) threads = std::max(1U, std::thread::hardware_concurrency());
  for (unsigned i = 1; i < threads; ++i) {
    impl.workers.push_back(std::make_unique<net::io_context>(1));
    impl.worker_guards.push_back(net::make_work_guard(*impl.workers.back()));
  }
  net::post(impl.strand, [&impl] {
    impl.accept(impl.acceptor, nullptr);
    if (impl.peer_acceptor.is_open()) impl.accept(impl.peer_acceptor, &*impl.peer_tls);
  });
  std::vector<std::thread> pool;
  pool.reserve(threads - 1);
  // Each thread's backend calls run on its own loop (net::ThreadLoop): a request's call to a
  // cloud service and its answer never leave the thread that serves the request.
  for (auto& worker : impl.workers) {
    pool.emplace_back([context = worker.get()] {
      const exoflow::net::ThreadLoop calls_here(*context);
      context->run();
    });
  }
  {
    const exoflow::net::ThreadLoop calls_here(impl.context);
    impl.context.run();
  }
  for (std::thread& t : pool)
    t.join();
  spdlog::info("stopped");
}

void HttpServer::stop() {
  impl_->beginDrain();
}

} // namespace exoflow::proxy
