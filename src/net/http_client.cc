// The one translation unit of the cloud HTTP client that includes Asio, Beast and OpenSSL.
// Every request runs as a C++20 coroutine on one event loop: the client's own I/O thread's, or,
// when the sending thread runs an io_context of its own under a ThreadLoop, that one. Each loop
// keeps its own pool of idle connections and is run by one thread, so the pools need no lock.

#include "net/http_client.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <deque>
#include <map>
#include <optional>
#include <random>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <fmt/format.h>

namespace exoflow::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
template <typename T> using Awaitable = asio::awaitable<T>;
using Clock = std::chrono::steady_clock;

/// Idle connections older than this are dropped rather than reused: servers commonly close
/// keep-alive connections after 60 s, and a request on a half-closed one is wasted.
constexpr auto kMaxIdle = std::chrono::seconds(50);
constexpr std::uint32_t kHeaderLimit = 64 * 1024;
constexpr std::string_view kCrLf = "\r\n";
constexpr std::string_view kLastChunk = "0\r\n\r\n";

struct Endpoint {
  bool tls = false;
  std::string host;
  std::string port;
  std::string target;
  std::string key() const { return fmt::format("{}://{}:{}", tls ? "https" : "http", host, port); }
};

Result<Endpoint> parseUrl(std::string_view url) {
  Endpoint out;
  if (url.starts_with("https://")) {
    out.tls = true;
    url.remove_prefix(8);
  } else if (url.starts_with("http://")) {
    url.remove_prefix(7);
  } else {
    return fail(ErrorCode::kInvalidArgument, fmt::format("'{}' is not an http(s) URL", url));
  }
  const std::size_t slash = url.find_first_of("/?");
  std::string_view authority = url.substr(0, slash);
  out.target = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
  if (out.target.front() == '?') out.target.insert(0, "/");
  if (authority.starts_with('[')) {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return fail(ErrorCode::kInvalidArgument, "bad host");
    out.host = std::string(authority.substr(1, close - 1));
    authority.remove_prefix(close + 1);
    if (authority.starts_with(':')) out.port = std::string(authority.substr(1));
  } else {
    const std::size_t colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) out.port = std::string(authority.substr(colon + 1));
  }
  if (out.host.empty()) {
    return fail(ErrorCode::kInvalidArgument, fmt::format("no host in '{}'", url));
  }
  if (out.port.empty()) out.port = out.tls ? "443" : "80";
  return out;
}

std::string hostHeader(const Endpoint& endpoint) {
  const bool default_port = endpoint.port == (endpoint.tls ? "443" : "80");
  const bool ipv6 = endpoint.host.find(':') != std::string::npos;
  const std::string host = ipv6 ? "[" + endpoint.host + "]" : endpoint.host;
  return default_port ? host : host + ":" + endpoint.port;
}

/// One connection, plain or TLS.
struct Connection {
  explicit Connection(asio::io_context& ioc) : plain(ioc) {}
  Connection(asio::io_context& ioc, ssl::context& ctx) : plain(ioc), tls(std::in_place, ioc, ctx) {}

  beast::tcp_stream& lowest() { return tls ? beast::get_lowest_layer(*tls) : plain; }

  beast::tcp_stream plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;
  Clock::time_point idle_since;
};

/// An attempt's outcome: a response, or an error and whether the connection was found dead
/// before it carried anything (a pooled connection the server had closed: safe to resend).
struct Attempt {
  Result<HttpResponse> result = fail(ErrorCode::kUnavailable, "not sent");
  bool stale = false;
  bool keep_alive = false; ///< the connection may carry another request
};

// ASCII only (std::tolower asks the locale, per character): header names are ASCII.
std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    c = c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  return out;
}

/// A parsed response as the client hands it out: header names lower-cased, the body moved.
HttpResponse toResponse(http::response<http::string_body>&& message) {
  HttpResponse out;
  out.status = static_cast<int>(message.result_int());
  for (const auto& field : message)
    out.headers.emplace_back(
        lower(std::string_view(field.name_string().data(), field.name_string().size())),
        std::string(field.value()));
  out.body = std::move(message.body());
  return out;
}

bool defaultRetryable(const HttpResponse& r) {
  return r.status == 429 || r.status == 500 || r.status == 502 || r.status == 503 ||
         r.status == 504;
}

} // namespace

std::string HttpResponse::header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return value;
  }
  return "";
}

