#include "backend/local/codec.h"

#include <chrono>

#include <openssl/rand.h>

namespace exoflow::backend::local {
namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr std::string_view kHexDigits = "0123456789abcdef";
constexpr char kCursorVersion = 'c';

int base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

void appendLength(std::string& out, std::size_t n) {
  out += std::to_string(n);
  out += ':';
}

/// Reads "<decimal>:" and then that many bytes from `in`, advancing it.
std::optional<std::string> readField(std::string_view& in) {
  const std::size_t colon = in.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon > 19) return std::nullopt;
  std::size_t n = 0;
  for (char c : in.substr(0, colon)) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<std::size_t>(c - '0');
  }
  in.remove_prefix(colon + 1);
  if (n > in.size()) return std::nullopt;
  std::string field(in.substr(0, n));
  in.remove_prefix(n);
  return field;
}

} // namespace

std::string base64UrlEncode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const auto n = (static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16) |
                   (static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8) |
                   static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 2]));
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest == 1) {
    const auto n = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
  } else if (rest == 2) {
    const auto n = (static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16) |
                   (static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
  }
  return out;
}

std::optional<std::string> base64UrlDecode(std::string_view text) {
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    const int v = base64Value(c);
    if (v < 0) return std::nullopt;
    buffer = (buffer << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xff);
    }
  }
  // Leftover bits must be zero, so every byte string has exactly one encoding.
  if ((buffer & ((1U << bits) - 1)) != 0) return std::nullopt;
  return out;
}

std::string toHex(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    out += kHexDigits[b >> 4];
    out += kHexDigits[b & 15];
  }
  return out;
}

std::optional<std::string> fromHex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string out;
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const int hi = hexValue(hex[i]);
    const int lo = hexValue(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>((hi << 4) | lo);
  }
  return out;
}

Result<std::string> randomBytes(std::size_t count) {
  std::string out(count, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(count)) != 1) {
    return fail(ErrorCode::kInternal, "the random number generator failed");
  }
  return out;
}

Result<std::string> randomId() {
  Result<std::string> bytes = randomBytes(16);
  if (!bytes) return bytes;
  return toHex(*bytes);
}

std::int64_t nowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string encodeMap(const std::map<std::string, std::string>& map) {
  std::string out;
  for (const auto& [name, value] : map) {
    appendLength(out, name.size());
    out += name;
    appendLength(out, value.size());
    out += value;
  }
  return out;
}

std::optional<std::map<std::string, std::string>> decodeMap(std::string_view encoded) {
  std::map<std::string, std::string> map;
  while (!encoded.empty()) {
    std::optional<std::string> name = readField(encoded);
    if (!name) return std::nullopt;
    std::optional<std::string> value = readField(encoded);
    if (!value) return std::nullopt;
    map.emplace(std::move(*name), std::move(*value));
  }
  return map;
}

std::optional<std::string> prefixSuccessor(std::string_view prefix) {
  std::string next(prefix);
  while (!next.empty() && static_cast<unsigned char>(next.back()) == 0xff)
    next.pop_back();
  if (next.empty()) return std::nullopt;
  next.back() = static_cast<char>(static_cast<unsigned char>(next.back()) + 1);
  return next;
}

std::string encodeCursor(std::string_view resume_key) {
  std::string raw(1, kCursorVersion);
  raw += resume_key;
  return base64UrlEncode(raw);
}

Result<std::string> decodeCursor(std::string_view cursor) {
  std::optional<std::string> raw = base64UrlDecode(cursor);
  if (!raw || raw->empty() || (*raw)[0] != kCursorVersion) {
    return fail(ErrorCode::kInvalidArgument, "malformed cursor");
  }
  return raw->substr(1);
}

} // namespace exoflow::backend::local
