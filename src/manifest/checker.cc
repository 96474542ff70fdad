#include "manifest/checker.h"

#include <algorithm>
#include <unordered_map>

#include <fmt/format.h>

#include "manifest/suggest.h"

namespace exoflow::manifest {

namespace {

constexpr std::string_view kTagPrefix = "tag:yaml.org,2002:";

/// Quotes text for a message, escaping what would make it unreadable, and cuts long values
/// at a character boundary.
std::string quote(std::string_view text) {
  constexpr std::size_t kMax = 60;
  std::string out = "\"";
  std::size_t shown = 0;
  for (std::size_t i = 0; i < text.size();) {
    if (shown == kMax) {
      out += "...";
      break;
    }
    const char c = text[i];
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x80) {
      // Copy a multi-byte character whole, so a cut never splits one.
      const std::size_t len = std::max<std::size_t>(1, utf8SequenceLength(text.substr(i)));
      out.append(text.substr(i, len));
      i += len;
      ++shown;
      continue;
    }
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20 || u == 0x7F) {
      out += fmt::format("\\x{:02x}", u);
    } else {
      out += c;
    }
    ++i;
    ++shown;
  }
  out += '"';
  return out;
}

bool looksLikeYaml11Bool(std::string_view s) {
  for (std::string_view word : {"yes", "Yes", "YES", "no", "No", "NO", "on", "On", "ON", "off",
                                "Off", "OFF", "y", "Y", "n", "N"}) {
    if (s == word) return true;
  }
  return false;
}

} // namespace

const Field* Fields::get(std::string_view key) const {
  for (const Field& f : fields_) {
    if (f.key->value == key) return &f;
  }
  return nullptr;
}

void Checker::error(Mark mark, std::string path, std::string message,
                    std::optional<std::string> hint) {
  diagnostics_.push_back(Diagnostic{file_, mark, Severity::kError, std::move(path),
                                    std::move(message), std::move(hint)});
  ++errors_;
}

void Checker::warning(Mark mark, std::string path, std::string message,
                      std::optional<std::string> hint) {
  diagnostics_.push_back(Diagnostic{file_, mark, Severity::kWarning, std::move(path),
                                    std::move(message), std::move(hint)});
}

std::vector<Diagnostic> Checker::takeDiagnostics() {
  sortDiagnostics(diagnostics_);
  return std::move(diagnostics_);
}

std::string Checker::child(std::string_view path, std::string_view key) {
  if (path.empty()) return std::string(key);
  std::string out(path);
  out += '.';
  out += key;
  return out;
}

std::string Checker::index(std::string_view path, std::size_t i) {
  return fmt::format("{}[{}]", path, i);
}

CoreType Checker::coreType(const YamlNode& node) {
  if (node.kind == YamlNode::Kind::kNull) return CoreType::kNull;
  if (node.tag == "?") return resolvePlainScalar(node.value);
  if (node.tag == "!") return CoreType::kString;
  if (node.tag.starts_with(kTagPrefix)) {
    const std::string_view name = std::string_view(node.tag).substr(kTagPrefix.size());
    if (name == "int" && parseCoreInt(node.value)) return CoreType::kInt;
    if (name == "bool" && parseCoreBool(node.value)) return CoreType::kBool;
    const CoreType plain = resolvePlainScalar(node.value);
    if (name == "float" && (plain == CoreType::kFloat || plain == CoreType::kInt)) {
      return CoreType::kFloat;
    }
    if (name == "null" && resolvePlainScalar(node.value) == CoreType::kNull) {
      return CoreType::kNull;
    }
  }
  return CoreType::kString;
}

std::string Checker::describe(const YamlNode& node) {
  switch (node.kind) {
  case YamlNode::Kind::kNull:
    return "nothing";
  case YamlNode::Kind::kSequence:
    return "a list";
  case YamlNode::Kind::kMapping:
    return "a mapping";
  case YamlNode::Kind::kScalar:
    break;
  }
  if (coreType(node) == CoreType::kString) return quote(node.value);
  return node.value.size() > 60 ? quote(node.value) : node.value;
}

