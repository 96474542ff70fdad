#pragma once
// The asynchronous HTTP(S) client the cloud backends talk to their services with: an I/O thread
// of its own, or the sending thread's event loop under a ThreadLoop (exo-proxy's threads), a
// pool of keep-alive connections per endpoint and loop, TLS with certificate and host name
// verification (OpenSSL, the system's CA store or a given file), connect and request timeouts,
// and retries with exponential back-off and full jitter for throttling, 5xx answers and
// connection failures, on idempotent calls only. Beast stays inside http_client.cc.

#include <utility>

#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace boost::asio {
class io_context;
} // namespace boost::asio

namespace exoflow::net {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method = "GET";
  std::string url; ///< http://host[:port]/path?query or https://...
  /// Content-Length and Connection are added by the client, and Host when absent (the value
  /// hostHeader() gives, which is what a signer must sign).
  Headers headers;
  std::string body;
  /// Safe to send twice: only then are failures and retryable answers retried.
  bool idempotent = false;
  /// Added to the timeouts of this request: how long the server may hold it on purpose (a
  /// long poll's wait).
  std::chrono::milliseconds extra_time{0};
};

struct HttpResponse {
  int status = 0;
  Headers headers; ///< names lower-cased
  std::string body;
  int attempts = 1; ///< how many times the request was sent
  /// The first header named `lower_name`, or "".
  std::string header(std::string_view lower_name) const;
};

struct RetryPolicy {
  int max_attempts = 4; ///< including the first
  std::chrono::milliseconds base_delay{50};
  std::chrono::milliseconds max_delay{2000};
  /// Whether an answer should be retried (when the request is idempotent). The default
  /// retries 429, 500, 502, 503 and 504; services that signal throttling in a 400 body
  /// (SQS, DynamoDB) pass their own.
  std::function<bool(const HttpResponse&)> retryable;
};

struct HttpClientOptions {
  std::chrono::milliseconds connect_timeout{3000};
  std::chrono::milliseconds request_timeout{30000}; ///< per attempt, connect included
  /// The whole call, retries and back-off included; 0: attempts × request_timeout. A call
  /// that runs out of it fails with kUnavailable instead of trying again.
  std::chrono::milliseconds deadline{0};
  std::size_t max_idle_per_endpoint = 32;
  std::size_t max_response_body = std::size_t{64} << 20;
  bool verify_tls = true;
  std::string ca_file; ///< PEM bundle; empty: the system's default store
  /// A client certificate (PEM, its chain after it) and its key, presented when a server asks
  /// for one (mutual TLS); both empty: none.
  std::string cert_file;
  std::string key_file;
  RetryPolicy retry;
};

/// A request whose body is sent piece by piece (a streamed object upload). Call write() for
/// each piece, waiting for its completion before the next, then finish(); or abort(). Nothing is
/// retried: a body already sent in part cannot be sent again. Destroyed unfinished, it aborts.
class HttpUpload {
public:
  virtual ~HttpUpload() = default;
  /// kUnavailable when the connection failed or timed out.
  virtual void write(std::string piece, std::function<void(Result<void>)> done) = 0;
  /// Ends the body and reads the response (any status).
  virtual void finish(std::function<void(Result<HttpResponse>)> done) = 0;
  virtual void abort() = 0;
};

/// kUnavailable for connection failures, timeouts and TLS failures (with the reason);
/// a response of any status otherwise (the caller maps service errors).
using ResponseHandler = std::function<void(Result<HttpResponse>)>;

/// The Host header for `url`: "host", or "host:port" when the port is not the scheme's
/// default; empty when the URL is not http(s).
std::string hostHeader(std::string_view url);

/// Lets requests sent from this thread run on `ioc`, the event loop this thread runs, instead of
/// being handed to a client's own I/O thread and their answers handed back: two thread wake-ups
/// fewer per request, and their handlers then run on this thread. Construct it on the thread
/// that runs `ioc` (and that thread only), around ioc.run(); destroy it before `ioc`. Each client
/// keeps a pool of idle connections per such loop.
///
/// A thread under a ThreadLoop must not block waiting for an answer (that request would wait for
/// the very loop it blocks): sendAndWait() and the callers that wait hold a Suspend for the call.
class ThreadLoop {
public:
  struct State;

  explicit ThreadLoop(boost::asio::io_context& ioc);
  ~ThreadLoop();
  ThreadLoop(const ThreadLoop&) = delete;
  ThreadLoop& operator=(const ThreadLoop&) = delete;

  /// While it lives, requests sent from this thread go to the clients' own threads.
  class Suspend {
  public:
    Suspend();
    ~Suspend();
    Suspend(const Suspend&) = delete;
    Suspend& operator=(const Suspend&) = delete;

  private:
    State* saved_;
  };

private:
  std::unique_ptr<State> state_;
  State* previous_;
};

/// Calls `start(handler)` with requests sent on the clients' own threads, and waits until the
/// handler has its Result<T> (set-up, tools and tests; never on a client's I/O thread).
template <typename T, typename Start> Result<T> waitFor(Start start) {
  std::promise<Result<T>> promise;
  std::future<Result<T>> future = promise.get_future();
  {
    const ThreadLoop::Suspend on_the_clients_threads;
    start([&promise](Result<T> r) { promise.set_value(std::move(r)); });
  }
  return future.get();
}

class HttpClient {
public:
  explicit HttpClient(HttpClientOptions options = {});
  /// Stops the I/O thread; requests still in flight are abandoned (their handlers never run),
  /// so owners drain their calls first.
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  /// Sends `request`; `done` runs once, on the client's I/O thread, or on this thread's loop when
  /// it has a ThreadLoop (keep it short).
  void send(HttpRequest request, ResponseHandler done);
  /// Opens a connection and sends the head of `request` (its body is ignored): with
  /// `content_length` the body must add up to exactly that many bytes, without it it is sent
  /// chunked. `done` gets the upload once the head is sent; uploads run on the client's own
  /// thread. The upload must end before the client.
  void upload(HttpRequest request, std::optional<std::uint64_t> content_length,
              std::function<void(Result<std::unique_ptr<HttpUpload>>)> done);
  /// Sends on the client's own thread and waits (for start-up, tools and tests; never on the
  /// client's I/O thread).
  Result<HttpResponse> sendAndWait(HttpRequest request);

  /// Connections opened so far (pool reuse shows as fewer connections than requests).
  std::size_t connectionsOpened() const;

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace exoflow::net
