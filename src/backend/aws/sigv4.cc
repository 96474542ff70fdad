#include "backend/aws/sigv4.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <ctime>
#include <map>
#include <memory>
#include <mutex>
#include <tuple>

#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

namespace exoflow::aws {
namespace {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

std::string toHex(const unsigned char* data, std::size_t size) {
  static constexpr std::array<char, 16> kHex = {'0', '1', '2', '3', '4', '5', '6', '7',
                                                '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'};
  std::string out(size * 2, '0');
  for (std::size_t i = 0; i < size; ++i) {
    out[2 * i] = kHex[data[i] >> 4];
    out[2 * i + 1] = kHex[data[i] & 15];
  }
  return out;
}

/// SHA-256, fetched from OpenSSL's provider once: OpenSSL 3's one-shot SHA256() and HMAC()
/// look the algorithm up by name, under a lock, on every call.
const EVP_MD* sha256() {
  static const std::unique_ptr<EVP_MD, void (*)(EVP_MD*)> md(
      EVP_MD_fetch(nullptr, "SHA256", nullptr), EVP_MD_free);
  return md.get();
}

using DigestCtx = std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)>;

void digest(std::initializer_list<std::string_view> parts, unsigned char* out) {
  DigestCtx ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_DigestInit_ex(ctx.get(), sha256(), nullptr);
  for (std::string_view part : parts)
    EVP_DigestUpdate(ctx.get(), part.data(), part.size());
  unsigned int size = 0;
  EVP_DigestFinal_ex(ctx.get(), out, &size);
}

/// Raw HMAC-SHA256 (32 bytes), as RFC 2104 defines it over the prefetched digest.
std::string hmac(std::string_view key, std::string_view data) {
  constexpr std::size_t kBlock = 64;
  std::array<unsigned char, SHA256_DIGEST_LENGTH> hashed{};
  if (key.size() > kBlock) {
    digest({key}, hashed.data());
    key = std::string_view(reinterpret_cast<const char*>(hashed.data()), hashed.size());
  }
  std::array<char, kBlock> inner{};
  std::array<char, kBlock> outer{};
  std::memcpy(inner.data(), key.data(), key.size());
  std::memcpy(outer.data(), key.data(), key.size());
  for (std::size_t i = 0; i < kBlock; ++i) {
    inner[i] = static_cast<char>(inner[i] ^ 0x36);
    outer[i] = static_cast<char>(outer[i] ^ 0x5c);
  }
  std::array<unsigned char, SHA256_DIGEST_LENGTH> first{};
  digest({std::string_view(inner.data(), kBlock), data}, first.data());
  std::array<unsigned char, SHA256_DIGEST_LENGTH> out{};
  digest({std::string_view(outer.data(), kBlock),
          std::string_view(reinterpret_cast<const char*>(first.data()), first.size())},
         out.data());
  return {reinterpret_cast<const char*>(out.data()), out.size()};
}

std::string hmacHex(std::string_view key, std::string_view data) {
  const std::string raw = hmac(key, data);
  return toHex(reinterpret_cast<const unsigned char*>(raw.data()), raw.size());
}

std::string dateStamp(std::chrono::system_clock::time_point time) {
  return amzDate(time).substr(0, 8);
}

std::string scopeOf(const SigningParams& params) {
  return fmt::format("{}/{}/{}/aws4_request", dateStamp(params.time), params.region,
                     params.service);
}

std::string deriveKey(const std::string& secret, const std::string& date,
                      const SigningParams& params) {
  std::string key = hmac("AWS4" + secret, date);
  key = hmac(key, params.region);
  key = hmac(key, params.service);
  return hmac(key, "aws4_request");
}

/// The signing key of a secret, day, region and service: four HMACs, the same all day, so
/// the last few are kept (keyed by a hash of the secret, not the secret itself).
std::string signingKey(const Credentials& credentials, const SigningParams& params) {
  using Key = std::tuple<std::string, std::string, std::string, std::string>;
  static std::mutex mutex;
  static std::map<Key, std::string> keys;
  const std::string date = dateStamp(params.time);
  Key id{sha256Hex(credentials.secret_access_key), date, params.region, params.service};
  {
    std::lock_guard lock(mutex);
    if (auto it = keys.find(id); it != keys.end()) return it->second;
  }
  std::string key = deriveKey(credentials.secret_access_key, date, params);
  std::lock_guard lock(mutex);
  if (keys.size() >= 16) keys.clear(); // old days and rotated secrets
  keys.emplace(std::move(id), key);
  return key;
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// Percent-decoding; a '%' not followed by two hex digits stays as it is.
std::string percentDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && hexValue(text[i + 1]) >= 0 &&
        hexValue(text[i + 2]) >= 0) {
      out += static_cast<char>(hexValue(text[i + 1]) * 16 + hexValue(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

/// RFC 3986 dot-segment removal plus collapsing repeated slashes; keeps a trailing slash.
std::string normalizePath(std::string_view path) {
  std::vector<std::string_view> segments;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view segment = path.substr(start, end - start);
    if (segment == "..") {
      if (!segments.empty()) segments.pop_back();
    } else if (!segment.empty() && segment != ".") {
      segments.push_back(segment);
    }
    start = end + 1;
  }
  std::string out;
  for (const std::string_view segment : segments) {
    out += '/';
    out += segment;
  }
  const bool trailing = !path.empty() && (path.back() == '/' || path.ends_with("/.") ||
                                          path.ends_with("/..") || path == "." || path == "..");
  if (out.empty() || trailing) out += '/';
  return out;
}

std::string canonicalPath(const SigningRequest& request, const SigningParams& params) {
  const std::string path = request.path.empty() ? "/" : request.path;
  const std::string normalized = params.normalize_path ? normalizePath(path) : path;
  return params.encode_path ? uriEncode(normalized, true) : normalized;
}

std::string canonicalQuery(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> params;
  std::size_t start = 0;
  while (start < query.size()) {
    std::size_t end = query.find('&', start);
    if (end == std::string_view::npos) end = query.size();
    const std::string_view part = query.substr(start, end - start);
    if (!part.empty()) {
      const std::size_t eq = part.find('=');
      const std::string_view name = part.substr(0, eq);
      const std::string_view value =
          eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1);
      params.emplace_back(uriEncode(percentDecode(name), false),
                          uriEncode(percentDecode(value), false));
    }
    start = end + 1;
  }
  std::sort(params.begin(), params.end());
  std::string out;
  for (const auto& [name, value] : params) {
    if (!out.empty()) out += '&';
    out += name;
    out += '=';
    out += value;
  }
  return out;
}

/// Trims and collapses runs of whitespace (folded lines included) to one space.
std::string canonicalValue(std::string_view value) {
  std::string out;
  bool space = false;
  for (const char c : value) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

struct CanonicalHeaders {
  std::string text;    ///< "name:value\n" per header, sorted
  std::string signed_; ///< "a;b;c"
};

CanonicalHeaders canonicalHeaders(const HeaderList& headers) {
  std::vector<std::pair<std::string, std::string>> sorted;
  for (const auto& [name, value] : headers) {
    std::string lower = name;
    for (char& c : lower) // ASCII, as header names are (std::tolower asks the locale)
      c = c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
    sorted.emplace_back(std::move(lower), canonicalValue(value));
  }
  // Stable: repeated names keep their order when their values are joined.
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  CanonicalHeaders out;
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    if (i > 0 && sorted[i].first == sorted[i - 1].first) {
      out.text.back() = ',';
      out.text += sorted[i].second + '\n';
      continue;
    }
    out.text += sorted[i].first + ':' + sorted[i].second + '\n';
    if (!out.signed_.empty()) out.signed_ += ';';
    out.signed_ += sorted[i].first;
  }
  return out;
}

std::string canonicalRequest(const SigningRequest& request, const SigningParams& params,
                             std::string_view query, const CanonicalHeaders& headers) {
  return fmt::format("{}\n{}\n{}\n{}\n{}\n{}", request.method, canonicalPath(request, params),
                     canonicalQuery(query), headers.text, headers.signed_, request.payload_hash);
}

std::string stringToSign(const SigningParams& params, std::string_view canonical) {
  return fmt::format("{}\n{}\n{}\n{}", kAlgorithm, amzDate(params.time), scopeOf(params),
                     sha256Hex(canonical));
}

} // namespace

std::string sha256Hex(std::string_view data) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> out{};
  digest({data}, out.data());
  return toHex(out.data(), out.size());
}

