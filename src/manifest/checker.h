#pragma once
// The reading side of the validator: walks YamlNodes, converts typed values, and collects a
// diagnostic for every problem instead of stopping at the first. Each reader returns the value,
// or nothing after it has reported why.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "manifest/diagnostic.h"
#include "manifest/values.h"
#include "manifest/yaml_tree.h"

namespace exoflow::manifest {

/// One key of a mapping and its value, with the value's path ("services.orders.fifo").
struct Field {
  const YamlNode* key = nullptr;
  const YamlNode* value = nullptr;
  std::string path;
};

/// The known fields of one mapping, after unknown and duplicate keys have been reported.
class Fields {
public:
  /// The field, or null when the key is absent.
  const Field* get(std::string_view key) const;
  bool has(std::string_view key) const { return get(key) != nullptr; }
  const std::vector<Field>& all() const { return fields_; }

  const YamlNode* owner = nullptr; ///< the mapping node
  Mark owner_mark;                 ///< where a missing field is reported (the parent's key)
  std::string path;                ///< the mapping's own path ("" at the top)

private:
  friend class Checker;
  std::vector<Field> fields_;
};

class Checker {
public:
  explicit Checker(std::string file) : file_(std::move(file)) {}

  void error(Mark mark, std::string path, std::string message,
             std::optional<std::string> hint = std::nullopt);
  void warning(Mark mark, std::string path, std::string message,
               std::optional<std::string> hint = std::nullopt);
  std::vector<Diagnostic> takeDiagnostics();
  bool failed() const { return errors_ > 0; }

  /// Joins a path and a key: ("services", "orders") -> "services.orders".
  static std::string child(std::string_view path, std::string_view key);
  /// Joins a path and a list index: ("targets", 1) -> "targets[1]".
  static std::string index(std::string_view path, std::size_t i);

  /// Reads a mapping: reports a non-mapping value, keys that are not plain strings, merge
  /// keys, duplicates (at the second) and keys outside `allowed` (with "did you mean").
  /// `owner_mark` is where missing fields of this mapping are reported.
  std::optional<Fields> mapping(const YamlNode& node, const std::string& path, Mark owner_mark,
                                std::span<const std::string_view> allowed,
                                std::string_view unknown_hint = {});
  /// As mapping(), for maps whose keys are names chosen by the user (services, env).
  std::optional<Fields> openMapping(const YamlNode& node, const std::string& path, Mark owner_mark,
                                    std::string_view duplicate_what);
  /// Reports a missing required field at the mapping's owner mark; returns its value if present.
  const Field* require(const Fields& fields, std::string_view key);

  /// A list; reports anything else.
  const YamlNode* sequence(const YamlNode& node, const std::string& path);

  std::optional<std::int64_t> integer(const Field& f, std::int64_t min, std::int64_t max,
                                      std::string_view what = "an integer");
  std::optional<bool> boolean(const Field& f);
  /// Any string; `non_empty` refuses "".
  std::optional<std::string> string(const Field& f, bool non_empty = true);
  /// Any scalar, taken as its text (env values).
  std::optional<std::string> scalarText(const Field& f);
  /// One of `allowed`, with "did you mean" for near misses unless `hint` replaces it.
  std::optional<std::string> oneOf(const Field& f, std::span<const std::string_view> allowed,
                                   std::optional<std::string> hint = std::nullopt);
  std::optional<model::Millis> duration(const Field& f, model::Millis min, model::Millis max);
  std::optional<model::Bytes> size(const Field& f, model::Bytes min, model::Bytes max);
  /// A string checked by one of the parsers in values.h; `expected` completes "expected ...".
  template <typename T>
  std::optional<T> parsed(const Field& f, std::string_view expected,
                          Parsed<T> (*parse)(std::string_view));

  /// The YAML 1.2 core type of a scalar node (tags and quoting considered).
  static CoreType coreType(const YamlNode& node);
  /// How a value reads in a message: `"abc"`, `22`, `a mapping`, `nothing`.
  static std::string describe(const YamlNode& node);

private:
  std::optional<std::string> stringValue(const Field& f, std::string_view expected);
  bool checkTag(const YamlNode& node, const std::string& path);

  std::string file_;
  std::vector<Diagnostic> diagnostics_;
  int errors_ = 0;
};

template <typename T>
std::optional<T> Checker::parsed(const Field& f, std::string_view expected,
                                 Parsed<T> (*parse)(std::string_view)) {
  auto text = stringValue(f, expected);
  if (!text) return std::nullopt;
  auto value = parse(*text);
  if (!value) {
    error(f.value->mark, f.path,
          "expected " + std::string(expected) + ", got " + describe(*f.value),
          value.error().empty() ? std::nullopt : std::optional<std::string>(value.error()));
    return std::nullopt;
  }
  return std::move(*value);
}

} // namespace exoflow::manifest
