#pragma once
// Reading the JSON answers of cloud services without exceptions or copies: a member that may be
// missing, a string member, and a decimal number sent as text.

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace exoflow::backend::json_fields {

/// `j[key]` when it is there, else null (which iterates as empty): no copies, no temporaries.
inline const nlohmann::json& member(const nlohmann::json& j, const char* key) {
  static const nlohmann::json nothing;
  if (!j.is_object()) return nothing;
  auto it = j.find(key);
  return it == j.end() ? nothing : *it;
}

/// A string member, or `fallback`.
inline std::string text(const nlohmann::json& j, const char* key, std::string_view fallback = {}) {
  const nlohmann::json& value = member(j, key);
  return value.is_string() ? value.get<std::string>() : std::string(fallback);
}

/// A decimal number sent as text; `fallback` for anything else (never throws).
inline std::int64_t number(std::string_view digits, std::int64_t fallback) {
  std::int64_t value = 0;
  const char* end = digits.data() + digits.size();
  auto [at, ec] = std::from_chars(digits.data(), end, value);
  return ec == std::errc() && at == end ? value : fallback;
}

} // namespace exoflow::backend::json_fields
