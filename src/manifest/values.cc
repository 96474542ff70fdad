#include "manifest/values.h"

#include <array>
#include <cstring>
#include <limits>

#include <arpa/inet.h>
#include <fmt/format.h>

namespace exoflow::manifest {

namespace {

bool isDigit(char c) {
  return c >= '0' && c <= '9';
}
bool isLower(char c) {
  return c >= 'a' && c <= 'z';
}
bool isHex(char c) {
  return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool allOf(std::string_view s, bool (*pred)(char)) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!pred(c)) return false;
  }
  return true;
}

/// Parses decimal digits into an unsigned value; empty on overflow or a non-digit.
std::optional<std::uint64_t> parseDigits(std::string_view s, int base = 10) {
  if (s.empty()) return std::nullopt;
  std::uint64_t value = 0;
  for (char c : s) {
    int digit = 0;
    if (isDigit(c)) {
      digit = c - '0';
    } else if (base == 16 && isHex(c)) {
      digit = (c | 0x20) - 'a' + 10;
    } else {
      return std::nullopt;
    }
    if (digit >= base) return std::nullopt;
    if (value > (std::numeric_limits<std::uint64_t>::max() - static_cast<unsigned>(digit)) /
                    static_cast<unsigned>(base)) {
      return std::nullopt;
    }
    value = value * static_cast<unsigned>(base) + static_cast<unsigned>(digit);
  }
  return value;
}

/// The core schema's float: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?, .inf, .nan.
bool isCoreFloat(std::string_view s) {
  static constexpr std::array<std::string_view, 9> kSpecial = {
      ".inf", ".Inf", ".INF", ".nan", ".NaN", ".NAN", "-.inf", "-.Inf", "-.INF"};
  for (std::string_view special : kSpecial) {
    if (s == special) return true;
  }
  if (s == "+.inf" || s == "+.Inf" || s == "+.INF") return true;
  std::size_t i = 0;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
  std::size_t digits = 0;
  while (i < s.size() && isDigit(s[i]))
    ++i, ++digits;
  bool dot = false;
  if (i < s.size() && s[i] == '.') {
    dot = true;
    ++i;
    std::size_t fraction = 0;
    while (i < s.size() && isDigit(s[i]))
      ++i, ++fraction;
    if (digits == 0 && fraction == 0) return false;
  } else if (digits == 0) {
    return false;
  }
  bool exponent = false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    exponent = true;
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    std::size_t exp_digits = 0;
    while (i < s.size() && isDigit(s[i]))
      ++i, ++exp_digits;
    if (exp_digits == 0) return false;
  }
  return i == s.size() && (dot || exponent);
}

} // namespace

CoreType resolvePlainScalar(std::string_view text) {
  if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL") {
    return CoreType::kNull;
  }
  if (parseCoreBool(text)) return CoreType::kBool;
  if (parseCoreInt(text)) return CoreType::kInt;
  // An integer too large for 64 bits is still an integer, not a string.
  std::string_view digits = text;
  if (!digits.empty() && (digits[0] == '-' || digits[0] == '+')) digits.remove_prefix(1);
  if (allOf(digits, isDigit)) return CoreType::kInt;
  if (isCoreFloat(text)) return CoreType::kFloat;
  return CoreType::kString;
}

std::optional<std::int64_t> parseCoreInt(std::string_view text) {
  std::optional<std::uint64_t> magnitude;
  bool negative = false;
  if (text.starts_with("0o")) {
    magnitude = parseDigits(text.substr(2), 8);
  } else if (text.starts_with("0x")) {
    magnitude = parseDigits(text.substr(2), 16);
  } else {
    if (!text.empty() && (text[0] == '-' || text[0] == '+')) {
      negative = text[0] == '-';
      text.remove_prefix(1);
    }
    magnitude = parseDigits(text);
  }
  if (!magnitude) return std::nullopt;
  const auto limit = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  if (*magnitude > limit + (negative ? 1 : 0)) return std::nullopt;
  if (negative) return static_cast<std::int64_t>(0 - *magnitude);
  return static_cast<std::int64_t>(*magnitude);
}

std::optional<bool> parseCoreBool(std::string_view text) {
  if (text == "true" || text == "True" || text == "TRUE") return true;
  if (text == "false" || text == "False" || text == "FALSE") return false;
  return std::nullopt;
}

