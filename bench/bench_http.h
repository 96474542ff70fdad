#pragma once
// The HTTP side of the exo-proxy benchmarks: a minimal blocking HTTP/1.1 keep-alive connection
// (for sequential latency and for holding many idle connections open) and a wrk runner (for
// load at a fixed number of connections).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace exoflow::bench {

/// A GET request for `path` on a keep-alive connection; with `token`, authorized.
std::string getRequest(const std::string& path, const std::string& token = "");

/// One keep-alive TCP connection to 127.0.0.1:`port` (TCP_NODELAY, like exo-proxy's clients).
/// Understands responses with a Content-Length only, which is all the servers under test send
/// for these requests. Throws std::runtime_error on any failure.
class HttpConnection {
public:
  explicit HttpConnection(int port);
  HttpConnection(HttpConnection&& other) noexcept;
  HttpConnection& operator=(HttpConnection&&) = delete;
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;
  ~HttpConnection();

  /// Sends `request` and then `body`, reads one whole response and returns its status code.
  /// The response body is dropped; its size is added to `*received` when given.
  int roundTrip(const std::string& request, std::string_view body = {},
                std::uint64_t* received = nullptr);

private:
  void sendAll(std::string_view data);
  /// Reads more into buffer_; throws when the server closed the connection.
  void readMore();

  int fd_ = -1;
  std::string buffer_;
  std::vector<char> piece_;
};

/// Latency of sequential requests, in microseconds each: `count` rounds, each sending one
/// request on each of `requests` (one keep-alive connection per entry, to `ports[i]`) in turn,
/// so that whatever else the machine does falls on every server alike. `warmup` rounds first
/// are not counted. Throws when a response is not a 200.
std::vector<std::vector<double>> interleavedLatencies(const std::vector<int>& ports,
                                                      const std::vector<std::string>& requests,
                                                      int count, int warmup);

struct WrkResult {
  std::uint64_t requests = 0; ///< completed requests
  std::uint64_t failures = 0; ///< non-2xx/3xx answers and socket errors
  double seconds = 0;         ///< the run's length as wrk measured it
};

/// Runs `wrk` against `url` with `connections` connections on `threads` threads for
/// `seconds`, with an optional extra header ("Name: value"). nullopt when wrk failed.
std::optional<WrkResult> runWrk(const std::string& wrk, const std::string& url, int connections,
                                int threads, int seconds, const std::string& header = "");

} // namespace exoflow::bench