std::string uriEncode(std::string_view text, bool keep_slash) {
  static constexpr std::array<char, 16> kHex = {'0', '1', '2', '3', '4', '5', '6', '7',
                                                '8', '9', 'A', 'B', 'C', 'D', 'E', 'F'};
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) != 0 || c == '-' || c == '.' || c == '_' || c == '~' ||
        (keep_slash && c == '/')) {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out;
}

std::string amzDate(std::chrono::system_clock::time_point time) {
  const std::time_t t = std::chrono::system_clock::to_time_t(time);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  return fmt::format("{:04}{:02}{:02}T{:02}{:02}{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

Signed signHeaders(const SigningRequest& request, const Credentials& credentials,
                   const SigningParams& params) {
  Signed out;
  out.headers.emplace_back("X-Amz-Date", amzDate(params.time));
  const bool token = !credentials.session_token.empty();
  if (token && params.sign_session_token) {
    out.headers.emplace_back("X-Amz-Security-Token", credentials.session_token);
  }
  if (params.content_sha256_header) {
    out.headers.emplace_back("x-amz-content-sha256", request.payload_hash);
  }
  HeaderList all = request.headers;
  all.insert(all.end(), out.headers.begin(), out.headers.end());
  const CanonicalHeaders headers = canonicalHeaders(all);
  out.canonical_request = canonicalRequest(request, params, request.query, headers);
  out.string_to_sign = stringToSign(params, out.canonical_request);
  out.signature = hmacHex(signingKey(credentials, params), out.string_to_sign);
  out.headers.emplace_back("Authorization",
                           fmt::format("{} Credential={}/{}, SignedHeaders={}, Signature={}",
                                       kAlgorithm, credentials.access_key_id, scopeOf(params),
                                       headers.signed_, out.signature));
  if (token && !params.sign_session_token) {
    out.headers.emplace_back("X-Amz-Security-Token", credentials.session_token);
  }
  return out;
}

Signed presign(const SigningRequest& request, const Credentials& credentials,
               const SigningParams& params, std::chrono::seconds expires) {
  Signed out;
  const CanonicalHeaders headers = canonicalHeaders(request.headers);
  std::string query = request.query;
  const auto add = [&query](std::string_view name, std::string_view value) {
    if (!query.empty()) query += '&';
    query += name;
    query += '=';
    query += uriEncode(value, false);
  };
  add("X-Amz-Algorithm", kAlgorithm);
  add("X-Amz-Credential", credentials.access_key_id + "/" + scopeOf(params));
  add("X-Amz-Date", amzDate(params.time));
  add("X-Amz-Expires", std::to_string(std::clamp<long long>(expires.count(), 1, 604800)));
  const bool token = !credentials.session_token.empty();
  if (token && params.sign_session_token) add("X-Amz-Security-Token", credentials.session_token);
  add("X-Amz-SignedHeaders", headers.signed_);
  out.canonical_request = canonicalRequest(request, params, query, headers);
  out.string_to_sign = stringToSign(params, out.canonical_request);
  out.signature = hmacHex(signingKey(credentials, params), out.string_to_sign);
  add("X-Amz-Signature", out.signature);
  if (token && !params.sign_session_token) add("X-Amz-Security-Token", credentials.session_token);
  out.query = std::move(query);
  return out;
}

ChunkSigner::ChunkSigner(const Signed& seed, const Credentials& credentials,
                         const SigningParams& params)
    : key_(signingKey(credentials, params)), scope_(scopeOf(params)),
      timestamp_(amzDate(params.time)), previous_(seed.signature) {}

std::string ChunkSigner::frame(std::string_view data) {
  static const std::string empty_hash = sha256Hex("");
  const std::string to_sign =
      fmt::format("AWS4-HMAC-SHA256-PAYLOAD\n{}\n{}\n{}\n{}\n{}", timestamp_, scope_, previous_,
                  empty_hash, sha256Hex(data));
  previous_ = hmacHex(key_, to_sign);
  std::string out = fmt::format("{:x};chunk-signature={}\r\n", data.size(), previous_);
  out.append(data);
  out += "\r\n";
  return out;
}

std::size_t ChunkSigner::encodedLength(std::size_t size, std::size_t chunk_size) {
  const auto framed = [](std::size_t n) {
    // "<hex>;chunk-signature=<64 hex>\r\n<data>\r\n"
    return fmt::format("{:x}", n).size() + 17 + 64 + 2 + n + 2;
  };
  std::size_t total = 0;
  for (std::size_t left = size; left > 0;) {
    const std::size_t n = std::min(left, chunk_size);
    total += framed(n);
    left -= n;
  }
  return total + framed(0);
}

} // namespace exoflow::aws