namespace {

struct Unit {
  std::string_view name;
  std::uint64_t factor;
};

constexpr std::array<Unit, 5> kDurationUnits = {
    {{"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}, {"d", 86'400'000}}};
constexpr std::array<Unit, 5> kSizeUnits = {
    {{"B", 1}, {"KiB", 1ULL << 10}, {"MiB", 1ULL << 20}, {"GiB", 1ULL << 30}, {"TiB", 1ULL << 40}}};

/// Splits "30s" into 30 and "s"; explains what is wrong otherwise.
template <std::size_t N>
Parsed<std::uint64_t> parseQuantity(std::string_view text, const std::array<Unit, N>& units,
                                    std::string_view unit_list, std::string_view example) {
  std::size_t i = 0;
  while (i < text.size() && isDigit(text[i]))
    ++i;
  const std::string_view number = text.substr(0, i);
  const std::string_view unit = text.substr(i);
  if (number.empty()) {
    if (!text.empty() && (text[0] == '-' || text[0] == '+')) {
      return Refusal("write a whole number without a sign, e.g. " + std::string(example));
    }
    return Refusal(fmt::format("write a whole number followed by one of {}", unit_list));
  }
  if (unit.empty()) return Refusal(fmt::format("add a unit: one of {}", unit_list));
  if (unit[0] == '.' || unit[0] == ',') {
    return Refusal(fmt::format("use a whole number with a smaller unit, e.g. {}", example));
  }
  for (const Unit& u : units) {
    if (unit == u.name) {
      const auto value = parseDigits(number);
      if (!value || *value > std::numeric_limits<std::uint64_t>::max() / u.factor) {
        return Refusal("the number is too large");
      }
      return *value * u.factor;
    }
  }
  for (const Unit& u : units) {
    if (unit.starts_with(u.name) && unit.size() > u.name.size() && isDigit(unit[u.name.size()])) {
      return Refusal(fmt::format("use a single unit, e.g. {}", example));
    }
  }
  if (unit.find(' ') != std::string_view::npos || unit.find('\t') != std::string_view::npos) {
    return Refusal(fmt::format("write no space between the number and the unit, e.g. {}", example));
  }
  return Refusal(fmt::format("units are {}", unit_list));
}

template <std::size_t N>
std::string formatQuantity(std::uint64_t value, const std::array<Unit, N>& units) {
  for (std::size_t i = N; i-- > 0;) {
    if (value != 0 && value % units[i].factor == 0) {
      return fmt::format("{}{}", value / units[i].factor, units[i].name);
    }
  }
  return fmt::format("{}{}", value, units[0].name == "ms" && value == 0 ? "s" : units[0].name);
}

} // namespace

Parsed<model::Millis> parseDuration(std::string_view text) {
  auto q = parseQuantity(text, kDurationUnits, "ms, s, m, h, d", "90m");
  if (!q) return Refusal(q.error());
  if (*q > static_cast<std::uint64_t>(std::numeric_limits<model::Millis>::max())) {
    return Refusal("the number is too large");
  }
  return static_cast<model::Millis>(*q);
}

Parsed<model::Bytes> parseSize(std::string_view text) {
  auto q = parseQuantity(text, kSizeUnits, "B, KiB, MiB, GiB, TiB", "1536MiB");
  if (!q) {
    // Common spellings of other conventions deserve a precise hint.
    for (std::string_view other : {"KB", "kB", "kb", "Kb", "MB", "mb", "GB", "gb", "TB", "tb",
                                   "kib", "mib", "gib", "tib", "KIB", "MIB", "GIB", "TIB"}) {
      if (text.ends_with(other) && text.size() > other.size() &&
          isDigit(text[text.size() - other.size() - 1])) {
        return Refusal(fmt::format("units are binary and case-sensitive: B, KiB, MiB, GiB, TiB "
                                   "(\"{}\" is not one)",
                                   other));
      }
    }
    return Refusal(q.error());
  }
  return *q;
}

std::string formatDuration(model::Millis millis) {
  return formatQuantity(static_cast<std::uint64_t>(millis), kDurationUnits);
}

std::string formatSize(model::Bytes bytes) {
  return formatQuantity(bytes, kSizeUnits);
}

Parsed<std::string> parseName(std::string_view text) {
  if (text.size() < 2 || text.size() > 32) {
    return Refusal(fmt::format("a name has 2 to 32 characters; this one has {}", text.size()));
  }
  if (!isLower(text[0])) return Refusal("a name starts with a lowercase letter");
  for (char c : text) {
    if (!isLower(c) && !isDigit(c) && c != '-') {
      return Refusal("use lowercase letters, digits and \"-\" only");
    }
  }
  if (text.back() == '-') return Refusal("a name does not end with \"-\"");
  if (text.find("--") != std::string_view::npos) return Refusal("\"--\" is not allowed in names");
  return std::string(text);
}

Parsed<PortRange> parsePortRange(std::string_view text) {
  const std::size_t dash = text.find('-');
  if (dash == std::string_view::npos || dash == 0) {
    return Refusal("write a port as a number (port: 22) or a range as first-last (9000-9010)");
  }
  const auto from = parseDigits(text.substr(0, dash));
  const auto to = parseDigits(text.substr(dash + 1));
  if (!from || !to) {
    return Refusal("write a range as two numbers joined by \"-\", e.g. 9000-9010");
  }
  if (*from < 1 || *from > 65535 || *to < 1 || *to > 65535) {
    return Refusal("ports are 1..65535");
  }
  if (*from > *to) {
    return Refusal(fmt::format("the range starts above its end; did you mean {}-{}?", *to, *from));
  }
  return PortRange{static_cast<int>(*from), static_cast<int>(*to)};
}

namespace {

/// Clears the host bits of `bytes` beyond `prefix`; true when any were set.
bool clearHostBits(unsigned char* bytes, std::size_t size, unsigned prefix) {
  bool any = false;
  for (std::size_t i = 0; i < size; ++i) {
    const unsigned bit_start = static_cast<unsigned>(i) * 8;
    unsigned char mask = 0xFF;
    if (bit_start >= prefix) {
      mask = 0;
    } else if (prefix - bit_start < 8) {
      mask = static_cast<unsigned char>(0xFF << (8 - (prefix - bit_start)));
    }
    if ((bytes[i] & ~mask) != 0) any = true;
    bytes[i] &= mask;
  }
  return any;
}

} // namespace

Parsed<Cidr> parseCidr(std::string_view text) {
  const std::size_t slash = text.find('/');
  const std::string address(text.substr(0, slash));
  const bool v6 = address.find(':') != std::string::npos;
  std::array<unsigned char, 16> bytes{};
  if (inet_pton(v6 ? AF_INET6 : AF_INET, address.c_str(), bytes.data()) != 1) {
    return Refusal(v6 ? "that is not an IPv6 address" : "that is not an IPv4 address");
  }
  const unsigned max_prefix = v6 ? 128 : 32;
  if (slash == std::string_view::npos) {
    return Refusal(
        fmt::format("add the prefix length: {}/{} for this one address", address, max_prefix));
  }
  const std::string_view prefix_text = text.substr(slash + 1);
  const auto prefix = prefix_text.size() <= 3 ? parseDigits(prefix_text) : std::nullopt;
  if (!prefix || *prefix > max_prefix) {
    return Refusal(fmt::format("the prefix length is a number 0..{}", max_prefix));
  }
  const bool host_bits = clearHostBits(bytes.data(), v6 ? 16 : 4, static_cast<unsigned>(*prefix));
  std::array<char, INET6_ADDRSTRLEN> buffer{};
  inet_ntop(v6 ? AF_INET6 : AF_INET, bytes.data(), buffer.data(), buffer.size());
  Cidr cidr{fmt::format("{}/{}", buffer.data(), *prefix), v6};
  if (host_bits) {
    return Refusal(fmt::format("host bits are set; the network is {}", cidr.canonical));
  }
  return cidr;
}

Parsed<std::string> parseHttpPath(std::string_view text, bool allow_wildcard) {
  if (text.empty() || text[0] != '/') return Refusal("a path starts with \"/\"");
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '*') {
      if (!allow_wildcard) return Refusal("\"*\" is allowed only at the end of a route path");
      if (i + 1 != text.size()) return Refusal("a single \"*\" is allowed, at the end only");
      continue;
    }
    const bool ok = isLower(c) || (c >= 'A' && c <= 'Z') || isDigit(c) ||
                    (c != '\0' && std::strchr("-._~!$&'()+,;=:@/%", c) != nullptr);
    if (!ok) {
      if (c == '?' || c == '#') return Refusal("a path has no query or fragment");
      return Refusal("use URL path characters only (letters, digits, - . _ ~ / and %XX escapes)");
    }
    if (c == '%' && (i + 2 >= text.size() || !isHex(text[i + 1]) || !isHex(text[i + 2]))) {
      return Refusal("\"%\" starts an escape such as %20");
    }
  }
  return std::string(text);
}

Parsed<std::string> parseDnsName(std::string_view text, bool label_only) {
  std::string_view rest = text;
  if (!label_only && rest.size() > 1 && rest.back() == '.') rest.remove_suffix(1);
  if (rest.empty() || rest.size() > 253) return Refusal("a DNS name has 1 to 253 characters");
  while (true) {
    const std::size_t dot = rest.find('.');
    const std::string_view label = rest.substr(0, dot);
    if (label.empty() || label.size() > 63) return Refusal("each label has 1 to 63 characters");
    for (char c : label) {
      if (!isLower(c) && !(c >= 'A' && c <= 'Z') && !isDigit(c) && c != '-') {
        return Refusal("labels use letters, digits and \"-\" only");
      }
    }
    if (label.front() == '-' || label.back() == '-') {
      return Refusal("a label does not start or end with \"-\"");
    }
    if (dot == std::string_view::npos) break;
    if (label_only) return Refusal("write a single label, without dots");
    rest.remove_prefix(dot + 1);
  }
  return std::string(text);
}

} // namespace exoflow::manifest
