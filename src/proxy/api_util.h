#pragma once
// Small pieces every API handler uses: JSON responses and errors in the API's format, query
// strings, percent-decoding, dates, ETag matching and the token comparison.

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.h"
#include "proxy/http_types.h"

namespace exoflow::proxy {

/// `{"error": {"code", "message", "request_id"}}` with the code's HTTP status.
Response errorResponse(const Error& error, const std::string& request_id);

/// A JSON body (already serialized) with Content-Type application/json.
Response jsonResponse(int status, std::string body);

/// A response without a body (204).
Response emptyResponse(int status);

/// Decodes %XX escapes; with `plus_is_space` (query strings) also "+" as a space. Nothing for a
/// malformed escape.
std::optional<std::string> percentDecode(std::string_view text, bool plus_is_space);

/// Decoded query parameters; the first of repeated names wins.
class Query {
public:
  /// Parses the part after "?"; kInvalidArgument for a malformed escape.
  static Result<Query> parse(std::string_view text);

  /// The value, if the parameter is present.
  const std::string* get(std::string_view name) const;
  /// An integer parameter within [min, max], or `fallback` when absent. A value that is not a
  /// plain decimal number or lies outside the range is kInvalidArgument, never clamped.
  Result<int> integer(std::string_view name, int min, int max, int fallback) const;
  /// A text parameter that must be valid UTF-8 (it is echoed in JSON); "" when absent.
  Result<std::string> text(std::string_view name) const;

private:
  std::map<std::string, std::string, std::less<>> params_;
};

/// A JSON string literal, quotes included; invalid UTF-8 is replaced, never thrown on.
std::string jsonString(std::string_view text);

/// An IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") for Last-Modified.
std::string httpDate(std::chrono::system_clock::time_point time);

/// RFC 3339 in UTC with milliseconds ("2024-05-01T12:00:00.123Z").
std::string rfc3339(std::chrono::system_clock::time_point time);

/// Compares two secrets in time that depends only on their lengths.
bool constantTimeEquals(std::string_view a, std::string_view b);

/// True when an If-None-Match header value ("*", or a list of entity tags, weak ones included)
/// matches `etag` (a quoted entity tag) by the weak comparison of RFC 9110.
bool etagListMatches(std::string_view header, std::string_view etag);

/// An If-Match value as the kv API takes it: `"v"`, `W/"v"` or bare `v`, returned unquoted.
std::optional<std::string> unquoteVersion(std::string_view header);

/// The `service`, `op` and start of a request, for the request metrics.
struct RequestLabels {
  std::string service = "-";
  std::string op = "-";
};

} // namespace exoflow::proxy
