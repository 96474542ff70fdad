#pragma once
// A minimal blocking HTTP/1.1 client for the link-local metadata endpoints that hand out
// credentials (EC2's IMDS at 169.254.169.254, ECS's at 169.254.170.2, or a loopback override):
// plain TCP, one request per connection, hard connect and read timeouts. Nothing else uses it;
// cloud APIs go through the pooled TLS client.

#include <utility>

#include <chrono>
#include <string>
#include <vector>

#include "common/error.h"

namespace exoflow::aws {

struct MetadataResponse {
  int status = 0;
  std::string body;
};

/// Parses `http://host[:port]` plus a path; host is an IP literal or a name resolvable locally.
/// kInvalidArgument for anything else (https, userinfo, no host).
struct HttpUrl {
  std::string host;
  int port = 80;
  std::string target = "/"; ///< path and query
};
Result<HttpUrl> parseHttpUrl(std::string_view url);

/// One request; kUnavailable when the endpoint cannot be reached or does not answer within
/// `timeout` (connect and whole response each).
Result<MetadataResponse>
metadataRequest(const HttpUrl& url, std::string_view method,
                const std::vector<std::pair<std::string, std::string>>& headers,
                std::chrono::milliseconds timeout);

} // namespace exoflow::aws
