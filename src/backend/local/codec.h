#pragma once
// Small encodings the local backends share: base64url for receipts and cursors, hex, random
// ids, length-prefixed string maps for attributes and metadata, and byte-order helpers.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.h"

namespace exoflow::backend::local {

/// base64url (RFC 4648 section 5) without padding.
std::string base64UrlEncode(std::string_view bytes);
/// The inverse of base64UrlEncode(); nullopt for anything it would not have produced
/// (padding, other characters, an impossible length or non-zero trailing bits).
std::optional<std::string> base64UrlDecode(std::string_view text);

/// Lower-case hex of `bytes`.
std::string toHex(std::string_view bytes);
/// The bytes of lower-case hex text; nullopt when it is not exactly that.
std::optional<std::string> fromHex(std::string_view hex);

/// `count` bytes from the operating system's CSPRNG (OpenSSL RAND_bytes).
Result<std::string> randomBytes(std::size_t count);
/// A fresh 128-bit id as 32 lower-case hex characters.
Result<std::string> randomId();

/// Milliseconds since the Unix epoch, from the system clock (timestamps that persist).
std::int64_t nowMillis();

/// Encodes a string map losslessly (any bytes in names and values).
std::string encodeMap(const std::map<std::string, std::string>& map);
/// The inverse of encodeMap(); nullopt for corrupt input.
std::optional<std::map<std::string, std::string>> decodeMap(std::string_view encoded);

/// The smallest string greater than every string that starts with `prefix`, or nullopt when
/// there is none (the prefix is all 0xff bytes, or empty).
std::optional<std::string> prefixSuccessor(std::string_view prefix);

/// An opaque list cursor: "resume at this key (inclusive)" in base64url with a version tag.
std::string encodeCursor(std::string_view resume_key);
/// The resume key of a cursor; kInvalidArgument when it is not one of ours.
Result<std::string> decodeCursor(std::string_view cursor);

} // namespace exoflow::backend::local
