#pragma once
// Base-URL parsing and percent-encoding for libexoclient: pure functions, no network.

#include <string>
#include <string_view>
#include <vector>

#include "exoflow/errors.h"

namespace exoflow::client::detail {

/// Where the proxy is: what to resolve and connect to, and what to prefix to every path.
struct Endpoint {
  std::string host;        ///< for the resolver: a name or an address, IPv6 without brackets
  std::string port;        ///< decimal, "80" when the URL names none
  std::string host_header; ///< value of the Host header: host[:port], IPv6 in brackets
  std::string base_path;   ///< "" or "/prefix" without a trailing slash
};

/// Parses `http://host[:port][/prefix][/]`. Refuses https (not supported yet), other schemes,
/// user info, queries, fragments and malformed ports with kInvalidArgument.
Result<Endpoint> parseEndpoint(std::string_view url);

/// Percent-encodes every byte outside RFC 3986's unreserved set (`A-Z a-z 0-9 - . _ ~`), so
/// `/`, space, `%` and UTF-8 bytes all become `%XX` (upper-case hex).
std::string percentEncode(std::string_view text);

/// Encodes one path segment (a queue, bucket or table name, a key or a receipt). As
/// percentEncode, and a segment made only of dots (`.`, `..`) has its dots encoded too, so no
/// server or intermediary can take it for a dot segment and resolve it.
std::string encodePathSegment(std::string_view text);

/// Decodes `%XX` escapes; false on a malformed escape. (Used by tests and for symmetry.)
bool percentDecode(std::string_view text, std::string& out);

/// Builds a query string in insertion order: `?a=1&b=x%20y`, or "" with no parameters.
class QueryBuilder {
public:
  /// Adds `name=value`, both percent-encoded.
  QueryBuilder& add(std::string_view name, std::string_view value);
  /// Adds `name=value` only when `value` is not empty.
  QueryBuilder& addIfNotEmpty(std::string_view name, std::string_view value);
  /// The query with its leading `?`, or "" when nothing was added.
  std::string str() const;

private:
  std::vector<std::string> parts_;
};

} // namespace exoflow::client::detail