namespace {

/// One streamed upload: its connection, owned jointly by the HttpUpload and the coroutine that
/// currently writes on it.
struct UploadState {
  Endpoint endpoint;
  std::unique_ptr<Connection> connection;
  bool chunked = false;
  bool ended = false;  ///< finished or aborted
  std::string framing; ///< a chunk's size line, kept alive while it is written
};

/// What every loop of one client reads: its options, TLS context and counters.
struct Shared {
  explicit Shared(HttpClientOptions o)
      : options(std::move(o)), ssl_ctx(ssl::context::tls_client), id(next_id.fetch_add(1)) {
    ssl_ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                        ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    if (options.verify_tls) {
      ssl_ctx.set_verify_mode(ssl::verify_peer);
      beast::error_code ec;
      if (options.ca_file.empty()) {
        ssl_ctx.set_default_verify_paths(ec);
      } else {
        ssl_ctx.load_verify_file(options.ca_file, ec);
      }
      if (ec) tls_error = fmt::format("cannot load CA certificates: {}", ec.message());
    } else {
      ssl_ctx.set_verify_mode(ssl::verify_none);
    }
    if (!options.cert_file.empty() || !options.key_file.empty()) loadClientCertificate();
    if (!options.retry.retryable) options.retry.retryable = defaultRetryable;
  }

  void loadClientCertificate() {
    beast::error_code ec;
    ssl_ctx.use_certificate_chain_file(options.cert_file, ec);
    if (!ec) ssl_ctx.use_private_key_file(options.key_file, ssl::context::pem, ec);
    if (ec) {
      tls_error = fmt::format("cannot load the client certificate {} and key {}: {}",
                              options.cert_file, options.key_file, ec.message());
    }
  }

  HttpClientOptions options;
  ssl::context ssl_ctx;
  std::string tls_error; ///< why TLS connections cannot be made (a file that did not load)
  std::atomic<std::size_t> opened{0};
  /// Set when the client is destroyed: requests still running on other threads' loops end
  /// without calling their handlers, as those on the client's own thread do.
  std::atomic<bool> closed{false};
  /// Names the client in the loops of threads, never reused (an address could be).
  const std::uint64_t id;
  static inline std::atomic<std::uint64_t> next_id{1};
};

/// One event loop's share of a client: its idle connections and the requests running on it.
/// Only the thread that runs `ioc` touches it after creation.
struct Loop : std::enable_shared_from_this<Loop> {
  Loop(asio::io_context& context, std::shared_ptr<Shared> s)
      : ioc(context), shared(std::move(s)), options(shared->options), rng(std::random_device{}()) {}

  /// Runs `request` on `self`'s loop; `self` keeps the loop alive while it runs.
  static Awaitable<void> start(std::shared_ptr<Loop> self, HttpRequest request,
                               ResponseHandler done) {
    co_await self->run(std::move(request), std::move(done));
  }

  std::unique_ptr<Connection> takeIdle(const std::string& key) {
    auto& list = idle[key];
    while (!list.empty()) {
      std::unique_ptr<Connection> c = std::move(list.back());
      list.pop_back();
      if (Clock::now() - c->idle_since < kMaxIdle) return c;
    }
    return nullptr;
  }

  void putIdle(const std::string& key, std::unique_ptr<Connection> c) {
    auto& list = idle[key];
    if (list.size() >= options.max_idle_per_endpoint) return;
    c->idle_since = Clock::now();
    list.push_back(std::move(c));
  }

