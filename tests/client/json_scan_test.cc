// The raw JSON scanner that keeps kv values exactly as sent (src/client/json_scan.h).

#include <gtest/gtest.h>

#include "client/json_scan.h"

namespace exoflow::client::detail {
namespace {

TEST(JsonScanTest, SplitsAnObjectIntoNamesAndRawValues) {
  std::vector<RawMember> members;
  ASSERT_TRUE(splitObject(
      R"( {"a": 123456789012345678901234567890, "b" : {"x": [1, "]"]}, "c\u00e9": "s\"}"} )",
      members));
  ASSERT_EQ(members.size(), 3u);
  EXPECT_EQ(members[0].name, "a");
  EXPECT_EQ(members[0].value, "123456789012345678901234567890");
  EXPECT_EQ(members[1].name, "b");
  EXPECT_EQ(members[1].value, R"({"x": [1, "]"]})");
  EXPECT_EQ(members[2].name, "c\xC3\xA9");
  EXPECT_EQ(members[2].value, R"("s\"}")");
}

TEST(JsonScanTest, SplitsAnArray) {
  std::vector<std::string_view> elements;
  ASSERT_TRUE(splitArray(R"([1.50, null, [], {}, "x,y", true])", elements));
  ASSERT_EQ(elements.size(), 6u);
  EXPECT_EQ(elements[0], "1.50");
  EXPECT_EQ(elements[1], "null");
  EXPECT_EQ(elements[2], "[]");
  EXPECT_EQ(elements[3], "{}");
  EXPECT_EQ(elements[4], R"("x,y")");
  EXPECT_EQ(elements[5], "true");
  ASSERT_TRUE(splitArray("[]", elements));
  EXPECT_TRUE(elements.empty());
}

TEST(JsonScanTest, RefusesMalformedText) {
  std::vector<RawMember> members;
  std::vector<std::string_view> elements;
  for (const char* text : {"", "{", R"({"a" 1})", R"({"a": 1,})", R"({"a": "x)", R"({a: 1})",
                           R"({"a": 1} x)", "[1 2]", R"({"a": [1})"}) {
    EXPECT_FALSE(splitObject(text, members)) << text;
  }
  EXPECT_FALSE(splitArray("[1,", elements));
  EXPECT_FALSE(splitArray("{}", elements));
}

TEST(JsonScanTest, RefusesRunawayNesting) {
  std::vector<std::string_view> elements;
  EXPECT_FALSE(splitArray(std::string(10000, '[') + std::string(10000, ']'), elements));
}

TEST(JsonScanTest, DecodesStringLiterals) {
  std::string out;
  ASSERT_TRUE(decodeString(R"("a\nb\u2713")", out));
  EXPECT_EQ(out, "a\nb\xE2\x9C\x93");
  EXPECT_FALSE(decodeString("12", out));
}

} // namespace
} // namespace exoflow::client::detail
