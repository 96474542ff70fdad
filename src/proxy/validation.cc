#include "proxy/validation.h"

#include <optional>

#include <fmt/format.h>

namespace exoflow::proxy {

namespace {

/// Decodes the code point at `i` and advances past it; nothing for invalid UTF-8.
std::optional<char32_t> nextCodePoint(std::string_view s, std::size_t& i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) {
    ++i;
    return b0;
  }
  std::size_t len = 0;
  char32_t cp = 0;
  char32_t min = 0;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2;
    cp = b0 & 0x1F;
    min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3;
    cp = b0 & 0x0F;
    min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4;
    cp = b0 & 0x07;
    min = 0x10000;
  } else {
    return std::nullopt;
  }
  if (i + len > s.size()) return std::nullopt;
  for (std::size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return std::nullopt;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return std::nullopt;
  i += len;
  return cp;
}

bool isMessageChar(char32_t c) {
  return c == 0x09 || c == 0x0A || c == 0x0D || (c >= 0x20 && c <= 0xD7FF) ||
         (c >= 0xE000 && c <= 0xFFFD) || (c >= 0x10000 && c <= 0x10FFFF);
}

} // namespace

bool isValidUtf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    if (!nextCodePoint(text, i)) return false;
  }
  return true;
}

bool isServiceName(std::string_view name) {
  if (name.ends_with("-dlq")) name.remove_suffix(4);
  if (name.size() < 2 || name.size() > 32) return false;
  if (name.front() < 'a' || name.front() > 'z' || name.back() == '-') return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return name.find("--") == std::string_view::npos;
}

Result<void> checkKey(std::string_view key, std::size_t max_bytes, std::string_view what) {
  if (key.empty() || key.size() > max_bytes) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("an {} has 1..{} bytes; this one has {}", what, max_bytes, key.size()));
  }
  std::size_t i = 0;
  while (i < key.size()) {
    const std::size_t at = i;
    auto cp = nextCodePoint(key, i);
    if (!cp) {
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("the {} is not valid UTF-8 (byte {})", what, at));
    }
    if (*cp < 0x20 || *cp == 0x7F) {
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("the {} holds the control character U+{:04X} at byte {}", what,
                              static_cast<std::uint32_t>(*cp), at));
    }
  }
  return {};
}

Result<void> checkMessageBody(std::string_view body, std::uint64_t max_bytes) {
  if (body.empty()) return fail(ErrorCode::kInvalidArgument, "a message body may not be empty");
  if (body.size() > max_bytes) {
    return fail(ErrorCode::kPayloadTooLarge,
                fmt::format("a message body has at most {} bytes of UTF-8; this one has {}",
                            max_bytes, body.size()));
  }
  std::size_t i = 0;
  while (i < body.size()) {
    const std::size_t at = i;
    auto cp = nextCodePoint(body, i);
    if (!cp) {
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("the message body is not valid UTF-8 (byte {})", at));
    }
    if (!isMessageChar(*cp)) {
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("the message body holds U+{:04X} at byte {}, which queues do not "
                              "carry (allowed: tab, LF, CR, U+0020..U+D7FF, U+E000..U+FFFD, "
                              "U+10000..U+10FFFF)",
                              static_cast<std::uint32_t>(*cp), at));
    }
  }
  return {};
}

Result<void> checkAttributeName(std::string_view name) {
  const bool ok = !name.empty() && name.size() <= 256 &&
                  name.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                         "0123456789_.-") == std::string_view::npos;
  if (ok) return {};
  return fail(
      ErrorCode::kInvalidArgument,
      fmt::format("attribute names are 1..256 of A-Z a-z 0-9 _ . -; got \"{}\"",
                  name.size() > 64 ? std::string(name.substr(0, 64)) + "..." : std::string(name)));
}

bool isReceipt(std::string_view receipt) {
  return !receipt.empty() && receipt.size() <= 4096 &&
         receipt.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                   "0123456789-_") == std::string_view::npos;
}

} // namespace exoflow::proxy
