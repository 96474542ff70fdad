#pragma once
// A minimal JSON scanner that finds where values start and end without converting them, so a
// kv value is handed back as the exact text the server sent (no digit of a number lost).

#include <utility>

#include <string>
#include <string_view>
#include <vector>

namespace exoflow::client::detail {

/// One member of a JSON object: its decoded name and its value's raw text.
struct RawMember {
  std::string name;
  std::string_view value;
};

/// Splits the JSON object `text` into its members, in order. False when `text` is not one
/// well-delimited object (strings, nesting and escapes are checked; scalars are not parsed).
bool splitObject(std::string_view text, std::vector<RawMember>& members);

/// Splits the JSON array `text` into the raw text of its elements. False as for splitObject.
bool splitArray(std::string_view text, std::vector<std::string_view>& elements);

/// Decodes the raw JSON string literal `raw` (with its quotes); false when it is not one.
bool decodeString(std::string_view raw, std::string& out);

} // namespace exoflow::client::detail
