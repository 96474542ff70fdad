#pragma once
// A YAML document as the validator needs it: every node with its source mark, scalars with
// their tag and whether they were quoted, mappings as ordered pairs that keep duplicate keys
// (yaml-cpp's own node API drops them). Built from yaml-cpp's event parser, the only place
// where yaml-cpp's exceptions are caught.

#include <utility>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "manifest/diagnostic.h"
#include "manifest/source.h"

namespace exoflow::manifest {

struct YamlNode;
using YamlNodePtr = std::shared_ptr<const YamlNode>;

struct YamlNode {
  enum class Kind { kNull, kScalar, kSequence, kMapping };

  Kind kind = Kind::kNull;
  Mark mark;
  /// yaml-cpp's tag: "?" for a plain scalar, "!" for a quoted or block one, else the full
  /// tag (e.g. "tag:yaml.org,2002:str" for `!!str`).
  std::string tag;
  std::string value; ///< scalars only
  std::vector<YamlNodePtr> items;
  std::vector<std::pair<YamlNodePtr, YamlNodePtr>> entries; ///< mappings, in source order
  bool implicit_null = false; ///< a null written as nothing at all (`key:`)
};

/// The result of parsing a whole file: the first document, and where later documents start.
struct YamlFile {
  YamlNodePtr root;                       ///< null when the file holds no document
  std::vector<Mark> extra_documents;      ///< the `---` (or first token) of documents 2, 3, ...
  std::optional<Diagnostic> syntax_error; ///< set when the YAML does not parse
};

/// Parses `source`. Never throws; a syntax error comes back in `syntax_error` (with `file`
/// left empty for the caller to fill in).
YamlFile parseYaml(const SourceText& source);

} // namespace exoflow::manifest
