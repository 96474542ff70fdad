// The one translation unit of libexoclient that includes Boost.Asio and Boost.Beast.
//
// Each blocking step (connect, write, read) is an asynchronous Beast operation run to
// completion on the connection's own io_context, because only the asynchronous operations of
// beast::tcp_stream honour its timeouts.

#include "client/http_transport.h"

#include <utility>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <limits>
#include <mutex>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <poll.h>

namespace exoflow::client::detail {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Millis = std::chrono::milliseconds;

constexpr std::size_t kChunkSize = std::size_t{256} * 1024;
constexpr std::size_t kReadBufferSize = std::size_t{64} * 1024;
// Bodies at least this large (or of unknown size) ask for `100 Continue` first, so a server
// that refuses them (401, 413) answers before megabytes are sent.
constexpr std::uint64_t kExpectContinueThreshold = std::uint64_t{1024} * 1024;
// How long to wait for `100 Continue` before sending the body anyway (RFC 9110 allows it).
constexpr int kExpectContinueWaitMs = 1000;
// How long to look for an early answer after the server stopped reading a body.
constexpr Millis kEarlyAnswerWait{2000};
constexpr std::uint32_t kHeaderLimit = 64 * 1024;

// One TCP connection with its own io_context; one thread uses it at a time.
class Connection {
public:
  // Beast sizes each socket read by the free room of the read buffer: with room reserved up
  // front, a large body arrives in 64 KiB reads rather than 512-byte ones.
  Connection() : stream_(ioc_), scratch_(kChunkSize) { buffer_.reserve(kReadBufferSize); }

  beast::tcp_stream& stream() { return stream_; }
  beast::flat_buffer& buffer() { return buffer_; }
  // Body pieces on their way in or out; on the heap, as callers' threads may have small stacks.
  std::vector<char>& scratch() { return scratch_; }
  asio::io_context& ioc() { return ioc_; }

  // Runs the operation `start(handler)` begins until its handler ran, within `timeout`.
  template <typename Start>
  beast::error_code run(Millis timeout, Start&& start, std::size_t* transferred = nullptr) {
    beast::error_code result;
    std::size_t bytes = 0;
    stream_.expires_after(timeout);
    start([&result, &bytes](beast::error_code ec, std::size_t n) {
      result = ec;
      bytes = n;
    });
    ioc_.restart();
    ioc_.run();
    stream_.expires_never();
    if (transferred != nullptr) *transferred = bytes;
    return result;
  }

  // True when the socket has something to read or an error: on an idle keep-alive connection
  // that means the server closed it (or sent something nobody asked for).
  bool looksClosed() {
    if (buffer_.size() != 0) return true;
    pollfd pfd{};
    pfd.fd = stream_.socket().native_handle();
    pfd.events = POLLIN;
    return ::poll(&pfd, 1, 0) != 0;
  }

