#include "client/url.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace exoflow::client::detail {
namespace {

constexpr std::string_view kHex = "0123456789ABCDEF";

bool isUnreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A host name, IPv4 address or IPv6 literal (without brackets): conservative characters only,
// so nothing odd reaches the resolver or the Host header.
bool isValidHost(std::string_view host, bool bracketed) {
  if (host.empty()) return false;
  return std::all_of(host.begin(), host.end(), [bracketed](char c) {
    const auto u = static_cast<unsigned char>(c);
    if (bracketed) return hexValue(c) >= 0 || c == ':' || c == '.';
    return (u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') || c == '-' ||
           c == '.' || c == '_';
  });
}

tl::unexpected<Error> badEndpoint(std::string_view url, std::string_view why) {
  return fail(ErrorCode::kInvalidArgument,
              "endpoint '" + std::string(url) + "': " + std::string(why));
}

} // namespace

Result<Endpoint> parseEndpoint(std::string_view url) {
  constexpr std::string_view kHttp = "http://";
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) {
    return badEndpoint(url, "expected http://host[:port]");
  }
  std::string scheme(url.substr(0, scheme_end));
  std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (scheme == "https") return badEndpoint(url, "https is not supported yet; use http://");
  if (scheme != "http") return badEndpoint(url, "unsupported scheme '" + scheme + "'");

  std::string_view rest = url.substr(kHttp.size());
  if (rest.find_first_of("?#") != std::string_view::npos) {
    return badEndpoint(url, "a query or fragment is not allowed");
  }
  const auto path_start = rest.find('/');
  std::string_view authority = rest.substr(0, path_start);
  std::string_view path = path_start == std::string_view::npos ? "" : rest.substr(path_start);
  if (authority.find('@') != std::string_view::npos) {
    return badEndpoint(url, "user info is not allowed");
  }

  Endpoint endpoint;
  std::string_view port;
  bool bracketed = false;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return badEndpoint(url, "unterminated '[' in host");
    endpoint.host = std::string(authority.substr(1, close - 1));
    bracketed = true;
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return badEndpoint(url, "unexpected text after ']'");
      port = after.substr(1);
      if (port.empty()) return badEndpoint(url, "empty port");
    }
  } else {
    const auto colon = authority.find(':');
    endpoint.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      if (port.empty()) return badEndpoint(url, "empty port");
    }
  }
  if (!isValidHost(endpoint.host, bracketed)) return badEndpoint(url, "missing or invalid host");

  if (port.empty()) {
    endpoint.port = "80";
  } else {
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
      return badEndpoint(url, "invalid port '" + std::string(port) + "'");
    }
    endpoint.port = std::to_string(value);
  }
  const std::string host_part = bracketed ? "[" + endpoint.host + "]" : endpoint.host;
  endpoint.host_header = endpoint.port == "80" ? host_part : host_part + ":" + endpoint.port;

  while (!path.empty() && path.back() == '/')
    path.remove_suffix(1);
  for (char c : path) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return badEndpoint(url, "the path must be plain ASCII");
  }
  endpoint.base_path = std::string(path);
  return endpoint;
}

std::string percentEncode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (isUnreserved(u)) {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0x0f];
    }
  }
  return out;
}

std::string encodePathSegment(std::string_view text) {
  if (!text.empty() && text.find_first_not_of('.') == std::string_view::npos) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i)
      out += "%2E";
    return out;
  }
  return percentEncode(text);
}

bool percentDecode(std::string_view text, std::string& out) {
  out.clear();
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size()) return false;
    const int high = hexValue(text[i + 1]);
    const int low = hexValue(text[i + 2]);
    if (high < 0 || low < 0) return false;
    out += static_cast<char>(high * 16 + low);
    i += 2;
  }
  return true;
}

QueryBuilder& QueryBuilder::add(std::string_view name, std::string_view value) {
  parts_.push_back(percentEncode(name) + "=" + percentEncode(value));
  return *this;
}

QueryBuilder& QueryBuilder::addIfNotEmpty(std::string_view name, std::string_view value) {
  if (!value.empty()) add(name, value);
  return *this;
}

std::string QueryBuilder::str() const {
  std::string out;
  for (const std::string& part : parts_) {
    out += out.empty() ? '?' : '&';
    out += part;
  }
  return out;
}

} // namespace exoflow::client::detail
