#include "backend/azure/shared_key.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <map>

#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace exoflow::azure {
namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

/// The value of a header (names compared without case); repeated headers joined with ",".
std::string headerValue(const SignableRequest& request, std::string_view lower_name) {
  std::string value;
  bool found = false;
  for (const auto& [name, v] : request.headers) {
    if (lower(name) != lower_name) continue;
    if (found) value += ',';
    value += v;
    found = true;
  }
  return value;
}

/// Trimmed, with each run of whitespace folded into one space.
std::string folded(std::string_view value) {
  std::string out;
  bool space = false;
  for (char c : value) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      space = true;
      continue;
    }
    if (space && !out.empty()) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

} // namespace

std::string canonicalizedHeaders(const std::vector<std::pair<std::string, std::string>>& headers) {
  std::map<std::string, std::string> ms;
  for (const auto& [name, value] : headers) {
    std::string key = lower(folded(name));
    if (!key.starts_with("x-ms-")) continue;
    auto [it, fresh] = ms.emplace(key, folded(value));
    if (!fresh) it->second += "," + folded(value);
  }
  std::string out;
  for (const auto& [name, value] : ms)
    out.append(name).append(":").append(value).append("\n");
  return out;
}

std::string canonicalizedResource(std::string_view account, const SignableRequest& request,
                                  StorageService service) {
  std::string out = fmt::format("/{}{}", account, request.path.empty() ? "/" : request.path);
  if (service == StorageService::kTable) {
    for (const auto& [name, value] : request.query) {
      if (lower(name) == "comp") return out.append("?comp=").append(value);
    }
    return out;
  }
  std::map<std::string, std::vector<std::string>> params;
  for (const auto& [name, value] : request.query)
    params[lower(name)].push_back(value);
  for (auto& [name, values] : params) {
    std::sort(values.begin(), values.end());
    out += fmt::format("\n{}:{}", name, fmt::join(values, ","));
  }
  return out;
}

std::string stringToSign(std::string_view account, const SignableRequest& request,
                         StorageService service) {
  if (service == StorageService::kTable) {
    std::string date = headerValue(request, "x-ms-date");
    if (date.empty()) date = headerValue(request, "date");
    return fmt::format("{}\n{}\n{}\n{}\n{}", request.method, headerValue(request, "content-md5"),
                       headerValue(request, "content-type"), date,
                       canonicalizedResource(account, request, service));
  }
  // Since version 2015-02-21 a zero Content-Length is signed as empty.
  std::string length = headerValue(request, "content-length");
  if (length == "0") length.clear();
  // With x-ms-date (always sent here) the Date line is empty: the header signs the time.
  const std::string date =
      headerValue(request, "x-ms-date").empty() ? headerValue(request, "date") : std::string();
  const std::array<std::string, 12> lines = {request.method,
                                             headerValue(request, "content-encoding"),
                                             headerValue(request, "content-language"),
                                             length,
                                             headerValue(request, "content-md5"),
                                             headerValue(request, "content-type"),
                                             date,
                                             headerValue(request, "if-modified-since"),
                                             headerValue(request, "if-match"),
                                             headerValue(request, "if-none-match"),
                                             headerValue(request, "if-unmodified-since"),
                                             headerValue(request, "range")};
  std::string out;
  for (const std::string& line : lines)
    out += line + "\n";
  return out + canonicalizedHeaders(request.headers) +
         canonicalizedResource(account, request, service);
}

std::string stringToSignTableLite(std::string_view account, const SignableRequest& request) {
  std::string date = headerValue(request, "x-ms-date");
  if (date.empty()) date = headerValue(request, "date");
  return date + "\n" + canonicalizedResource(account, request, StorageService::kTable);
}

Result<std::string> signature(std::string_view account_key, std::string_view string_to_sign) {
  std::optional<std::string> key = base64Decode(account_key);
  if (!key || key->empty()) {
    return fail(ErrorCode::kInvalidArgument, "the Azure storage account key is not base64");
  }
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int size = 0;
  if (HMAC(EVP_sha256(), key->data(), static_cast<int>(key->size()),
           reinterpret_cast<const unsigned char*>(string_to_sign.data()), string_to_sign.size(),
           mac.data(), &size) == nullptr) {
    return fail(ErrorCode::kInternal, "HMAC-SHA256 failed");
  }
  return base64Encode(std::string_view(reinterpret_cast<const char*>(mac.data()), size));
}

Result<std::string> authorization(std::string_view account, std::string_view account_key,
                                  const SignableRequest& request, StorageService service,
                                  bool lite) {
  const std::string to_sign = lite && service == StorageService::kTable
                                  ? stringToSignTableLite(account, request)
                                  : stringToSign(account, request, service);
  Result<std::string> mac = signature(account_key, to_sign);
  if (!mac) return mac;
  return fmt::format("{} {}:{}", lite ? "SharedKeyLite" : "SharedKey", account, *mac);
}

std::string rfc1123Date(std::chrono::system_clock::time_point time) {
  const std::time_t t = std::chrono::system_clock::to_time_t(time);
  std::tm utc{};
  ::gmtime_r(&t, &utc);
  std::array<char, 64> buffer{};
  const std::size_t n =
      std::strftime(buffer.data(), buffer.size(), "%a, %d %b %Y %H:%M:%S GMT", &utc);
  return std::string(buffer.data(), n);
}

std::string base64Encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(std::max(n, 0)));
  return out;
}

std::optional<std::string> base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const bool pad =
        c == '=' && i + 2 >= text.size() && (i + 1 == text.size() || text[i + 1] == '=');
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/' || pad)) {
      return std::nullopt;
    }
  }
  std::string out(3 * (text.size() / 4), '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  std::size_t size = static_cast<std::size_t>(n);
  // EVP_DecodeBlock counts the padding as zero bytes.
  if (text.ends_with("==")) {
    size -= 2;
  } else if (text.ends_with('=')) {
    size -= 1;
  }
  out.resize(size);
  return out;
}

} // namespace exoflow::azure
