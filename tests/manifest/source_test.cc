// SourceText: what happens to a manifest's bytes before YAML sees them.

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "manifest/source.h"

namespace exoflow::manifest {
namespace {

/// "line:column", so that marks compare and print as text.
std::string at(const Mark& mark) {
  return std::to_string(mark.line) + ":" + std::to_string(mark.column);
}

/// Every mark as "line:column", separated by spaces.
std::string at(const std::vector<Mark>& marks) {
  std::string out;
  for (const Mark& mark : marks)
    out += (out.empty() ? "" : " ") + at(mark);
  return out;
}

TEST(SourceTest, ByteOrderMarkIsDropped) {
  const SourceText source("\xEF\xBB\xBF"
                          "app: webshop\n");
  EXPECT_EQ(source.text(), "app: webshop\n");
}

TEST(SourceTest, OnlyOneLeadingByteOrderMarkIsDropped) {
  EXPECT_EQ(SourceText("\xEF\xBB\xBF\xEF\xBB\xBF"
                       "a")
                .text(),
            "\xEF\xBB\xBF"
            "a");
  EXPECT_EQ(SourceText("a\xEF\xBB\xBF").text(), "a\xEF\xBB\xBF");
  EXPECT_EQ(SourceText("").text(), "");
}

TEST(SourceTest, ValidUtf8HasNoInvalidPositions) {
  EXPECT_EQ(at(SourceText("app: caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\n").invalidUtf8()), "");
  EXPECT_EQ(at(SourceText("").invalidUtf8()), "");
}

TEST(SourceTest, LoneContinuationByteIsInvalid) {
  EXPECT_EQ(at(SourceText("a\x80"
                          "b")
                   .invalidUtf8()),
            "1:2");
}

TEST(SourceTest, ByteFFIsInvalid) {
  EXPECT_EQ(at(SourceText("x\xFF").invalidUtf8()), "1:2");
  EXPECT_EQ(at(SourceText("\xFE\xFF").invalidUtf8()), "1:1 1:2");
}

TEST(SourceTest, OverlongEncodingIsInvalidByteByByte) {
  // C0 AF is an overlong "/"; each byte is reported where it stands.
  EXPECT_EQ(at(SourceText("a\xC0\xAF"
                          "b")
                   .invalidUtf8()),
            "1:2 1:3");
  // E0 9F BF is an overlong U+07FF.
  EXPECT_EQ(at(SourceText("\xE0\x9F\xBF").invalidUtf8()), "1:1 1:2 1:3");
}

TEST(SourceTest, EncodedSurrogatesAreInvalid) {
  EXPECT_EQ(at(SourceText("\xED\xA0\x80").invalidUtf8()), "1:1 1:2 1:3");
  EXPECT_EQ(at(SourceText("\xED\xBF\xBF").invalidUtf8()), "1:1 1:2 1:3");
}

TEST(SourceTest, CodePointsPastU10FFFFAreInvalid) {
  EXPECT_EQ(at(SourceText("\xF4\x90\x80\x80").invalidUtf8()), "1:1 1:2 1:3 1:4");
}

TEST(SourceTest, TruncatedSequencesAreInvalid) {
  // Cut off by the end of the text.
  EXPECT_EQ(at(SourceText("ab\xE2\x82").invalidUtf8()), "1:3 1:4");
  // Cut off by an ASCII byte: the ASCII byte itself is fine.
  EXPECT_EQ(at(SourceText("\xE2\x82x").invalidUtf8()), "1:1 1:2");
  // A lead byte directly before a newline: the newline still ends the line.
  EXPECT_EQ(at(SourceText("\xC3\nok\xC3").invalidUtf8()), "1:1 2:3");
}

TEST(SourceTest, InvalidPositionsCountCharactersAndLines) {
  EXPECT_EQ(at(SourceText("caf\xC3\xA9\xFF").invalidUtf8()), "1:5");
  EXPECT_EQ(at(SourceText("a: 1\n\xE2\x82\xAC\xFF\n\xFF").invalidUtf8()), "2:2 3:1");
}

TEST(SourceTest, InvalidPositionsStartAfterTheByteOrderMark) {
  EXPECT_EQ(at(SourceText("\xEF\xBB\xBF\xFF").invalidUtf8()), "1:1");
}

TEST(SourceTest, Utf8SequenceLengthAcceptsTheBoundariesOfEachRange) {
  EXPECT_EQ(utf8SequenceLength(""), 0U);
  EXPECT_EQ(utf8SequenceLength("a"), 1U);
  EXPECT_EQ(utf8SequenceLength("\xC2\x80"), 2U);         // U+0080
  EXPECT_EQ(utf8SequenceLength("\xE0\xA0\x80"), 3U);     // U+0800
  EXPECT_EQ(utf8SequenceLength("\xED\x9F\xBF"), 3U);     // U+D7FF
  EXPECT_EQ(utf8SequenceLength("\xEE\x80\x80"), 3U);     // U+E000
  EXPECT_EQ(utf8SequenceLength("\xF0\x90\x80\x80"), 4U); // U+10000
  EXPECT_EQ(utf8SequenceLength("\xF4\x8F\xBF\xBF"), 4U); // U+10FFFF
  EXPECT_EQ(utf8SequenceLength("\xF0\x8F\xBF\xBF"), 0U); // overlong U+FFFF
  EXPECT_EQ(utf8SequenceLength("\xF8\x88\x80\x80\x80"), 0U);
}

TEST(SourceTest, MarkFromBytesMakesPositionsOneBased) {
  const SourceText source("a: 1\nb: 2\n");
  EXPECT_EQ(at(source.markFromBytes(0, 0)), "1:1");
  EXPECT_EQ(at(source.markFromBytes(1, 3)), "2:4");
}

TEST(SourceTest, MarkFromBytesCountsMultiByteCharactersOnce) {
  // "é: x": x is at byte 4 but is the 4th character.
  EXPECT_EQ(at(SourceText("\xC3\xA9: x\n").markFromBytes(0, 4)), "1:4");
  // "€€: 2": 2 is at byte 8 but is the 5th character.
  EXPECT_EQ(at(SourceText("a: 1\n\xE2\x82\xAC\xE2\x82\xAC: 2\n").markFromBytes(1, 8)), "2:5");
  // A four-byte emoji is one character.
  EXPECT_EQ(at(SourceText("\xF0\x9F\x98\x80x").markFromBytes(0, 4)), "1:2");
}

TEST(SourceTest, MarkFromBytesCountsEachInvalidByteAsOneCharacter) {
  EXPECT_EQ(at(SourceText("\xFF\xFFx").markFromBytes(0, 2)), "1:3");
}

TEST(SourceTest, MarkFromBytesCountsTheByteOrderMarkAsAbsent) {
  // yaml-cpp sees the text without the mark, so its byte columns start after it.
  EXPECT_EQ(at(SourceText("\xEF\xBB\xBF"
                          "ab: c")
                   .markFromBytes(0, 4)),
            "1:5");
}

TEST(SourceTest, MarkFromBytesPutsPositionlessErrorsAtTheEnd) {
  const SourceText no_newline("a: 1\nb\xC3\xA9");
  EXPECT_EQ(at(no_newline.markFromBytes(-1, -1)), "2:3");
  EXPECT_EQ(at(no_newline.markFromBytes(7, 0)), "2:3");
  const SourceText newline("a: 1\n");
  EXPECT_EQ(at(newline.markFromBytes(-1, -1)), "2:1");
}

TEST(SourceTest, TabIndentIsDetectedOnItsLine) {
  const SourceText source("a:\n\tb: 1\nc: 2\n");
  EXPECT_FALSE(source.lineHasTabIndent(1));
  EXPECT_TRUE(source.lineHasTabIndent(2));
}

TEST(SourceTest, TabAfterSpacesIsStillIndentation) {
  EXPECT_TRUE(SourceText("a:\n  \tb: 1\n").lineHasTabIndent(2));
}

TEST(SourceTest, TabInsideALineIsNotIndentation) {
  const SourceText source("a:\t1\nb: x\ty\n");
  EXPECT_FALSE(source.lineHasTabIndent(1));
  EXPECT_FALSE(source.lineHasTabIndent(2));
}

TEST(SourceTest, TabIndentCountsForTheLineAfterIt) {
  // yaml-cpp often reports a tab's damage on the next line.
  const SourceText source("\tkey: 1\nother: 2\nlast: 3\n");
  EXPECT_TRUE(source.lineHasTabIndent(2));
  EXPECT_FALSE(source.lineHasTabIndent(3));
}

TEST(SourceTest, TabIndentOutsideTheTextIsFalse) {
  const SourceText source("\ta: 1\n");
  EXPECT_FALSE(source.lineHasTabIndent(0));
  EXPECT_FALSE(source.lineHasTabIndent(10));
}

} // namespace
} // namespace exoflow::manifest