  // Waits up to `timeout_ms` for the socket to become readable.
  bool waitReadable(int timeout_ms) {
    if (buffer_.size() != 0) return true;
    pollfd pfd{};
    pfd.fd = stream_.socket().native_handle();
    pfd.events = POLLIN;
    return ::poll(&pfd, 1, timeout_ms) > 0;
  }

private:
  asio::io_context ioc_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::vector<char> scratch_;
};

// A failed exchange, and whether sending it again on a new connection is safe.
struct AttemptError {
  Error error;
  bool may_retry = false;
};

tl::unexpected<AttemptError> attemptError(Error error, bool may_retry) {
  return tl::unexpected<AttemptError>(AttemptError{std::move(error), may_retry});
}

Error transportError(beast::error_code ec, std::string_view phase, const Endpoint& endpoint,
                     Millis timeout) {
  Error error;
  const std::string where = " (" + endpoint.host_header + ")";
  if (ec == beast::error::timeout) {
    error.code = ErrorCode::kTimeout;
    error.message = std::string(phase) + ": no progress within " + std::to_string(timeout.count()) +
                    " ms" + where;
  } else if (ec == http::error::end_of_stream || ec == http::error::partial_message ||
             ec == asio::error::eof) {
    error.code = ErrorCode::kConnectionFailed;
    error.message = std::string(phase) + ": the server closed the connection" + where;
  } else if (ec.category() == http::make_error_code(http::error::end_of_stream).category()) {
    error.code = ErrorCode::kProtocolError;
    error.message = std::string(phase) + ": malformed HTTP: " + ec.message() + where;
  } else {
    error.code = ErrorCode::kConnectionFailed;
    error.message = std::string(phase) + ": " + ec.message() + where;
  }
  return error;
}

std::string lowerCase(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

using Parser = http::response_parser<http::buffer_body>;
using Request = http::request<http::buffer_body>;

// One request/response exchange on one connection.
class Exchange {
public:
  Exchange(Connection& connection, const HttpRequest& request, const BodySink* sink,
           const Endpoint& endpoint, const TransportOptions& options)
      : conn_(connection), request_(request), sink_(sink), endpoint_(endpoint), options_(options) {}

  // Runs the exchange. On success, reusable() tells whether the connection may serve another.
  tl::expected<HttpResponse, AttemptError> run();

  bool reusable() const { return reusable_; }

private:
  Request buildRequest() const;
  tl::expected<void, AttemptError> writeBody(http::request_serializer<http::buffer_body>& sr,
                                             Request& req);
  tl::expected<HttpResponse, AttemptError> readResponse(Millis header_timeout);
  tl::expected<void, AttemptError> readHeader(Millis header_timeout);
  tl::expected<HttpResponse, AttemptError> readBody();
  bool failedBeforeAnswer(beast::error_code ec) const;

  Connection& conn_;
  const HttpRequest& request_;
  const BodySink* sink_;
  const Endpoint& endpoint_;
  const TransportOptions& options_;
  std::optional<Parser> parser_;
  bool sent_any_ = false;
  bool body_sent_ = false;
  bool reusable_ = false;
};

Request Exchange::buildRequest() const {
  Request req;
  req.method(http::string_to_verb(request_.method));
  if (req.method() == http::verb::unknown) req.method_string(request_.method);
  req.target(endpoint_.base_path + request_.target);
  req.version(11);
  req.set(http::field::host, endpoint_.host_header);
  if (!options_.user_agent.empty()) req.set(http::field::user_agent, options_.user_agent);
  for (const HttpHeader& header : request_.headers)
    req.insert(header.name, header.value);
  if (options_.max_idle_connections == 0) req.keep_alive(false);
  if (request_.has_body) {
    std::optional<std::uint64_t> size = request_.source_size;
    if (request_.source == nullptr) size = request_.body.size();
    if (size) {
      req.content_length(*size);
    } else {
      req.chunked(true);
    }
    if (!size || *size >= kExpectContinueThreshold) req.set(http::field::expect, "100-continue");
  }
  return req;
}

bool Exchange::failedBeforeAnswer(beast::error_code ec) const {
  return ec != beast::error::timeout && conn_.buffer().size() == 0 &&
         (!parser_ || !parser_->got_some());
}

tl::expected<HttpResponse, AttemptError> Exchange::run() {
  Request req = buildRequest();
  http::request_serializer<http::buffer_body> sr{req};
  std::size_t written = 0;
  beast::error_code ec = conn_.run(
      options_.request_timeout,
      [&](auto handler) { http::async_write_header(conn_.stream(), sr, std::move(handler)); },
      &written);
  sent_any_ = written > 0;
  if (ec) {
    // Nothing of the request left this host: always safe to send it again.
    return attemptError(
        transportError(ec, "sending the request", endpoint_, options_.request_timeout),
        !sent_any_ || request_.resendable);
  }
  const Millis header_timeout =
      request_.header_timeout.count() > 0 ? request_.header_timeout : options_.request_timeout;
  if (!request_.has_body) {
    body_sent_ = true;
    return readResponse(header_timeout);
  }
  if (req[http::field::expect] == "100-continue" && conn_.waitReadable(kExpectContinueWaitMs)) {
    if (auto header = readHeader(options_.request_timeout); !header) {
      return tl::unexpected(header.error());
    }
    if (parser_->get().result_int() != 100) return readBody(); // refused before the body
    parser_.reset();
  }
  if (auto body = writeBody(sr, req); !body) {
    // The server may have answered early (e.g. 413) and stopped reading; show that answer.
    // A source that failed, or sent the wrong length, is the caller's error: report it now.
    const bool on_the_wire = body.error().error.code == ErrorCode::kConnectionFailed ||
                             body.error().error.code == ErrorCode::kTimeout;
    if (on_the_wire && conn_.waitReadable(static_cast<int>(kEarlyAnswerWait.count()))) {
      parser_.reset();
      body_sent_ = true; // skip any 100 Continue; reusable_ is cleared below
      if (auto early = readResponse(kEarlyAnswerWait)) {
        reusable_ = false;
        return early;
      }
    }
    return tl::unexpected(body.error());
  }
  body_sent_ = true;
  return readResponse(header_timeout);
}

tl::expected<void, AttemptError>
Exchange::writeBody(http::request_serializer<http::buffer_body>& sr, Request& req) {
  std::vector<char>& storage = conn_.scratch();
  std::uint64_t offset = 0;
  const bool from_memory = request_.source == nullptr;
  while (!sr.is_done()) {
    if (from_memory) {
      const std::size_t n = std::min<std::size_t>(kChunkSize, request_.body.size() -
                                                                  static_cast<std::size_t>(offset));
      req.body().data = n == 0 ? nullptr : const_cast<char*>(request_.body.data() + offset);
      req.body().size = n;
      offset += n;
      req.body().more = offset < request_.body.size();
    } else {
      Result<std::size_t> n = (*request_.source)(storage.data(), storage.size());
      if (!n) return attemptError(n.error(), false);
      const std::size_t got = std::min(*n, storage.size());
      offset += got;
      if (request_.source_size && offset > *request_.source_size) {
        return attemptError(fail(ErrorCode::kAborted, "the body source produced more than the " +
                                                          std::to_string(*request_.source_size) +
                                                          " bytes announced")
                                .value(),
                            false);
      }
      if (got == 0 && request_.source_size && offset != *request_.source_size) {
        return attemptError(
            fail(ErrorCode::kAborted, "the body source ended after " + std::to_string(offset) +
                                          " of " + std::to_string(*request_.source_size) + " bytes")
                .value(),
            false);
      }
      req.body().data = got == 0 ? nullptr : storage.data();
      req.body().size = got;
      req.body().more = got != 0;
    }
    beast::error_code ec = conn_.run(options_.request_timeout, [&](auto handler) {
      http::async_write(conn_.stream(), sr, std::move(handler));
    });
    if (ec == http::error::need_buffer) ec = {};
    if (ec) {
      return attemptError(
          transportError(ec, "sending the request body", endpoint_, options_.request_timeout),
          request_.resendable && failedBeforeAnswer(ec));
    }
  }
  return {};
}

tl::expected<void, AttemptError> Exchange::readHeader(Millis header_timeout) {
  for (;;) {
    parser_.emplace();
    parser_->header_limit(kHeaderLimit);
    // Not boost::none: Boost 1.74 compares the length against the empty optional and fails.
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    if (request_.method == "HEAD") parser_->skip(true);
    beast::error_code ec = conn_.run(header_timeout, [&](auto handler) {
      http::async_read_header(conn_.stream(), conn_.buffer(), *parser_, std::move(handler));
    });
    if (ec) {
      // A connection the server had closed fails here with no byte of an answer: safe to
      // repeat when the request may be repeated, or when it never reached the server.
      return attemptError(transportError(ec, "waiting for the response", endpoint_, header_timeout),
                          failedBeforeAnswer(ec) && (request_.resendable || !sent_any_));
    }
    const unsigned status = parser_->get().result_int();
    // An interim 1xx other than the 100 we may be waiting for is skipped.
    if (status >= 100 && status < 200 && !(status == 100 && !body_sent_)) continue;
    return {};
  }
}

tl::expected<HttpResponse, AttemptError> Exchange::readResponse(Millis header_timeout) {
  if (auto header = readHeader(header_timeout); !header) return tl::unexpected(header.error());
  return readBody();
}

tl::expected<HttpResponse, AttemptError> Exchange::readBody() {
  HttpResponse response;
  auto& message = parser_->get();
  response.status = static_cast<int>(message.result_int());
  for (const auto& field : message) {
    const auto name = field.name_string();
    const auto value = field.value();
    response.headers.push_back({lowerCase(std::string_view(name.data(), name.size())),
                                std::string(value.data(), value.size())});
  }
  const bool to_sink = sink_ != nullptr && response.status >= 200 && response.status < 300;
  std::vector<char>& storage = conn_.scratch();
  while (!parser_->is_done()) {
    message.body().data = storage.data();
    message.body().size = storage.size();
    beast::error_code ec = conn_.run(options_.request_timeout, [&](auto handler) {
      http::async_read(conn_.stream(), conn_.buffer(), *parser_, std::move(handler));
    });
    if (ec == http::error::need_buffer) ec = {};
    if (ec) {
      return attemptError(
          transportError(ec, "reading the response body", endpoint_, options_.request_timeout),
          false);
    }
    const std::size_t n = storage.size() - message.body().size;
    if (n == 0) continue;
    if (to_sink) {
      if (Result<void> accepted = (*sink_)(std::string_view(storage.data(), n)); !accepted) {
        return attemptError(accepted.error(), false);
      }
    } else {
      response.body.append(storage.data(), n);
    }
  }
  reusable_ = body_sent_ && message.keep_alive() && options_.max_idle_connections > 0;
  return response;
}

} // namespace

const std::string* HttpResponse::header(std::string_view name) const {
  for (const HttpHeader& field : headers) {
    if (field.name == name) return &field.value;
  }
  return nullptr;
}

struct HttpTransport::State {
  Endpoint endpoint;
  TransportOptions options;
  std::mutex mutex;
  std::vector<std::unique_ptr<Connection>> idle; // guarded by mutex
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> opened{0};
  std::atomic<std::uint64_t> reused{0};
  std::atomic<std::uint64_t> stale{0};
  std::atomic<std::uint64_t> retries{0};

