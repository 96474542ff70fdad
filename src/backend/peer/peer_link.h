#pragma once
// Internal to the peer backends: one binding at one peer, and reading the peer's answers.

#include <functional>
#include <string>
#include <string_view>

#include "backend/peer/peer_backends.h"

namespace exoflow::backend::peer {

/// One binding at one peer: where its routes are and how to call them.
class Link {
public:
  /// `collection` is the API's word for the kind ("queues", "buckets", "tables"), `name` the
  /// binding's name at the peer.
  static Result<Link> open(const BackendSpec& spec, std::string_view collection,
                           const std::string& name, const BackendContext& context);

  /// "peer:<peer name>".
  const std::string& describe() const { return describe_; }
  /// A request to `<binding's URL><suffix>` with the peer's bearer token.
  net::HttpRequest request(std::string method, std::string_view suffix) const;
  void send(net::HttpRequest request, net::ResponseHandler done) const;
  /// A streamed request body (object uploads).
  void upload(net::HttpRequest request, std::optional<std::uint64_t> size,
              std::function<void(Result<std::unique_ptr<net::HttpUpload>>)> done) const;

private:
  net::HttpClient* http_ = nullptr;
  std::string base_; ///< https://host:port/v1/<collection>/<name>
  std::string token_;
  std::string describe_;
};

/// A path segment percent-encoded: everything but letters, digits, '-', '_' and '~'.
std::string encodeSegment(std::string_view text);

/// The error an answer that is not a success carries: the API code its JSON body names, else
/// the code of its status, else kUnavailable (not the API talking: a gateway, a wrong URL).
Error answerError(const net::HttpResponse& response);

/// A quoted ETag's inside ("\"v1\"" -> "v1"); unquoted text as it is.
std::string unquote(std::string_view etag);

} // namespace exoflow::backend::peer
