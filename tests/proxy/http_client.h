#pragma once
// A small blocking HTTP/1.1 client on plain sockets, for tests that need to see exactly what
// goes over the wire (keep-alive, Expect: 100-continue, chunked bodies, slow clients).

#include <utility>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace exoflow::proxy::testing {

struct HttpResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers; ///< names lower-cased
  std::string body;

  /// The first header named `lower_name`, or "" when absent.
  std::string header(std::string_view lower_name) const;
  bool has(std::string_view lower_name) const;
};

using Headers = std::vector<std::pair<std::string, std::string>>;

class HttpConnection {
public:
  /// Connects to 127.0.0.1:port.
  explicit HttpConnection(int port);
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  bool connected() const { return fd_ >= 0; }
  /// Writes all of `bytes`; false when the connection is gone.
  bool send(std::string_view bytes);
  /// Reads one response. `head_request`: the response has no body whatever its headers say.
  /// Nothing when the connection closed or nothing complete came within `timeout_ms`. Interim
  /// (1xx) responses are skipped unless `interim` asks for them.
  std::optional<HttpResponse> read(bool head_request = false, int timeout_ms = 30'000,
                                   bool interim = false);
  /// Sends a request (Content-Length added for a body) and reads its response.
  std::optional<HttpResponse> request(std::string_view method, std::string_view target,
                                      const Headers& headers = {}, std::string_view body = {});
  /// True when the server closes the connection (EOF or reset) within `timeout_ms`.
  bool closedWithin(int timeout_ms);

private:
  /// Reads more bytes into buffer_; false on EOF, error or timeout.
  bool fill(int timeout_ms);

  int fd_ = -1;
  std::string buffer_;
};

/// Percent-encodes everything but unreserved characters (for query values).
std::string urlEncode(std::string_view text);

/// Opens a connection, sends one request and returns its response (status 0 if none).
HttpResponse httpRequest(int port, std::string_view method, std::string_view target,
                         const Headers& headers = {}, std::string_view body = {});

} // namespace exoflow::proxy::testing