  // The most recently used idle connection the server has not closed, or null.
  std::unique_ptr<Connection> takeIdle() {
    for (;;) {
      std::unique_ptr<Connection> connection;
      {
        std::lock_guard<std::mutex> lock(mutex);
        if (idle.empty()) return nullptr;
        connection = std::move(idle.back());
        idle.pop_back();
      }
      if (!connection->looksClosed()) return connection;
      ++stale;
    }
  }

  void giveBack(std::unique_ptr<Connection> connection) {
    std::lock_guard<std::mutex> lock(mutex);
    if (idle.size() < options.max_idle_connections) idle.push_back(std::move(connection));
  }

  Result<std::unique_ptr<Connection>> open() {
    auto connection = std::make_unique<Connection>();
    beast::error_code ec;
    tcp::resolver::results_type endpoints;
    const asio::ip::address address = asio::ip::make_address(endpoint.host, ec);
    if (!ec) {
      endpoints = tcp::resolver::results_type::create(
          tcp::endpoint(address, static_cast<unsigned short>(std::stoi(endpoint.port))),
          endpoint.host, endpoint.port);
    } else {
      tcp::resolver resolver(connection->ioc());
      bool done = false;
      resolver.async_resolve(endpoint.host, endpoint.port,
                             [&](beast::error_code e, tcp::resolver::results_type results) {
                               ec = e;
                               endpoints = std::move(results);
                               done = true;
                             });
      connection->ioc().restart();
      connection->ioc().run_for(options.connect_timeout);
      if (!done) {
        resolver.cancel();
        connection->ioc().restart();
        connection->ioc().run();
        ec = beast::error::timeout;
      }
      if (ec) {
        return tl::unexpected(
            transportError(ec, "resolving " + endpoint.host, endpoint, options.connect_timeout));
      }
    }
    connection->stream().expires_after(options.connect_timeout);
    bool connected = false;
    connection->stream().async_connect(endpoints, [&](beast::error_code e, const tcp::endpoint&) {
      ec = e;
      connected = true;
    });
    connection->ioc().restart();
    connection->ioc().run();
    connection->stream().expires_never();
    if (ec || !connected) {
      return tl::unexpected(transportError(ec, "connecting", endpoint, options.connect_timeout));
    }
    connection->stream().socket().set_option(tcp::no_delay(true), ec);
    ++opened;
    return connection;
  }
};

HttpTransport::HttpTransport(Endpoint endpoint, TransportOptions options)
    : state_(std::make_unique<State>()) {
  state_->endpoint = std::move(endpoint);
  state_->options = std::move(options);
}

HttpTransport::~HttpTransport() = default;

Result<HttpResponse> HttpTransport::send(const HttpRequest& request, const BodySink* sink) {
  for (int attempt = 0;; ++attempt) {
    std::unique_ptr<Connection> connection = state_->takeIdle();
    const bool reused = connection != nullptr;
    if (!reused) {
      Result<std::unique_ptr<Connection>> opened = state_->open();
      if (!opened) return tl::unexpected(opened.error());
      connection = std::move(*opened);
    } else {
      ++state_->reused;
    }
    ++state_->requests;
    Exchange exchange(*connection, request, sink, state_->endpoint, state_->options);
    auto response = exchange.run();
    if (response) {
      if (exchange.reusable()) state_->giveBack(std::move(connection));
      return std::move(*response);
    }
    // Only a connection that sat idle may have been closed under us; a fresh one that fails
    // has failed for real.
    if (reused && attempt == 0 && response.error().may_retry) {
      ++state_->retries;
      continue;
    }
    return tl::unexpected(std::move(response.error().error));
  }
}

ClientStats HttpTransport::stats() const {
  ClientStats stats;
  stats.requests = state_->requests;
  stats.connections_opened = state_->opened;
  stats.connections_reused = state_->reused;
  stats.stale_connections = state_->stale;
  stats.retries = state_->retries;
  return stats;
}

const Endpoint& HttpTransport::endpoint() const {
  return state_->endpoint;
}

} // namespace exoflow::client::detail
