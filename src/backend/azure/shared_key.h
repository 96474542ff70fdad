#pragma once
// Azure Storage Shared Key: the string to sign for Blob and Queue (the full form, with the
// canonicalized x-ms- headers and every query parameter), for Table (the shorter form: Content-MD5,
// Content-Type, date and resource with `comp` only) and Shared Key Lite for Table; the HMAC-SHA256
// signature and the Authorization header. Pure functions of their inputs, the date included:
// tested against strings worked out by hand from Microsoft's documented rules, and on Azurite.

#include <utility>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace exoflow::azure {

enum class StorageService { kBlob, kQueue, kTable };

/// A request as it will go on the wire.
struct SignableRequest {
  std::string method;
  /// The URL path as sent, percent-encoded (an emulator's path-style URLs start with
  /// "/<account>/").
  std::string path = "/";
  /// The query parameters, decoded, in any order.
  std::vector<std::pair<std::string, std::string>> query;
  /// The headers as sent (Content-Length included when the body is not empty); names in any case.
  std::vector<std::pair<std::string, std::string>> headers;
};

/// The x-ms- headers: names lower-cased and sorted, values trimmed with runs of whitespace
/// folded, each line "name:value\n".
std::string canonicalizedHeaders(const std::vector<std::pair<std::string, std::string>>& headers);

/// "/<account><path>", then for Blob and Queue each query parameter ("\n<name>:<v1,v2>", names
/// lower-cased and sorted, values sorted), for Table only "?comp=<value>".
std::string canonicalizedResource(std::string_view account, const SignableRequest& request,
                                  StorageService service);

/// The Shared Key string to sign of `service` (the Table form for kTable).
std::string stringToSign(std::string_view account, const SignableRequest& request,
                         StorageService service);

/// Shared Key Lite for Table: "<date>\n<canonicalized resource>".
std::string stringToSignTableLite(std::string_view account, const SignableRequest& request);

/// Base64 of HMAC-SHA256(base64-decoded `account_key`, `string_to_sign`); kInvalidArgument when
/// the key is not base64.
Result<std::string> signature(std::string_view account_key, std::string_view string_to_sign);

/// The Authorization header's value, "SharedKey <account>:<signature>" (or "SharedKeyLite ..."
/// with `lite`, Table only).
Result<std::string> authorization(std::string_view account, std::string_view account_key,
                                  const SignableRequest& request, StorageService service,
                                  bool lite = false);

/// The x-ms-date form: "Sun, 06 Dec 2026 10:00:00 GMT".
std::string rfc1123Date(std::chrono::system_clock::time_point time);

std::string base64Encode(std::string_view bytes);
/// Standard base64 with padding; nullopt for anything else.
std::optional<std::string> base64Decode(std::string_view text);

} // namespace exoflow::azure