bool Checker::checkTag(const YamlNode& node, const std::string& path) {
  if (node.kind != YamlNode::Kind::kScalar || node.tag == "?" || node.tag == "!") return true;
  const std::string_view tag = node.tag;
  if (tag.starts_with(kTagPrefix)) {
    const std::string_view name = tag.substr(kTagPrefix.size());
    if (name == "str") return true;
    if (name == "int" || name == "bool" || name == "float" || name == "null") {
      if (coreType(node) != CoreType::kString) return true;
      error(node.mark, path, fmt::format("{} is not a valid !!{}", quote(node.value), name));
      return false;
    }
  }
  error(node.mark, path, fmt::format("unsupported YAML tag {}", quote(tag)),
        "only the core schema's tags (!!str, !!int, !!float, !!bool, !!null) are understood");
  return false;
}

std::optional<Fields> Checker::mapping(const YamlNode& node, const std::string& path,
                                       Mark owner_mark, std::span<const std::string_view> allowed,
                                       std::string_view unknown_hint) {
  auto fields = openMapping(node, path, owner_mark, "key");
  if (!fields) return std::nullopt;
  std::vector<Field> known;
  for (Field& f : fields->fields_) {
    const std::string_view key = f.key->value;
    if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) {
      known.push_back(std::move(f));
      continue;
    }
    std::optional<std::string> hint;
    if (auto match = closestMatch(key, allowed)) {
      hint = fmt::format("did you mean \"{}\"?", *match);
    } else if (!unknown_hint.empty()) {
      hint = std::string(unknown_hint);
    } else {
      hint = "expected " + joinAlternatives(allowed);
    }
    error(f.key->mark, f.path, fmt::format("unknown key {}", quote(key)), std::move(hint));
  }
  fields->fields_ = std::move(known);
  return fields;
}

std::optional<Fields> Checker::openMapping(const YamlNode& node, const std::string& path,
                                           Mark owner_mark, std::string_view duplicate_what) {
  if (node.kind != YamlNode::Kind::kMapping) {
    error(node.mark, path, "expected a mapping, got " + describe(node));
    return std::nullopt;
  }
  Fields fields;
  fields.owner = &node;
  fields.owner_mark = owner_mark;
  fields.path = path;
  std::unordered_map<std::string_view, const YamlNode*> seen;
  seen.reserve(node.entries.size());
  for (const auto& [key, value] : node.entries) {
    if (key->kind != YamlNode::Kind::kScalar) {
      error(key->mark, path, "expected a plain key, got " + describe(*key),
            "keys are names written as text");
      continue;
    }
    if (key->value == "<<" && key->tag == "?") {
      error(key->mark, child(path, "<<"), "YAML merge keys (<<) are not supported",
            "write the fields out in full");
      continue;
    }
    Field f{key.get(), value.get(), child(path, key->value)};
    auto [it, inserted] = seen.emplace(key->value, key.get());
    if (!inserted) {
      error(key->mark, f.path, fmt::format("duplicate {} {}", duplicate_what, quote(key->value)),
            fmt::format("first defined at line {}, column {}", it->second->mark.line,
                        it->second->mark.column));
      continue;
    }
    fields.fields_.push_back(std::move(f));
  }
  return fields;
}

const Field* Checker::require(const Fields& fields, std::string_view key) {
  const Field* f = fields.get(key);
  if (f == nullptr) {
    error(fields.owner_mark, child(fields.path, key), "required field is missing");
  }
  return f;
}

const YamlNode* Checker::sequence(const YamlNode& node, const std::string& path) {
  if (node.kind != YamlNode::Kind::kSequence) {
    error(node.mark, path, "expected a list, got " + describe(node));
    return nullptr;
  }
  return &node;
}

std::optional<std::int64_t> Checker::integer(const Field& f, std::int64_t min, std::int64_t max,
                                             std::string_view what) {
  const YamlNode& v = *f.value;
  if (!checkTag(v, f.path)) return std::nullopt;
  const std::string expected = fmt::format("expected {} {}..{}", what, min, max);
  const CoreType type = coreType(v);
  if (type != CoreType::kInt) {
    std::optional<std::string> hint;
    if (type == CoreType::kString && resolvePlainScalar(v.value) == CoreType::kInt) {
      hint = fmt::format("a quoted value is a string; write {} without quotes", v.value);
    }
    error(v.mark, f.path, expected + ", got " + describe(v), std::move(hint));
    return std::nullopt;
  }
  const auto value = parseCoreInt(v.value);
  if (!value || *value < min || *value > max) {
    error(v.mark, f.path, expected + ", got " + v.value);
    return std::nullopt;
  }
  return *value;
}

