#pragma once
// How API keys become blob names and Table RowKeys. An ordinary key is its own name, so that
// other clients read and write it as it is. A key Azure would refuse or change (a character
// Table forbids, a blob path segment that is empty or ends with a dot, a backslash, ...) is stored
// whole, escaped, below the reserved first character '~': "~" and the key's bytes as letter
// pairs (A-P for the high nibble, a-p for the low one). The letter pairs keep the keys' byte
// order and never match a delimiter's letter pairs across a byte boundary, so a listing in the
// API's order is a merge of two ordered ranges of the service: the natural names and the escaped
// ones.
//
// Characters U+E000..U+FFFF are escaped too: Azure and Azurite order names by UTF-16 code
// units, which put them after U+10000.., while the API orders keys by their UTF-8 bytes. Without
// them, UTF-16 and UTF-8 order agree.

#include <optional>
#include <string>
#include <string_view>

namespace exoflow::azure {

enum class NameRules {
  kBlob,  ///< no empty path segment, none ending with '.', no '\\', at most 254 segments
  kTable, ///< none of / \ # ?
};

/// The first character of every escaped name; a key starting with it is escaped.
inline constexpr char kEscapeMark = '~';

/// Whether `key` is stored under its own name. Both rules escape control characters
/// (U+0000..U+001F, U+007F..U+009F), U+E000..U+FFFF and invalid UTF-8.
bool isNaturalName(std::string_view key, NameRules rules);

/// Whether some natural name starts with `prefix` ("a/" does: "a/b").
bool naturalNameCanStartWith(std::string_view prefix, NameRules rules);

/// "~" and the letter pairs of `bytes`.
std::string escapedName(std::string_view bytes);

/// The name `key` is stored under.
std::string storedName(std::string_view key, NameRules rules);

/// The key a stored name holds; nullopt for a name no key is stored under (a name another
/// client gave a blob or entity that this layout does not produce).
std::optional<std::string> keyOfName(std::string_view name, NameRules rules);

/// The letter pairs of `bytes`, without the mark (for prefixes and delimiters of escaped names).
std::string letterPairs(std::string_view bytes);

/// The least valid UTF-8 string above every natural name that starts with `prefix` (its last
/// character's successor among the characters natural names hold); nullopt when there is none.
std::optional<std::string> naturalPrefixEnd(std::string_view prefix);

} // namespace exoflow::azure
