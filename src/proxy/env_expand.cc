#include "proxy/env_expand.h"

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <unordered_map>

#include <fmt/format.h>

namespace exoflow::proxy {

namespace {

bool isNameStart(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}
bool isNameChar(char c) {
  return isNameStart(c) || (c >= '0' && c <= '9');
}

constexpr unsigned char kLead = 0xEE; ///< the first UTF-8 byte of U+E000..U+E07F

} // namespace

std::string protectReferences(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const bool escaped = text.substr(i, 3) == "$${";
    if (!escaped && text.substr(i, 2) != "${") {
      out += text[i++];
      continue;
    }
    const std::size_t close = text.find_first_of("}\n", i);
    if (close == std::string_view::npos || text[close] != '}') {
      out += text[i++];
      continue;
    }
    for (; i <= close; ++i) {
      const auto c = static_cast<unsigned char>(text[i]);
      if (c >= 0x80) {
        out += text[i];
        continue;
      }
      out += static_cast<char>(kLead);
      out += static_cast<char>(0x80 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3F));
    }
  }
  return out;
}

std::string unprotectReferences(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == kLead && i + 2 < text.size() &&
        (static_cast<unsigned char>(text[i + 1]) & 0xFE) == 0x80) {
      const auto b1 = static_cast<unsigned char>(text[i + 1]);
      const auto b2 = static_cast<unsigned char>(text[i + 2]);
      out += static_cast<char>(((b1 & 0x01) << 6) | (b2 & 0x3F));
      i += 2;
      continue;
    }
    out += text[i];
  }
  return out;
}

bool holdsReservedCharacters(std::string_view text) {
  for (std::size_t i = 0; i + 1 < text.size(); ++i) {
    if (static_cast<unsigned char>(text[i]) == kLead &&
        (static_cast<unsigned char>(text[i + 1]) & 0xFE) == 0x80) {
      return true;
    }
  }
  return false;
}

EnvLookup processEnvironment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

tl::expected<std::string, ExpandError> expandEnv(std::string_view text, const EnvLookup& env) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    if (text[i] != '$') {
      out += text[i++];
      continue;
    }
    if (text.substr(i, 3) == "$${") {
      out += "${";
      i += 3;
      continue;
    }
    if (text.substr(i, 2) != "${") {
      out += text[i++];
      continue;
    }
    const std::size_t close = text.find('}', i + 2);
    if (close == std::string_view::npos) {
      return tl::unexpected(ExpandError{"unterminated \"${\" in value",
                                        "write ${NAME} or ${NAME:-default}; $${ is a literal ${"});
    }
    const std::string_view inner = text.substr(i + 2, close - i - 2);
    const std::size_t sep = inner.find(":-");
    const std::string_view name = inner.substr(0, sep);
    const bool valid_name =
        !name.empty() && isNameStart(name[0]) && std::all_of(name.begin(), name.end(), isNameChar);
    if (!valid_name) {
      return tl::unexpected(
          ExpandError{fmt::format("\"${{{}}}\" is not a valid variable reference", inner),
                      "variable names are letters, digits and _, not starting with a digit"});
    }
    const std::optional<std::string> value = env ? env(std::string(name)) : std::nullopt;
    if (sep != std::string_view::npos) {
      out += value && !value->empty() ? *value : std::string(inner.substr(sep + 2));
    } else if (value) {
      out += *value;
    } else {
      return tl::unexpected(
          ExpandError{fmt::format("environment variable {} is not set", name),
                      fmt::format("set it, or give a default: ${{{}:-value}}", name)});
    }
    i = close + 1;
  }
  return out;
}

namespace {

using manifest::Checker;
using manifest::YamlNode;
using manifest::YamlNodePtr;
/// Aliases share their anchored node; expanding each shared node once keeps an alias bomb cheap.
using Memo = std::unordered_map<const YamlNode*, YamlNodePtr>;

YamlNodePtr expandShared(const YamlNodePtr& node, Checker& checker, const std::string& path,
                         const EnvLookup& env, Memo& memo);

YamlNodePtr expandNode(const YamlNodePtr& node, Checker& checker, const std::string& path,
                       const EnvLookup& env, Memo& memo) {
  switch (node->kind) {
  case YamlNode::Kind::kNull:
    return node;
  case YamlNode::Kind::kScalar: {
    const std::string text = unprotectReferences(node->value);
    if (text.find('$') == std::string::npos && text == node->value) return node;
    auto copy = std::make_shared<YamlNode>(*node);
    copy->value = text;
    auto expanded = expandEnv(text, env);
    if (!expanded) {
      checker.error(node->mark, path, expanded.error().message, expanded.error().hint);
      return copy;
    }
    copy->value = std::move(*expanded);
    return copy;
  }
  case YamlNode::Kind::kSequence: {
    auto copy = std::make_shared<YamlNode>(*node);
    for (std::size_t i = 0; i < copy->items.size(); ++i) {
      copy->items[i] = expandShared(copy->items[i], checker, Checker::index(path, i), env, memo);
    }
    return copy;
  }
  case YamlNode::Kind::kMapping: {
    auto copy = std::make_shared<YamlNode>(*node);
    for (auto& [key, value] : copy->entries) {
      if (key && key->kind == YamlNode::Kind::kScalar &&
          key->value.find(static_cast<char>(kLead)) != std::string::npos) {
        auto plain = std::make_shared<YamlNode>(*key);
        plain->value = unprotectReferences(key->value);
        key = plain;
      }
      const std::string child =
          key && key->kind == YamlNode::Kind::kScalar ? Checker::child(path, key->value) : path;
      value = expandShared(value, checker, child, env, memo);
    }
    return copy;
  }
  }
  return node;
}

YamlNodePtr expandShared(const YamlNodePtr& node, Checker& checker, const std::string& path,
                         const EnvLookup& env, Memo& memo) {
  if (!node) return node;
  if (auto it = memo.find(node.get()); it != memo.end()) return it->second;
  YamlNodePtr expanded = expandNode(node, checker, path, env, memo);
  memo.emplace(node.get(), expanded);
  return expanded;
}

} // namespace

manifest::YamlNodePtr expandTree(const manifest::YamlNodePtr& node, manifest::Checker& checker,
                                 const std::string& path, const EnvLookup& env) {
  Memo memo;
  return expandShared(node, checker, path, env, memo);
}

} // namespace exoflow::proxy
