#pragma once
// What the Client's methods share: the options, the transport, and the one place that turns a
// request into a Result (authorization, error mapping).

#include <initializer_list>
#include <string>
#include <string_view>

#include "client/http_transport.h"
#include "client/url.h"
#include "exoflow/client.h"

namespace exoflow::client {

class Client::Impl {
public:
  Impl(ClientOptions options, detail::Endpoint endpoint);

  /// A request for `method` on `target` (already encoded) with the bearer token.
  detail::HttpRequest request(std::string method, std::string target) const;

  /// Sends `request`; a status outside `ok` becomes the Error the response describes.
  Result<detail::HttpResponse> call(const detail::HttpRequest& request,
                                    std::initializer_list<int> ok = {200},
                                    const BodySink* sink = nullptr);

  const ClientOptions& options() const { return options_; }
  detail::HttpTransport& transport() { return transport_; }

private:
  ClientOptions options_;
  detail::HttpTransport transport_;
};

namespace detail {

/// `/v1/<collection>/<encoded name>`, e.g. `/v1/queues/orders`.
std::string resourcePath(std::string_view collection, std::string_view name);

/// The value of an ETag without its quotes (and without a weak `W/` prefix).
std::string unquoteEtag(std::string_view etag);

/// `"version"`: the quoted form If-Match expects; a value already quoted is kept.
std::string quoteEtag(std::string_view version);

} // namespace detail

} // namespace exoflow::client
