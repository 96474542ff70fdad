#include "proxy/api_util.h"

#include <array>
#include <charconv>
#include <ctime>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "proxy/validation.h"

namespace exoflow::proxy {

Response errorResponse(const Error& error, const std::string& request_id) {
  const std::string body = fmt::format(R"({{"error":{{"code":{},"message":{},"request_id":{}}}}})",
                                       jsonString(errorCodeName(error.code)),
                                       jsonString(error.message), jsonString(request_id));
  Response response = jsonResponse(httpStatus(error.code), body);
  if (error.code == ErrorCode::kUnauthenticated) response.header("WWW-Authenticate", "Bearer");
  return response;
}

Response jsonResponse(int status, std::string body) {
  Response response;
  response.status = status;
  response.body = std::move(body);
  response.header("Content-Type", "application/json");
  return response;
}

Response emptyResponse(int status) {
  Response response;
  response.status = status;
  return response;
}

namespace {

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

} // namespace

std::optional<std::string> percentDecode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      const int hi = hexValue(text[i + 1]);
      const int lo = hexValue(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

Result<Query> Query::parse(std::string_view text) {
  Query query;
  while (!text.empty()) {
    const std::size_t amp = text.find('&');
    const std::string_view pair = text.substr(0, amp);
    text = amp == std::string_view::npos ? std::string_view() : text.substr(amp + 1);
    if (pair.empty()) continue;
    const std::size_t eq = pair.find('=');
    auto name = percentDecode(pair.substr(0, eq), true);
    auto value = percentDecode(eq == std::string_view::npos ? "" : pair.substr(eq + 1), true);
    if (!name || !value) {
      return fail(ErrorCode::kInvalidArgument, "malformed percent-encoding in the query string");
    }
    query.params_.emplace(std::move(*name), std::move(*value));
  }
  return query;
}

const std::string* Query::get(std::string_view name) const {
  auto it = params_.find(name);
  return it == params_.end() ? nullptr : &it->second;
}

Result<int> Query::integer(std::string_view name, int min, int max, int fallback) const {
  const std::string* value = get(name);
  if (value == nullptr) return fallback;
  int n = 0;
  const char* end = value->data() + value->size();
  const auto [ptr, ec] = std::from_chars(value->data(), end, n);
  const bool digits_only =
      !value->empty() && value->find_first_not_of("0123456789") == std::string::npos;
  if (!digits_only || ec != std::errc() || ptr != end || n < min || n > max) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("query parameter {} must be an integer {}..{}, got {}", name, min, max,
                            jsonString(*value)));
  }
  return n;
}

Result<std::string> Query::text(std::string_view name) const {
  const std::string* value = get(name);
  if (value == nullptr) return std::string();
  if (!isValidUtf8(*value)) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("query parameter {} is not valid UTF-8", name));
  }
  return *value;
}

std::string jsonString(std::string_view text) {
  return nlohmann::json(std::string(text))
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string httpDate(std::chrono::system_clock::time_point time) {
  const std::time_t t = std::chrono::system_clock::to_time_t(time);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::array<char, 64> out{};
  const std::size_t n = std::strftime(out.data(), out.size(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return std::string(out.data(), n);
}

std::string rfc3339(std::chrono::system_clock::time_point time) {
  const auto since = time.time_since_epoch();
  auto seconds = std::chrono::floor<std::chrono::seconds>(since);
  const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(since - seconds);
  const std::time_t t = static_cast<std::time_t>(seconds.count());
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis.count());
}

bool constantTimeEquals(std::string_view a, std::string_view b) {
  // Compare every byte of the longer one, so the time says nothing about where they differ.
  const std::size_t n = std::max(a.size(), b.size());
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < n; ++i) {
    const auto x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const auto y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

std::string_view opaqueTag(std::string_view tag) {
  tag = trim(tag);
  if (tag.starts_with("W/")) tag.remove_prefix(2);
  return tag;
}

} // namespace

bool etagListMatches(std::string_view header, std::string_view etag) {
  if (trim(header) == "*") return true;
  const std::string_view wanted = opaqueTag(etag);
  while (!header.empty()) {
    const std::size_t comma = header.find(',');
    if (opaqueTag(header.substr(0, comma)) == wanted) return true;
    if (comma == std::string_view::npos) break;
    header.remove_prefix(comma + 1);
  }
  return false;
}

std::optional<std::string> unquoteVersion(std::string_view header) {
  std::string_view v = opaqueTag(header);
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  if (v.empty() || v.find('"') != std::string_view::npos) return std::nullopt;
  return std::string(v);
}

} // namespace exoflow::proxy