  Awaitable<Result<std::unique_ptr<Connection>>> connect(const Endpoint& endpoint) {
    beast::error_code ec;
    const std::string where = fmt::format("{}:{}", endpoint.host, endpoint.port);
    // An address needs no resolver: getaddrinfo() would still ask the kernel for the
    // machine's interfaces (AI_ADDRCONFIG) on every new connection.
    std::vector<tcp::endpoint> targets;
    const asio::ip::address literal = asio::ip::make_address(endpoint.host, ec);
    unsigned short port = 0;
    const auto [end, parsed] =
        std::from_chars(endpoint.port.data(), endpoint.port.data() + endpoint.port.size(), port);
    if (!ec && parsed == std::errc() && end == endpoint.port.data() + endpoint.port.size()) {
      targets.emplace_back(literal, port);
    } else {
      ec = {};
      tcp::resolver resolver(ioc);
      const auto results = co_await resolver.async_resolve(
          endpoint.host, endpoint.port, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        co_return fail(ErrorCode::kUnavailable,
                       fmt::format("cannot resolve {}: {}", endpoint.host, ec.message()));
      }
      for (const auto& result : results)
        targets.push_back(result.endpoint());
    }
    if (endpoint.tls && !shared->tls_error.empty()) {
      co_return fail(ErrorCode::kUnavailable, shared->tls_error);
    }
    auto c = endpoint.tls ? std::make_unique<Connection>(ioc, shared->ssl_ctx)
                          : std::make_unique<Connection>(ioc);
    c->lowest().expires_after(options.connect_timeout);
    co_await c->lowest().async_connect(targets, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      co_return fail(ErrorCode::kUnavailable,
                     fmt::format("cannot connect to {}: {}", where,
                                 ec == beast::error::timeout ? "timed out" : ec.message()));
    }
    c->lowest().socket().set_option(tcp::no_delay(true), ec);
    ++shared->opened;
    if (c->tls) {
      // SNI, and the certificate must name the host we asked for.
      if (SSL_set_tlsext_host_name(c->tls->native_handle(), endpoint.host.c_str()) != 1) {
        co_return fail(ErrorCode::kUnavailable, "cannot set the TLS server name");
      }
      if (options.verify_tls) {
        c->tls->set_verify_callback(ssl::host_name_verification(endpoint.host));
      }
      c->lowest().expires_after(options.connect_timeout);
      co_await c->tls->async_handshake(ssl::stream_base::client,
                                       asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        co_return fail(ErrorCode::kUnavailable,
                       fmt::format("TLS handshake with {} failed: {}", where, ec.message()));
      }
    }
    co_return c;
  }

  template <typename Stream>
  Awaitable<Attempt> exchange(Stream& stream, Connection& c, const Endpoint& endpoint,
                              const HttpRequest& request, bool reused,
                              std::chrono::milliseconds timeout) {
    http::request<http::string_body> req;
    req.method_string(request.method);
    req.target(endpoint.target);
    req.version(11);
    for (const auto& [name, value] : request.headers)
      req.insert(name, value);
    // A signed request carries the Host it signed; otherwise the URL's.
    if (req.find(http::field::host) == req.end()) req.set(http::field::host, hostHeader(endpoint));
    req.body() = request.body;
    if (!request.body.empty() || request.method == "PUT" || request.method == "POST") {
      req.prepare_payload();
    }
    req.keep_alive(true);

    beast::error_code ec;
    c.lowest().expires_after(timeout);
    co_await http::async_write(stream, req, asio::redirect_error(asio::use_awaitable, ec));
    const std::string where = fmt::format("{}:{}", endpoint.host, endpoint.port);
    if (ec) {
      co_return Attempt{
          fail(ErrorCode::kUnavailable, fmt::format("sending to {}: {}", where, ec.message())),
          reused, false};
    }
    http::response_parser<http::string_body> parser;
    parser.header_limit(kHeaderLimit);
    parser.body_limit(options.max_response_body);
    if (request.method == "HEAD") parser.skip(true);
    const std::size_t read = co_await http::async_read(
        stream, c.buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      const bool nothing =
          read == 0 && (ec == http::error::end_of_stream || ec == asio::error::eof ||
                        ec == asio::error::connection_reset || ec == ssl::error::stream_truncated);
      co_return Attempt{fail(ErrorCode::kUnavailable,
                             fmt::format("reading from {}: {}", where,
                                         ec == beast::error::timeout ? "timed out" : ec.message())),
                        reused && nothing, false};
    }
    auto& message = parser.get();
    const bool keep_alive = message.keep_alive();
    c.lowest().expires_never();
    co_return Attempt{toResponse(std::move(message)), false, keep_alive};
  }

  Awaitable<Attempt> attemptOnce(const Endpoint& endpoint, const HttpRequest& request,
                                 std::chrono::milliseconds timeout) {
    for (int fresh = 0; fresh < 2; ++fresh) {
      std::unique_ptr<Connection> c = fresh == 0 ? takeIdle(endpoint.key()) : nullptr;
      const bool reused = c != nullptr;
      if (!c) {
        auto connected = co_await connect(endpoint);
        if (!connected) co_return Attempt{tl::unexpected(connected.error()), false, false};
        c = std::move(*connected);
      }
      // Two statements, not ?: with co_await in both arms (which g++ 12 miscompiles).
      Attempt a;
      if (c->tls) {
        a = co_await exchange(*c->tls, *c, endpoint, request, reused, timeout);
      } else {
        a = co_await exchange(c->plain, *c, endpoint, request, reused, timeout);
      }
      if (a.stale) continue; // the server had closed it while idle: once more, on a new one
      if (a.result && a.keep_alive) putIdle(endpoint.key(), std::move(c));
      co_return a;
    }
    co_return Attempt{fail(ErrorCode::kUnavailable, "connection closed by the server"), false,
                      false};
  }