std::optional<bool> Checker::boolean(const Field& f) {
  const YamlNode& v = *f.value;
  if (!checkTag(v, f.path)) return std::nullopt;
  if (coreType(v) == CoreType::kBool) return parseCoreBool(v.value);
  std::optional<std::string> hint;
  if (v.kind == YamlNode::Kind::kScalar && v.tag == "?" && looksLikeYaml11Bool(v.value)) {
    hint = "YAML 1.2 reads yes, no, on and off as strings; write true or false";
  } else if (v.kind == YamlNode::Kind::kScalar && parseCoreBool(v.value)) {
    hint = fmt::format("a quoted value is a string; write {} without quotes", v.value);
  }
  error(v.mark, f.path, "expected a boolean (true or false), got " + describe(v), std::move(hint));
  return std::nullopt;
}

std::optional<std::string> Checker::stringValue(const Field& f, std::string_view expected) {
  const YamlNode& v = *f.value;
  if (!checkTag(v, f.path)) return std::nullopt;
  if (v.kind == YamlNode::Kind::kScalar && coreType(v) == CoreType::kString) return v.value;
  std::optional<std::string> hint;
  if (v.kind == YamlNode::Kind::kScalar) {
    hint = fmt::format("quote it to make it a string: \"{}\"", v.value);
  }
  error(v.mark, f.path, fmt::format("expected {}, got {}", expected, describe(v)), std::move(hint));
  return std::nullopt;
}

std::optional<std::string> Checker::string(const Field& f, bool non_empty) {
  auto text = stringValue(f, "a string");
  if (text && non_empty && text->empty()) {
    error(f.value->mark, f.path, "expected a non-empty string, got \"\"");
    return std::nullopt;
  }
  return text;
}

std::optional<std::string> Checker::scalarText(const Field& f) {
  const YamlNode& v = *f.value;
  if (v.kind == YamlNode::Kind::kNull) return std::string();
  if (v.kind != YamlNode::Kind::kScalar) {
    error(v.mark, f.path, "expected a single value, got " + describe(v),
          "values are taken as text; quote a value that holds special characters");
    return std::nullopt;
  }
  return v.value;
}

std::optional<std::string> Checker::oneOf(const Field& f, std::span<const std::string_view> allowed,
                                          std::optional<std::string> hint) {
  const std::string expected = "one of " + joinAlternatives(allowed);
  auto text = stringValue(f, expected);
  if (!text) return std::nullopt;
  if (std::find(allowed.begin(), allowed.end(), *text) != allowed.end()) return text;
  if (auto match = closestMatch(*text, allowed); match && !hint) {
    hint = fmt::format("did you mean \"{}\"?", *match);
  }
  error(f.value->mark, f.path, fmt::format("expected {}, got {}", expected, describe(*f.value)),
        std::move(hint));
  return std::nullopt;
}

std::optional<model::Millis> Checker::duration(const Field& f, model::Millis min,
                                               model::Millis max) {
  const YamlNode& v = *f.value;
  if (v.kind == YamlNode::Kind::kScalar && coreType(v) == CoreType::kInt) {
    error(v.mark, f.path, "expected a duration such as 30s, got " + v.value,
          "add a unit: ms, s, m, h or d");
    return std::nullopt;
  }
  auto value = parsed<model::Millis>(f, "a duration such as 30s", &parseDuration);
  if (value && (*value < min || *value > max)) {
    error(v.mark, f.path,
          fmt::format("expected a duration from {} to {}, got {}", formatDuration(min),
                      formatDuration(max), v.value));
    return std::nullopt;
  }
  return value;
}

std::optional<model::Bytes> Checker::size(const Field& f, model::Bytes min, model::Bytes max) {
  const YamlNode& v = *f.value;
  if (v.kind == YamlNode::Kind::kScalar && coreType(v) == CoreType::kInt) {
    error(v.mark, f.path, "expected a size such as 256KiB, got " + v.value,
          "add a unit: B, KiB, MiB, GiB or TiB");
    return std::nullopt;
  }
  auto value = parsed<model::Bytes>(f, "a size such as 256KiB", &parseSize);
  if (value && (*value < min || *value > max)) {
    error(v.mark, f.path,
          fmt::format("expected a size from {} to {}, got {}", formatSize(min), formatSize(max),
                      v.value));
    return std::nullopt;
  }
  return value;
}

} // namespace exoflow::manifest
