#pragma once
// The raw bytes of a manifest and what the parser needs to know about them before YAML sees
// them: the UTF-8 check, the byte-order mark, and turning byte columns into character columns.

#include <string>
#include <string_view>
#include <vector>

#include "manifest/diagnostic.h"

namespace exoflow::manifest {

class SourceText {
public:
  /// Takes the file's bytes; a leading UTF-8 byte-order mark is dropped.
  explicit SourceText(std::string bytes);

  /// The text YAML parses (without the byte-order mark).
  const std::string& text() const { return text_; }

  /// Positions (1-based, in characters) of every byte sequence that is not valid UTF-8.
  std::vector<Mark> invalidUtf8() const;

  /// Turns a 0-based (line, byte column) pair, as yaml-cpp reports it, into a 1-based mark
  /// counted in characters.
  Mark markFromBytes(int line, int byte_column) const;

  /// True when 1-based `line` is indented with a tab (YAML forbids that).
  bool lineHasTabIndent(int line) const;

private:
  std::string text_;
  std::vector<std::size_t> line_starts_; ///< byte offset of each line's first byte
};

/// Length of the valid UTF-8 sequence at the start of `s`, or 0 when it is not valid.
std::size_t utf8SequenceLength(std::string_view s);

} // namespace exoflow::manifest
