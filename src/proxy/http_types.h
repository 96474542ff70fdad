#pragma once
// What the HTTP server (Beast, in http_session.cc) and the API handlers (no Beast) exchange.
// The server reads a request's head and asks the Handler for a Plan: answer at once, buffer the
// body up to a limit, or stream it into a BodySink. Responses may stream from a BodySource.
//
// Threading: the server calls plan() on the connection's thread. Every callback the server
// hands out (Respond, the `done` of BodySink::write, the `done` given to BodySource::read) may
// be called from any thread, also before the call that received it returns; the server posts
// it back to the connection's thread.

#include <utility>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace exoflow::proxy {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

/// A request once its header is in.
struct RequestHead {
  std::string method;     ///< as sent ("GET")
  std::string target;     ///< the raw request target ("/v1/queues/orders?max=2")
  HeaderList headers;     ///< names lower-cased, in the order sent
  std::string request_id; ///< unique per request; the x-exo-request-id of the response
  std::optional<std::uint64_t> content_length;
  bool chunked = false;
  std::chrono::steady_clock::time_point started; ///< when the head was read
  /// Arrived on the peer listener (mutual TLS): served only by non-peer backends.
  bool from_peer = false;

  /// The first header named `lower_name`, if any.
  std::optional<std::string_view> header(std::string_view lower_name) const {
    for (const auto& [name, value] : headers) {
      if (name == lower_name) return std::string_view(value);
    }
    return std::nullopt;
  }
  /// True when a body follows the head (a length above 0, or chunked).
  bool hasBody() const { return chunked || content_length.value_or(0) > 0; }
};

/// A response body produced chunk by chunk (object downloads).
class BodySource {
public:
  virtual ~BodySource() = default;
  /// The next chunk of at most `max` bytes; an empty chunk ends the body.
  virtual void read(std::size_t max, std::function<void(Result<std::string>)> done) = 0;
};

struct Response {
  int status = 200;
  HeaderList headers; ///< the server adds Content-Length, Date, Connection, x-exo-request-id
  std::string body;
  /// A streamed body of exactly `stream_length` bytes; `body` is then ignored.
  std::shared_ptr<BodySource> stream;
  std::uint64_t stream_length = 0;
  /// HEAD: the headers of the GET, Content-Length included, without the body.
  bool head_only = false;
  std::uint64_t head_length = 0; ///< the Content-Length of a head_only response

  Response& header(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
    return *this;
  }
};

/// Completes a request. Call exactly once, from any thread.
using Respond = std::function<void(Response)>;

/// A request body consumed chunk by chunk (object uploads).
class BodySink {
public:
  virtual ~BodySink() = default;
  /// Takes the next chunk; the server sends no more until `done` is called. `done` with a
  /// response ends the request with it (the rest of the body is not read).
  virtual void write(std::string chunk, std::function<void(std::optional<Response>)> done) = 0;
  /// The whole body has arrived: answer the request.
  virtual void finish(Respond respond) = 0;
  /// The body will not complete (the client left, a limit or timeout was hit).
  virtual void abort() = 0;
};

/// What to do with a request whose head has been read.
struct Plan {
  /// Answer at once; the body, if any, is not read.
  std::optional<Response> reject;
  /// With a sink, the body streams into it, up to the server's max_body.
  std::shared_ptr<BodySink> sink;
  /// Otherwise the body is buffered (larger than `max_body`: 413) and handed to `handle`.
  std::uint64_t max_body = 0;
  std::function<void(std::string body, Respond respond)> handle;
};

/// The application behind the server.
class Handler {
public:
  virtual ~Handler() = default;
  /// Decides what to do with a request. Called on the connection's thread; must not block.
  virtual Plan plan(const RequestHead& head) = 0;
  /// The response to a problem the HTTP layer found itself (400 for a malformed request, 413,
  /// 431), in the API's error format.
  virtual Response httpError(ErrorCode code, std::string message,
                             const std::string& request_id) = 0;
};

} // namespace exoflow::proxy
