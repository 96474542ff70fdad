#include "proxy/http_session.h"

#include <utility>

#include <array>
#include <atomic>
#include <cctype>
#include <charconv>
#include <ctime>
#include <limits>
#include <random>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/status.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace exoflow::proxy {

namespace net = boost::asio;
namespace http = boost::beast::http;
using boost::beast::error_code;

namespace {

constexpr std::uint32_t kHeaderLimit = 16 * 1024; ///< API.md: more is 431
constexpr std::size_t kChunkSize = 128UL * 1024;  ///< body bytes per read and per write
constexpr std::size_t kTlsRecord = 16UL * 1024;
/// Beast reads at most what the read buffer has room for (and at most 64 KiB): room for that
/// while a body arrives, instead of the 4 KiB a head needs, takes a 1 MiB upload from about 260
/// reads (each with its timer and wakeup) to about 16.
constexpr std::size_t kBodyReadRoom = 64UL * 1024;
constexpr std::size_t kIdleBufferLimit = 16UL * 1024;  ///< more is given back between requests
constexpr std::uint64_t kDiscardLimit = 64ULL * 1024;  ///< unread bodies we read to keep alive
constexpr std::uint64_t kLingerLimit = 1024ULL * 1024; ///< what a lingering close reads at most
constexpr auto kLingerTime = std::chrono::seconds(2);
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

bool isDisconnect(const error_code& ec) {
  return ec == http::error::end_of_stream || ec == net::error::eof ||
         ec == net::error::connection_reset || ec == net::error::operation_aborted ||
         ec == boost::beast::error::timeout || ec == net::error::broken_pipe ||
         ec == http::error::partial_message;
}

/// The Date header's value for now; formatted once a second per thread, not per response.
std::string_view httpDate() {
  thread_local std::time_t formatted_at = -1;
  thread_local std::array<char, 64> text{};
  thread_local std::size_t size = 0;
  const std::time_t now = std::time(nullptr);
  if (now != formatted_at) {
    std::tm tm{};
    gmtime_r(&now, &tm);
    size = std::strftime(text.data(), text.size(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    formatted_at = now;
  }
  return {text.data(), size};
}

void appendHeader(std::string& out, std::string_view name, std::string_view value) {
  out.append(name).append(": ").append(value).append("\r\n");
}

void appendNumber(std::string& out, std::uint64_t value) {
  std::array<char, 24> digits{};
  const auto end = std::to_chars(digits.data(), digits.data() + digits.size(), value).ptr;
  out.append(digits.data(), end);
}

bool safeHeader(const std::string& name, const std::string& value) {
  auto clean = [](const std::string& s) {
    return s.find_first_of("\r\n") == std::string::npos && s.find('\0') == std::string::npos;
  };
  return !name.empty() && clean(name) && clean(value);
}

bool isServerHeader(std::string_view name) {
  return name == "content-length" || name == "connection" || name == "date" ||
         name == "transfer-encoding" || name == "x-exo-request-id";
}

} // namespace

std::string newRequestId() {
  static const std::uint32_t prefix = std::random_device{}();
  static std::atomic<std::uint64_t> counter{0};
  // "{:08x}-{:08x}" by hand: this runs for every request, and fmt's parsing of the format
  // string cost more than the rest of it.
  auto hex = [](std::string& out, std::uint64_t value) {
    std::array<char, 16> digits{};
    const auto end = std::to_chars(digits.data(), digits.data() + digits.size(), value, 16).ptr;
    const auto length = static_cast<std::size_t>(end - digits.data());
    if (length < 8) out.append(8 - length, '0');
    out.append(digits.data(), length);
  };
  std::string id;
  id.reserve(24);
  hex(id, prefix);
  id += '-';
  hex(id, counter.fetch_add(1) + 1);
  return id;
}

namespace {

SessionStream makeStream(net::ip::tcp::socket socket, net::ssl::context* tls) {
  if (tls == nullptr) return SessionStream(std::move(socket));
  return {std::move(socket), *tls};
}

} // namespace

Session::Session(net::ip::tcp::socket socket, std::shared_ptr<ServerShared> shared,
                 net::ssl::context* tls)
    : stream_(makeStream(std::move(socket), tls)), shared_(std::move(shared)) {}

Session::~Session() {
  if (plan_.sink) plan_.sink->abort();
  shared_->connections.fetch_sub(1);
  if (shared_->on_session_end) shared_->on_session_end(this);
}

void Session::start() {
  error_code ec;
  stream_.lowest().socket().set_option(net::ip::tcp::no_delay(true), ec);
  if (SessionStream::TlsStream* tls = stream_.tls()) {
    // The handshake (client certificate checked against the CA) counts as the first head.
    stream_.lowest().expires_after(shared_->limits.header_timeout);
    tls->async_handshake(net::ssl::stream_base::server,
                         [self = shared_from_this()](error_code e) { self->onHandshake(e); });
    return;
  }
  net::post(stream_.get_executor(), [self = shared_from_this()] { self->readRequest(); });
}

void Session::onHandshake(error_code ec) {
  if (ec) {
    spdlog::debug("peer listener: TLS handshake failed: {}", ec.message());
    close();
    return;
  }
  readRequest();
}

void Session::drain() {
  drain_requested_ = true;
  if (state_ == State::kIdle) close();
}

void Session::forceClose() {
  close();
}

void Session::readRequest() {
  if (drain_requested_) {
    close();
    return;
  }
  head_ = RequestHead{};
  plan_ = Plan{};
  body_.clear();
  body_received_ = 0;
  state_ = State::kIdle;
  if (buffer_.size() > 0) {
    readHead();
    return;
  }
  // Waiting for the first byte of a request is "idle"; from there the head has a deadline.
  stream_.lowest().expires_after(first_request_ ? shared_->limits.header_timeout
                                                : shared_->limits.idle_timeout);
  stream_.async_read_some(
      buffer_.prepare(4096),
      [self = shared_from_this()](error_code ec, std::size_t n) { self->onIdleData(ec, n); });
}

void Session::onIdleData(error_code ec, std::size_t bytes) {
  if (ec) {
    close();
    return;
  }
  buffer_.commit(bytes);
  readHead();
}

void Session::readHead() {
  state_ = State::kReadingHead;
  parser_.emplace();
  parser_->header_limit(kHeaderLimit);
  // Limits are the Plan's, checked as the body arrives. Not boost::none: Beast 1.74 compares
  // the Content-Length with the optional and takes "none" for the smallest limit.
  parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
  // A whole head already in the buffer (the usual case: a small request arrives in one piece)
  // is parsed here, without an asynchronous read and a deadline to arm and cancel.
  if (buffer_.size() > 0) {
    error_code ec;
    buffer_.consume(parser_->put(buffer_.data(), ec));
    if (ec != http::error::need_more && (ec || parser_->is_header_done())) {
      onHead(ec);
      return;
    }
  }
  stream_.lowest().expires_after(shared_->limits.header_timeout);
  http::async_read_header(
      stream_, buffer_, *parser_,
      [self = shared_from_this()](error_code ec, std::size_t) { self->onHead(ec); });
}

void Session::onHead(error_code ec) {
  if (ec == http::error::header_limit) {
    failRequest(ErrorCode::kHeadersTooLarge, "the request's headers exceed 16 KiB");
    return;
  }
  if (ec && isDisconnect(ec)) {
    close();
    return;
  }
  if (ec) {
    failRequest(ErrorCode::kInvalidArgument, "malformed HTTP request: " + ec.message());
    return;
  }
  const auto& message = parser_->get();
  head_.method = std::string(message.method_string());
  head_.target = std::string(message.target());
  for (const auto& field : message) {
    std::string name(field.name_string());
    for (char& c : name) // ASCII, as header names are (std::tolower asks the locale)
      c = c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
    head_.headers.emplace_back(std::move(name), std::string(field.value()));
  }
  head_.request_id = newRequestId();
  if (auto length = parser_->content_length()) head_.content_length = *length;
  head_.chunked = parser_->chunked();
  head_.started = std::chrono::steady_clock::now();
  head_.from_peer = stream_.tls() != nullptr;
  keep_alive_ = parser_->keep_alive();
  dispatch();
}

void Session::dispatch() {
  state_ = State::kBusy;
  first_request_ = false;
  try {
    plan_ = shared_->handler->plan(head_);
  } catch (const std::exception& e) {
    spdlog::error("request {}: {}", head_.request_id, e.what());
    failRequest(ErrorCode::kInternal, "internal error");
    return;
  }
  const auto expect = head_.header("expect");
  const bool expects_continue =
      expect && boost::beast::iequals(boost::beast::string_view(expect->data(), expect->size()),
                                      "100-continue");
  if (plan_.reject) {
    if (head_.hasBody() && !parser_->is_done()) {
      // Read a small body to keep the connection; else answer and close.
      const bool small = !head_.chunked && head_.content_length.value_or(0) <= kDiscardLimit;
      if (small && !expects_continue) {
        body_limit_ = kDiscardLimit;
        readBody();
        return;
      }
      keep_alive_ = false;
    }
    writeResponse(std::move(*plan_.reject));
    return;
  }
  body_limit_ =
      plan_.sink ? shared_->limits.max_body : std::min(plan_.max_body, shared_->limits.max_body);
  if (head_.content_length && *head_.content_length > body_limit_) {
    failRequest(
        ErrorCode::kPayloadTooLarge,
        fmt::format("the body exceeds {} bytes, the largest this route takes", body_limit_));
    return;
  }
  if (parser_->is_done()) {
    bodyComplete();
    return;
  }
  if (expects_continue) {
    sendContinue();
    return;
  }
  readBody();
}

void Session::sendContinue() {
  stream_.lowest().expires_after(shared_->limits.idle_timeout);
  net::async_write(stream_, net::buffer(kContinue.data(), kContinue.size()),
                   [self = shared_from_this()](error_code ec, std::size_t) {
                     if (ec) {
                       self->close();
                       return;
                     }
                     self->readBody();
                   });
}

void Session::readBody() {
  if (buffer_.capacity() - buffer_.size() < kBodyReadRoom)
    buffer_.reserve(buffer_.size() + kBodyReadRoom);
  chunk_.resize(kChunkSize);
  auto& body = parser_->get().body();
  body.data = chunk_.data();
  body.size = chunk_.size();
  // While a body arrives, each read must make progress within the idle timeout.
  stream_.lowest().expires_after(shared_->limits.idle_timeout);
  http::async_read(stream_, buffer_, *parser_,
                   [self = shared_from_this()](error_code ec, std::size_t) { self->onBody(ec); });
}

void Session::onBody(error_code ec) {
  if (ec == http::error::need_buffer) ec = {};
  if (ec) {
    if (plan_.sink) plan_.sink->abort();
    plan_.sink.reset();
    if (isDisconnect(ec)) {
      close();
    } else {
      failRequest(ErrorCode::kInvalidArgument, "malformed request body: " + ec.message());
    }
    return;
  }
  const std::size_t got = chunk_.size() - parser_->get().body().size;
  body_received_ += got;
  if (body_received_ > body_limit_) {
    if (plan_.reject) {
      keep_alive_ = false;
      writeResponse(std::move(*plan_.reject));
      return;
    }
    if (plan_.sink) plan_.sink->abort();
    plan_.sink.reset();
    failRequest(
        ErrorCode::kPayloadTooLarge,
        fmt::format("the body exceeds {} bytes, the largest this route takes", body_limit_));
    return;
  }
  if (plan_.sink && !plan_.reject && got > 0) {
    auto self = shared_from_this();
    plan_.sink->write(std::string(chunk_.data(), got), [self](std::optional<Response> stop) {
      net::post(self->stream_.get_executor(), [self, stop = std::move(stop)]() mutable {
        if (self->state_ == State::kClosing) return;
        if (stop) {
          // The body stays unread, so the connection cannot carry another request.
          self->plan_.sink.reset();
          self->keep_alive_ = false;
          self->writeResponse(std::move(*stop));
          return;
        }
        if (self->parser_->is_done()) {
          self->bodyComplete();
        } else {
          self->readBody();
        }
      });
    });
    return;
  }
  if (!plan_.sink && !plan_.reject) body_.append(chunk_.data(), got);
  if (parser_->is_done()) {
    bodyComplete();
  } else {
    readBody();
  }
}

void Session::bodyComplete() {
  stream_.lowest().expires_never();
  if (plan_.reject) {
    writeResponse(std::move(*plan_.reject));
    return;
  }
  try {
    if (plan_.sink) {
      auto sink = std::move(plan_.sink);
      sink->finish(responder());
    } else {
      plan_.handle(std::move(body_), responder());
    }
  } catch (const std::exception& e) {
    spdlog::error("request {}: {}", head_.request_id, e.what());
    failRequest(ErrorCode::kInternal, "internal error");
  }
}

Respond Session::responder() {
  auto called = std::make_shared<std::atomic<bool>>(false);
  return [self = shared_from_this(), called](Response response) {
    if (called->exchange(true)) return;
    // Inline when already on the connection's thread (a local backend answers before its call
    // returns): one trip through the event loop less per request.
    net::dispatch(self->stream_.get_executor(), [self, response = std::move(response)]() mutable {
      self->writeResponse(std::move(response));
    });
  };
}

void Session::writeResponse(Response response) {
  if (state_ == State::kClosing) return;
  state_ = State::kBusy;
  response_ = std::move(response);
  if (drain_requested_ || shared_->draining.load()) keep_alive_ = false;
  const int status = response_.status;
  const bool bodiless = status == 204 || status == 304 || status < 200;
  const std::uint64_t length = response_.head_only ? response_.head_length
                               : response_.stream  ? response_.stream_length
                                                   : response_.body.size();
  const auto reason = http::obsolete_reason(static_cast<http::status>(status));
  // Appended piece by piece into a buffer that keeps its capacity from one response to the
  // next: no allocation for the head of a typical response.
  response_head_.clear();
  response_head_.append("HTTP/1.1 ");
  appendNumber(response_head_, static_cast<std::uint64_t>(status));
  response_head_.append(" ").append(reason.data(), reason.size()).append("\r\n");
  for (const auto& [name, value] : response_.headers) {
    if (!safeHeader(name, value) || isServerHeader(name)) continue;
    appendHeader(response_head_, name, value);
  }
  const std::string& id =
      head_.request_id.empty() ? (head_.request_id = newRequestId()) : head_.request_id;
  appendHeader(response_head_, "x-exo-request-id", id);
  appendHeader(response_head_, "Date", httpDate());
  if (!bodiless) {
    response_head_.append("Content-Length: ");
    appendNumber(response_head_, length);
    response_head_.append("\r\n");
  }
  if (!keep_alive_) response_head_.append("Connection: close\r\n");
  response_head_.append("\r\n");
  stream_.lowest().expires_after(shared_->limits.idle_timeout);
  streamed_ = 0;
  if (!bodiless && !response_.head_only && response_.stream && length > 0) {
    head_written_ = false;
    streamNext();
    return;
  }
  std::array<net::const_buffer, 2> buffers = {
      net::buffer(response_head_),
      net::buffer(response_.body.data(),
                  bodiless || response_.head_only || response_.stream ? 0 : response_.body.size())};
  net::async_write(stream_, buffers, [self = shared_from_this()](error_code ec, std::size_t) {
    if (ec) {
      self->close();
      return;
    }
    self->finishResponse();
  });
}

void Session::streamNext() {
  const std::uint64_t left = response_.stream_length - streamed_;
  auto self = shared_from_this();
  // Over TLS, pieces of one TLS record (16 KiB): a larger write through Beast's ssl_stream
  // stalled after its first record.
  const std::size_t chunk = stream_.tls() != nullptr ? kTlsRecord : kChunkSize;
  response_.stream->read(static_cast<std::size_t>(std::min<std::uint64_t>(left, chunk)),
                         [self](Result<std::string> chunk) {
                           net::post(self->stream_.get_executor(),
                                     [self, chunk = std::move(chunk)]() mutable {
                                       self->onStreamChunk(std::move(chunk));
                                     });
                         });
}

void Session::onStreamChunk(Result<std::string> chunk) {
  if (state_ == State::kClosing) return;
  const bool bad = !chunk || chunk->empty() || streamed_ + chunk->size() > response_.stream_length;
  if (bad) {
    if (!head_written_) {
      // Nothing sent yet: the client can still get a proper error.
      keep_alive_ = false;
      const Error error =
          chunk ? Error{ErrorCode::kInternal, "the object's size changed"} : chunk.error();
      writeResponse(shared_->handler->httpError(error.code, error.message, head_.request_id));
      return;
    }
    spdlog::warn("request {}: response body cut short", head_.request_id);
    close();
    return;
  }
  stream_chunk_ = std::move(*chunk);
  streamed_ += stream_chunk_.size();
  std::array<net::const_buffer, 2> buffers = {
      net::buffer(response_head_.data(), head_written_ ? 0 : response_head_.size()),
      net::buffer(stream_chunk_)};
  head_written_ = true;
  stream_.lowest().expires_after(shared_->limits.idle_timeout);
  net::async_write(stream_, buffers, [self = shared_from_this()](error_code ec, std::size_t) {
    if (ec) {
      self->close();
      return;
    }
    if (self->streamed_ == self->response_.stream_length) {
      self->finishResponse();
    } else {
      self->streamNext();
    }
  });
}

void Session::finishResponse() {
  response_ = Response{};
  stream_chunk_.clear();
  // The plan's callbacks may hold what holds this session: let go of them now.
  plan_ = Plan{};
  body_.clear();
  // A body's read room is not kept on an idle connection.
  if (buffer_.size() == 0 && buffer_.capacity() > kIdleBufferLimit) buffer_.shrink_to_fit();
  if (!keep_alive_) {
    lingeringClose();
    return;
  }
  readRequest();
}

void Session::failRequest(ErrorCode code, std::string message) {
  keep_alive_ = false;
  if (plan_.sink) plan_.sink->abort();
  plan_.sink.reset();
  if (head_.request_id.empty()) head_.request_id = newRequestId();
  writeResponse(shared_->handler->httpError(code, std::move(message), head_.request_id));
}

void Session::lingeringClose() {
  state_ = State::kClosing;
  error_code ec;
  stream_.lowest().socket().shutdown(net::ip::tcp::socket::shutdown_send, ec);
  if (ec) {
    close();
    return;
  }
  lingered_ = 0;
  stream_.lowest().expires_after(kLingerTime);
  chunk_.resize(kChunkSize);
  lingerRead();
}

void Session::lingerRead() {
  stream_.async_read_some(net::buffer(chunk_),
                          [self = shared_from_this()](error_code ec, std::size_t n) {
                            self->lingered_ += n;
                            if (ec || self->lingered_ > kLingerLimit) {
                              self->close();
                              return;
                            }
                            self->lingerRead();
                          });
}

void Session::close() {
  state_ = State::kClosing;
  if (plan_.sink) plan_.sink->abort();
  plan_ = Plan{};
  error_code ec;
  stream_.lowest().socket().shutdown(net::ip::tcp::socket::shutdown_both, ec);
  stream_.lowest().close();
}

} // namespace exoflow::proxy
