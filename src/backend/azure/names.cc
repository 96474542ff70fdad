// Blob and Table names of API keys: see names.h.

#include "backend/azure/names.h"

#include <algorithm>
#include <cstdint>
#include <vector>

namespace exoflow::azure {
namespace {

constexpr std::size_t kMaxSegments = 254;

/// The code points of `text` in turn; false when it is not valid UTF-8.
template <typename Visit> bool forEachCodePoint(std::string_view text, Visit visit) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    const std::size_t extra = lead < 0x80 ? 0 : lead >= 0xF0 ? 3 : lead >= 0xE0 ? 2 : 1;
    if ((lead >= 0x80 && lead < 0xC2) || lead > 0xF4 || i + extra >= text.size()) {
      return false;
    }
    std::uint32_t cp = extra == 0 ? lead : lead & (0x3F >> extra);
    for (std::size_t k = 1; k <= extra; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (next & 0x3F);
    }
    const std::uint32_t smallest[] = {0, 0x80, 0x800, 0x10000};
    if (cp < smallest[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp < 0xE000)) return false;
    if (!visit(cp)) return false;
    i += extra + 1;
  }
  return true;
}

bool storableCodePoint(std::uint32_t cp, NameRules rules) {
  if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || (cp >= 0xE000 && cp <= 0xFFFF)) return false;
  if (rules == NameRules::kTable) return cp != '/' && cp != '\\' && cp != '#' && cp != '?';
  return cp != '\\';
}

/// Blob paths: every segment non-empty and not ending with '.' (Azure drops such dots, and
/// clients resolve "." and ".." and fold "//"), and at most 254 segments.
bool naturalBlobPath(std::string_view key) {
  std::size_t segments = 0;
  std::size_t start = 0;
  while (true) {
    const std::size_t end = std::min(key.find('/', start), key.size());
    const std::string_view segment = key.substr(start, end - start);
    if (segment.empty() || segment.back() == '.' || ++segments > kMaxSegments) return false;
    if (end == key.size()) return true;
    start = end + 1;
  }
}

void appendUtf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

} // namespace

bool isNaturalName(std::string_view key, NameRules rules) {
  if (key.empty() || key.front() == kEscapeMark) return false;
  if (!forEachCodePoint(key, [rules](std::uint32_t cp) { return storableCodePoint(cp, rules); })) {
    return false;
  }
  return rules == NameRules::kTable || naturalBlobPath(key);
}

bool naturalNameCanStartWith(std::string_view prefix, NameRules rules) {
  // A trailing '/' or '.' is completed by what follows; "x" completes it naturally.
  return isNaturalName(std::string(prefix) + "x", rules);
}

std::optional<std::string> naturalPrefixEnd(std::string_view prefix) {
  std::vector<std::uint32_t> cps;
  if (!forEachCodePoint(prefix, [&cps](std::uint32_t cp) {
        cps.push_back(cp);
        return true;
      })) {
    return std::nullopt;
  }
  while (!cps.empty() && cps.back() == 0x10FFFF)
    cps.pop_back();
  if (cps.empty()) return std::nullopt;
  std::uint32_t& last = cps.back();
  ++last;
  // Natural names hold none of these, so the bound may pass over them.
  if (last >= 0x7F && last <= 0x9F) last = 0xA0;
  if (last >= 0xD800 && last <= 0xFFFF) last = 0x10000;
  std::string out;
  for (const std::uint32_t cp : cps)
    appendUtf8(out, cp);
  return out;
}

std::string letterPairs(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char c : bytes) {
    const auto u = static_cast<unsigned char>(c);
    out += static_cast<char>('A' + (u >> 4));
    out += static_cast<char>('a' + (u & 15));
  }
  return out;
}

std::string escapedName(std::string_view bytes) {
  return kEscapeMark + letterPairs(bytes);
}

std::string storedName(std::string_view key, NameRules rules) {
  return isNaturalName(key, rules) ? std::string(key) : escapedName(key);
}

std::optional<std::string> keyOfName(std::string_view name, NameRules rules) {
  if (name.empty() || name.front() != kEscapeMark) {
    if (!isNaturalName(name, rules)) return std::nullopt;
    return std::string(name);
  }
  const std::string_view pairs = name.substr(1);
  if (pairs.empty() || pairs.size() % 2 != 0) return std::nullopt;
  std::string key;
  key.reserve(pairs.size() / 2);
  for (std::size_t i = 0; i < pairs.size(); i += 2) {
    const char high = pairs[i];
    const char low = pairs[i + 1];
    if (high < 'A' || high > 'P' || low < 'a' || low > 'p') return std::nullopt;
    key += static_cast<char>(((high - 'A') << 4) | (low - 'a'));
  }
  // A natural key is only ever stored under its own name: one name per key.
  if (isNaturalName(key, rules)) return std::nullopt;
  return key;
}

} // namespace exoflow::azure