  std::chrono::milliseconds backoff(int attempt) {
    const auto cap = std::min<std::int64_t>(options.retry.max_delay.count(),
                                            options.retry.base_delay.count() << (attempt - 1));
    std::uniform_int_distribution<std::int64_t> jitter(0, std::max<std::int64_t>(cap, 0));
    return std::chrono::milliseconds(jitter(rng));
  }

  Awaitable<void> run(HttpRequest request, ResponseHandler done) {
    auto endpoint = parseUrl(request.url);
    if (!endpoint) {
      done(tl::unexpected(endpoint.error()));
      co_return;
    }
    Result<HttpResponse> result = fail(ErrorCode::kUnavailable, "not sent");
    using Clock = std::chrono::steady_clock;
    const std::chrono::milliseconds per_attempt = options.request_timeout + request.extra_time;
    const std::optional<Clock::time_point> deadline =
        options.deadline.count() > 0
            ? std::optional(Clock::now() + options.deadline + request.extra_time)
            : std::nullopt;
    const auto left = [&deadline] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - Clock::now());
    };
    int attempt = 1;
    for (;; ++attempt) {
      const std::chrono::milliseconds timeout =
          deadline ? std::clamp(left(), std::chrono::milliseconds(1), per_attempt) : per_attempt;
      Attempt a = co_await attemptOnce(*endpoint, request, timeout);
      result = std::move(a.result);
      bool retry = request.idempotent && attempt < options.retry.max_attempts &&
                   (result ? options.retry.retryable(*result)
                           : result.error().code == ErrorCode::kUnavailable);
      const std::chrono::milliseconds pause =
          retry ? backoff(attempt) : std::chrono::milliseconds(0);
      if (retry && deadline && left() <= pause) retry = false; // no time for another attempt
      if (!retry) break;
      asio::steady_timer timer(ioc, pause);
      beast::error_code ec;
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    if (result) result->attempts = attempt;
    if (!shared->closed.load()) done(std::move(result));
  }

  /// Writes raw bytes on a connection, plain or TLS.
  Awaitable<Result<void>> writeRaw(Connection& c, std::vector<asio::const_buffer> buffers,
                                   const std::string& where) {
    beast::error_code ec;
    c.lowest().expires_after(options.request_timeout);
    if (c.tls) {
      co_await asio::async_write(*c.tls, buffers, asio::redirect_error(asio::use_awaitable, ec));
    } else {
      co_await asio::async_write(c.plain, buffers, asio::redirect_error(asio::use_awaitable, ec));
    }
    if (ec) {
      co_return fail(ErrorCode::kUnavailable,
                     fmt::format("sending to {}: {}", where,
                                 ec == beast::error::timeout ? "timed out" : ec.message()));
    }
    co_return Result<void>{};
  }

  Awaitable<void> startUpload(std::weak_ptr<void> alive, HttpRequest request,
                              std::optional<std::uint64_t> content_length,
                              std::function<void(Result<std::unique_ptr<HttpUpload>>)> done);
  Awaitable<void> writePiece(std::shared_ptr<UploadState> state, std::string piece,
                             std::function<void(Result<void>)> done);
  Awaitable<void> finishUpload(std::shared_ptr<UploadState> state,
                               std::function<void(Result<HttpResponse>)> done);

  asio::io_context& ioc;
  std::shared_ptr<Shared> shared;
  const HttpClientOptions& options;
  std::mt19937_64 rng;
  std::map<std::string, std::vector<std::unique_ptr<Connection>>> idle;
};

class Upload final : public HttpUpload {
public:
  Upload(std::shared_ptr<Loop> loop, std::weak_ptr<void> alive, std::shared_ptr<UploadState> state)
      : loop_(std::move(loop)), alive_(std::move(alive)), state_(std::move(state)) {}
  ~Upload() override { abort(); }
  Upload(const Upload&) = delete;
  Upload& operator=(const Upload&) = delete;

