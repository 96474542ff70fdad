#include "manifest/source.h"

#include <algorithm>

namespace exoflow::manifest {

namespace {
constexpr std::string_view kBom = "\xEF\xBB\xBF";
} // namespace

std::size_t utf8SequenceLength(std::string_view s) {
  if (s.empty()) return 0;
  const auto b0 = static_cast<unsigned char>(s[0]);
  if (b0 < 0x80) return 1;
  std::size_t len = 0;
  unsigned min_code = 0;
  unsigned code = 0;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2, min_code = 0x80, code = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3, min_code = 0x800, code = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4, min_code = 0x10000, code = b0 & 0x07;
  } else {
    return 0;
  }
  if (s.size() < len) return 0;
  for (std::size_t i = 1; i < len; ++i) {
    const auto b = static_cast<unsigned char>(s[i]);
    if ((b & 0xC0) != 0x80) return 0;
    code = (code << 6) | (b & 0x3F);
  }
  // Overlong forms, surrogates and code points past U+10FFFF are not UTF-8.
  if (code < min_code || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return 0;
  return len;
}

SourceText::SourceText(std::string bytes) : text_(std::move(bytes)) {
  if (text_.starts_with(kBom)) text_.erase(0, kBom.size());
  line_starts_.push_back(0);
  for (std::size_t i = 0; i < text_.size(); ++i) {
    if (text_[i] == '\n') line_starts_.push_back(i + 1);
  }
}

std::vector<Mark> SourceText::invalidUtf8() const {
  std::vector<Mark> marks;
  int line = 1;
  int column = 1;
  std::string_view rest = text_;
  while (!rest.empty()) {
    const std::size_t len = utf8SequenceLength(rest);
    if (len == 0) {
      marks.push_back(Mark{line, column});
      rest.remove_prefix(1);
      ++column;
      continue;
    }
    if (rest[0] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
    rest.remove_prefix(len);
  }
  return marks;
}

Mark SourceText::markFromBytes(int line, int byte_column) const {
  if (line < 0 || static_cast<std::size_t>(line) >= line_starts_.size()) {
    // yaml-cpp reports some errors at the end of the stream with no position: use the end.
    line = static_cast<int>(line_starts_.size()) - 1;
    byte_column = static_cast<int>(text_.size() - line_starts_.back());
  }
  std::size_t pos = line_starts_[static_cast<std::size_t>(line)];
  const std::size_t end = std::min(text_.size(), pos + static_cast<std::size_t>(byte_column));
  int column = 1;
  while (pos < end) {
    const std::size_t len = utf8SequenceLength(std::string_view(text_).substr(pos));
    pos += len == 0 ? 1 : len;
    ++column;
  }
  return Mark{line + 1, column};
}

bool SourceText::lineHasTabIndent(int line) const {
  // yaml-cpp often reports a tab's damage on the next line, so look at the one before too.
  for (int l = std::max(1, line - 1); l <= line; ++l) {
    if (static_cast<std::size_t>(l) > line_starts_.size()) break;
    for (std::size_t i = line_starts_[static_cast<std::size_t>(l - 1)]; i < text_.size(); ++i) {
      if (text_[i] == '\t') return true;
      if (text_[i] != ' ') break;
    }
  }
  return false;
}

} // namespace exoflow::manifest
