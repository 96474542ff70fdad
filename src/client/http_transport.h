#pragma once
// The HTTP/1.1 transport of libexoclient: one request in, one response out, over a pool of
// keep-alive connections. This header stays free of Boost; Boost.Beast lives only in
// http_transport.cc, the one translation unit that pays for it.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client/url.h"
#include "exoflow/errors.h"
#include "exoflow/types.h"

namespace exoflow::client::detail {

/// One header field.
struct HttpHeader {
  std::string name;
  std::string value;
};

/// A request to send. The body is either `body` (in memory) or what `source` produces.
struct HttpRequest {
  std::string method; ///< "GET", "HEAD", "PUT", "POST", "PATCH", "DELETE"
  std::string target; ///< path and query, already percent-encoded, without the base path
  std::vector<HttpHeader> headers;
  bool has_body = false; ///< send a body (and a Content-Length or chunked encoding)
  std::string_view body; ///< the body when `source` is null; must outlive send()
  const BodySource* source = nullptr;
  std::optional<std::uint64_t> source_size; ///< Content-Length for a source; chunked without
  /// Safe to send a second time if a reused connection breaks after sending part of it. True
  /// for idempotent methods whose body is in memory.
  bool resendable = false;
  /// Limit for the response headers after the request was sent; 0 means request_timeout.
  std::chrono::milliseconds header_timeout{0};
};

/// A response. Header names are in lower case.
struct HttpResponse {
  int status = 0;
  std::vector<HttpHeader> headers;
  std::string body; ///< empty when a 2xx body went to the sink

  /// The first header named `name` (lower case), or null.
  const std::string* header(std::string_view name) const;
};

/// Timeouts and pool size; see ClientOptions for what each means.
struct TransportOptions {
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds request_timeout{30000};
  std::size_t max_idle_connections = 8;
  std::string user_agent;
};

/// Sends requests over pooled keep-alive connections. Thread-safe: each send() uses a
/// connection no other thread holds.
class HttpTransport {
public:
  /// A transport for `endpoint`; opens no connection yet.
  HttpTransport(Endpoint endpoint, TransportOptions options);
  ~HttpTransport();
  HttpTransport(const HttpTransport&) = delete;
  HttpTransport& operator=(const HttpTransport&) = delete;

  /// Sends `request` and reads the response. A 2xx body goes to `sink` when one is given,
  /// any other body into `HttpResponse::body` (error bodies are small JSON). An HTTP error
  /// status is a successful send; only transport failures are errors (kTimeout,
  /// kConnectionFailed, kProtocolError, kAborted from a source or sink).
  Result<HttpResponse> send(const HttpRequest& request, const BodySink* sink = nullptr);

  /// Counters since creation.
  ClientStats stats() const;

  /// The endpoint requests go to.
  const Endpoint& endpoint() const;

private:
  struct State;
  std::unique_ptr<State> state_;
};

} // namespace exoflow::client::detail