  void write(std::string piece, std::function<void(Result<void>)> done) override {
    asio::co_spawn(loop_->ioc, loop_->writePiece(state_, std::move(piece), std::move(done)),
                   asio::detached);
  }
  void finish(std::function<void(Result<HttpResponse>)> done) override {
    finished_ = true;
    asio::co_spawn(loop_->ioc, loop_->finishUpload(state_, std::move(done)), asio::detached);
  }
  void abort() override {
    // A client already gone (an upload dropped at exit, after the backends) has closed it.
    if (finished_ || alive_.expired()) return;
    finished_ = true;
    // Closing the socket ends a write in progress; the state lives on in its coroutine.
    asio::post(loop_->ioc, [state = state_] {
      state->ended = true;
      beast::error_code ignored;
      state->connection->lowest().socket().close(ignored);
    });
  }

private:
  std::shared_ptr<Loop> loop_;
  std::weak_ptr<void> alive_;
  std::shared_ptr<UploadState> state_;
  bool finished_ = false;
};

Awaitable<void> Loop::startUpload(std::weak_ptr<void> alive, HttpRequest request,
                                  std::optional<std::uint64_t> content_length,
                                  std::function<void(Result<std::unique_ptr<HttpUpload>>)> done) {
  auto endpoint = parseUrl(request.url);
  if (!endpoint) {
    done(tl::unexpected(endpoint.error()));
    co_return;
  }
  auto connected = co_await connect(*endpoint);
  if (!connected) {
    done(tl::unexpected(connected.error()));
    co_return;
  }
  auto state = std::make_shared<UploadState>();
  state->endpoint = *endpoint;
  state->connection = std::move(*connected);
  state->chunked = !content_length;
  http::request<http::empty_body> req;
  req.method_string(request.method);
  req.target(endpoint->target);
  req.version(11);
  for (const auto& [name, value] : request.headers)
    req.insert(name, value);
  if (req.find(http::field::host) == req.end()) req.set(http::field::host, hostHeader(*endpoint));
  if (content_length) {
    req.content_length(*content_length);
  } else {
    req.chunked(true);
  }
  req.keep_alive(true);
  http::request_serializer<http::empty_body> serializer(req);
  beast::error_code ec;
  Connection& c = *state->connection;
  c.lowest().expires_after(options.request_timeout);
  if (c.tls) {
    co_await http::async_write_header(*c.tls, serializer,
                                      asio::redirect_error(asio::use_awaitable, ec));
  } else {
    co_await http::async_write_header(c.plain, serializer,
                                      asio::redirect_error(asio::use_awaitable, ec));
  }
  if (ec) {
    done(fail(ErrorCode::kUnavailable,
              fmt::format("sending to {}:{}: {}", endpoint->host, endpoint->port, ec.message())));
    co_return;
  }
  // The upload keeps this loop (and its io_context's user, the client) referenced while it lives.
  std::shared_ptr<Loop> self(shared_from_this());
  done(std::make_unique<Upload>(std::move(self), std::move(alive), std::move(state)));
}

Awaitable<void> Loop::writePiece(std::shared_ptr<UploadState> state, std::string piece,
                                 std::function<void(Result<void>)> done) {
  if (state->ended) {
    done(fail(ErrorCode::kUnavailable, "the upload has ended"));
    co_return;
  }
  if (piece.empty()) { // an empty chunk would end a chunked body
    done(Result<void>{});
    co_return;
  }
  std::vector<asio::const_buffer> buffers;
  if (state->chunked) {
    state->framing = fmt::format("{:x}\r\n", piece.size());
    buffers = {asio::buffer(state->framing), asio::buffer(piece),
               asio::buffer(kCrLf.data(), kCrLf.size())};
  } else {
    buffers = {asio::buffer(piece)};
  }
  const std::string where = fmt::format("{}:{}", state->endpoint.host, state->endpoint.port);
  Result<void> written = co_await writeRaw(*state->connection, std::move(buffers), where);
  if (!written) state->ended = true;
  done(std::move(written));
}

