#include "client/json_scan.h"

#include <nlohmann/json.hpp>

namespace exoflow::client::detail {
namespace {

constexpr std::size_t kNpos = std::string_view::npos;
constexpr int kMaxDepth = 512;

bool isSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

std::size_t skipSpace(std::string_view text, std::size_t i) {
  while (i < text.size() && isSpace(text[i]))
    ++i;
  return i;
}

// One past the string literal starting at text[i] == '"', or kNpos.
std::size_t scanString(std::string_view text, std::size_t i) {
  for (++i; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\\') {
      ++i;
    } else if (c == '"') {
      return i + 1;
    } else if (c < 0x20) {
      return kNpos;
    }
  }
  return kNpos;
}

std::size_t scanValue(std::string_view text, std::size_t i, int depth);

// Calls `element(start, end)` for each element of the array or object starting at text[i]
// (for objects, `name(start, end)` first for each member's name); returns one past its end.
template <typename OnName, typename OnValue>
std::size_t scanContainer(std::string_view text, std::size_t i, int depth, OnName&& on_name,
                          OnValue&& on_value) {
  const bool object = text[i] == '{';
  const char close = object ? '}' : ']';
  i = skipSpace(text, i + 1);
  if (i < text.size() && text[i] == close) return i + 1;
  for (;;) {
    if (object) {
      if (i >= text.size() || text[i] != '"') return kNpos;
      const std::size_t name_end = scanString(text, i);
      if (name_end == kNpos || !on_name(text.substr(i, name_end - i))) return kNpos;
      i = skipSpace(text, name_end);
      if (i >= text.size() || text[i] != ':') return kNpos;
      i = skipSpace(text, i + 1);
    }
    const std::size_t end = scanValue(text, i, depth + 1);
    if (end == kNpos) return kNpos;
    on_value(text.substr(i, end - i));
    i = skipSpace(text, end);
    if (i >= text.size()) return kNpos;
    if (text[i] == close) return i + 1;
    if (text[i] != ',') return kNpos;
    i = skipSpace(text, i + 1);
  }
}

std::size_t scanValue(std::string_view text, std::size_t i, int depth) {
  if (i >= text.size() || depth > kMaxDepth) return kNpos;
  const char c = text[i];
  if (c == '"') return scanString(text, i);
  if (c == '{' || c == '[') {
    return scanContainer(
        text, i, depth, [](std::string_view) { return true; }, [](std::string_view) {});
  }
  std::size_t end = i;
  while (end < text.size() && !isSpace(text[end]) && text[end] != ',' && text[end] != '}' &&
         text[end] != ']' && text[end] != '{' && text[end] != '[' && text[end] != '"' &&
         text[end] != ':') {
    ++end;
  }
  return end == i ? kNpos : end;
}

// True when text[i..] is the container that starts at the first non-space byte and nothing
// but white space follows it.
template <typename OnName, typename OnValue>
bool splitTop(std::string_view text, char open, OnName&& on_name, OnValue&& on_value) {
  const std::size_t start = skipSpace(text, 0);
  if (start >= text.size() || text[start] != open) return false;
  const std::size_t end = scanContainer(text, start, 0, on_name, on_value);
  return end != kNpos && skipSpace(text, end) == text.size();
}

} // namespace

bool decodeString(std::string_view raw, std::string& out) {
  const nlohmann::json json = nlohmann::json::parse(raw, nullptr, /*allow_exceptions=*/false);
  if (!json.is_string()) return false;
  out = json.get<std::string>();
  return true;
}

bool splitObject(std::string_view text, std::vector<RawMember>& members) {
  members.clear();
  return splitTop(
      text, '{',
      [&members](std::string_view raw_name) {
        RawMember member;
        if (!decodeString(raw_name, member.name)) return false;
        members.push_back(std::move(member));
        return true;
      },
      [&members](std::string_view value) { members.back().value = value; });
}

bool splitArray(std::string_view text, std::vector<std::string_view>& elements) {
  elements.clear();
  return splitTop(
      text, '[', [](std::string_view) { return true; },
      [&elements](std::string_view value) { elements.push_back(value); });
}

} // namespace exoflow::client::detail
