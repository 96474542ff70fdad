#pragma once
// A deliberately small HTTP/1.1 server for the example: one thread accepts, one thread per
// connection, keep-alive. Enough for a demo app behind a load balancer; the interesting part of
// the example is what the handlers do with exo-proxy.

#include <atomic>
#include <functional>
#include <map>
#include <string>

namespace webshop {

struct Request {
  std::string method;
  std::string target; ///< path and query as received
  std::string body;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

using Handler = std::function<Response(const Request&)>;

/// Serves `handler` on 0.0.0.0:`port` until `stop` becomes true (checked every 200 ms).
/// Returns false (after printing why) when the port cannot be opened.
bool serveHttp(int port, const Handler& handler, const std::atomic<bool>& stop);

} // namespace webshop