Awaitable<void> Loop::finishUpload(std::shared_ptr<UploadState> state,
                                   std::function<void(Result<HttpResponse>)> done) {
  if (state->ended) {
    done(fail(ErrorCode::kUnavailable, "the upload has ended"));
    co_return;
  }
  state->ended = true;
  const std::string where = fmt::format("{}:{}", state->endpoint.host, state->endpoint.port);
  Connection& c = *state->connection;
  if (state->chunked) {
    std::vector<asio::const_buffer> end{asio::buffer(kLastChunk.data(), kLastChunk.size())};
    Result<void> last = co_await writeRaw(c, std::move(end), where);
    if (!last) {
      done(tl::unexpected(last.error()));
      co_return;
    }
  }
  http::response_parser<http::string_body> parser;
  parser.header_limit(kHeaderLimit);
  parser.body_limit(options.max_response_body);
  beast::error_code ec;
  c.lowest().expires_after(options.request_timeout);
  if (c.tls) {
    co_await http::async_read(*c.tls, c.buffer, parser,
                              asio::redirect_error(asio::use_awaitable, ec));
  } else {
    co_await http::async_read(c.plain, c.buffer, parser,
                              asio::redirect_error(asio::use_awaitable, ec));
  }
  if (ec) {
    done(fail(ErrorCode::kUnavailable,
              fmt::format("reading from {}: {}", where,
                          ec == beast::error::timeout ? "timed out" : ec.message())));
    co_return;
  }
  done(toResponse(parser.release()));
}

} // namespace

/// The loops of the clients that requests were sent to from this thread, by client id.
struct ThreadLoop::State {
  asio::io_context* ioc = nullptr;
  std::map<std::uint64_t, std::shared_ptr<Loop>> loops;
};

namespace {
thread_local ThreadLoop::State* current_loop = nullptr;
} // namespace

ThreadLoop::ThreadLoop(boost::asio::io_context& ioc)
    : state_(std::make_unique<State>()), previous_(current_loop) {
  state_->ioc = &ioc;
  current_loop = state_.get();
}

// Idle connections go now, while the io_context they were made on still exists; requests still
// pending on it keep their loop alive until the io_context drops them.
ThreadLoop::~ThreadLoop() {
  current_loop = previous_;
  for (auto& [id, loop] : state_->loops)
    loop->idle.clear();
}

ThreadLoop::Suspend::Suspend() : saved_(current_loop) {
  current_loop = nullptr;
}

ThreadLoop::Suspend::~Suspend() {
  current_loop = saved_;
}

struct HttpClient::Impl {
  explicit Impl(HttpClientOptions o)
      : shared(std::make_shared<Shared>(std::move(o))), work(asio::make_work_guard(ioc)),
        own(std::make_shared<Loop>(ioc, shared)) {
    thread = std::thread([this] { ioc.run(); });
  }

  ~Impl() {
    shared->closed = true;
    work.reset();
    ioc.stop();
    thread.join();
    own->idle.clear(); // before the io_context they were made on
  }

  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  /// The loop a request sent from this thread runs on.
  std::shared_ptr<Loop> loopHere() {
    if (current_loop == nullptr) return own;
    std::shared_ptr<Loop>& loop = current_loop->loops[shared->id];
    if (!loop) loop = std::make_shared<Loop>(*current_loop->ioc, shared);
    return loop;
  }

  std::shared_ptr<Shared> shared;
  asio::io_context ioc;
  asio::executor_work_guard<asio::io_context::executor_type> work;
  std::shared_ptr<Loop> own;
  /// Expires with the client: uploads outliving it then touch nothing.
  std::shared_ptr<void> alive = std::make_shared<int>(0);
  std::thread thread;
};

std::string hostHeader(std::string_view url) {
  auto endpoint = parseUrl(url);
  return endpoint ? hostHeader(*endpoint) : std::string();
}

HttpClient::HttpClient(HttpClientOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

HttpClient::~HttpClient() = default;

void HttpClient::send(HttpRequest request, ResponseHandler done) {
  std::shared_ptr<Loop> loop = impl_->loopHere();
  asio::io_context& ioc = loop->ioc;
  asio::co_spawn(ioc, Loop::start(std::move(loop), std::move(request), std::move(done)),
                 asio::detached);
}

void HttpClient::upload(HttpRequest request, std::optional<std::uint64_t> content_length,
                        std::function<void(Result<std::unique_ptr<HttpUpload>>)> done) {
  asio::co_spawn(
      impl_->ioc,
      impl_->own->startUpload(impl_->alive, std::move(request), content_length, std::move(done)),
      asio::detached);
}

Result<HttpResponse> HttpClient::sendAndWait(HttpRequest request) {
  return waitFor<HttpResponse>(
      [&](ResponseHandler done) { send(std::move(request), std::move(done)); });
}

std::size_t HttpClient::connectionsOpened() const {
  return impl_->shared->opened.load();
}

} // namespace exoflow::net
