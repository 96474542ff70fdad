#pragma once
// What API.md says a request may hold: names, keys, queue message bodies and attributes,
// receipts. Each check returns the error the API answers with (400 or 413).

#include <cstdint>
#include <string_view>

#include "common/error.h"

namespace exoflow::proxy {

/// Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
bool isValidUtf8(std::string_view text);

/// A binding name as the manifest writes service names: 2..32 of a-z 0-9 "-", starting with a
/// letter, not ending with "-", without "--". Dead-letter queues ("<name>-dlq") pass too.
bool isServiceName(std::string_view name);

/// An object or kv key: 1..max_bytes bytes of UTF-8 without control characters (U+0000..U+001F,
/// U+007F). `what` names it in the message ("object key").
Result<void> checkKey(std::string_view key, std::size_t max_bytes, std::string_view what);

/// A queue message body: 1..max_bytes bytes (larger: kPayloadTooLarge) of the characters SQS
/// allows: tab, LF, CR, U+0020..U+D7FF, U+E000..U+FFFD, U+10000..U+10FFFF.
Result<void> checkMessageBody(std::string_view body, std::uint64_t max_bytes);

/// A message attribute name: [A-Za-z0-9_.-]{1,256}.
Result<void> checkAttributeName(std::string_view name);

/// A receipt as the API issues them: 1..4096 characters of base64url without padding.
bool isReceipt(std::string_view receipt);

} // namespace exoflow::proxy
