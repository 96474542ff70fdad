// Blob and Table names of API keys (backend/azure/names.h): which keys keep their own name, the
// escape of the others, and the order both keep.

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "backend/azure/names.h"

namespace exoflow::azure {
namespace {

TEST(AzureNamesTest, OrdinaryKeysAreTheirOwnNames) {
  for (const char* key : {"orders/2026/a.json", "user:42", "\xC3\xBC/\xC3\xB1 space", "a.b/c",
                          "%2e%2e%2f", "\xF0\x9F\x93\xA6", "x~y"}) {
    EXPECT_TRUE(isNaturalName(key, NameRules::kBlob)) << key;
    EXPECT_EQ(storedName(key, NameRules::kBlob), key);
    EXPECT_EQ(keyOfName(key, NameRules::kBlob), key);
  }
  for (const char* key : {"user:42", "a.b", ".", "..", "sp ace", "trailing.", "\xC3\xBC"}) {
    EXPECT_TRUE(isNaturalName(key, NameRules::kTable)) << key;
    EXPECT_EQ(storedName(key, NameRules::kTable), key);
  }
}

TEST(AzureNamesTest, KeysAzureRefusesOrChangesAreEscapedWhole) {
  for (const char* key : {".", "..", "a/./b", "a/../b", "trailing/", "trailing.", "a//b", "/abs",
                          "a\\b", "~x", "\xC2\x85", "\xEE\x80\x80", "\xEF\xBF\xBD", "\xFF"}) {
    EXPECT_FALSE(isNaturalName(key, NameRules::kBlob)) << key;
  }
  for (const char* key :
       {"a/b", "a\\b", "#", "why?", "~x", "tab\there", "\x7F", "\xC2\x9F", "\xEF\xBC\xA1"}) {
    EXPECT_FALSE(isNaturalName(key, NameRules::kTable)) << key;
  }
  EXPECT_EQ(storedName("a/./b", NameRules::kBlob), "~GbCpCoCpGc");
  EXPECT_EQ(storedName("user/1#?", NameRules::kTable), "~HfHdGfHcCpDbCdDp");
  EXPECT_EQ(keyOfName("~GbCpCoCpGc", NameRules::kBlob), "a/./b");
  std::string segments;
  for (int i = 0; i < 253; ++i)
    segments += "s/";
  segments += "s";
  EXPECT_TRUE(isNaturalName(segments, NameRules::kBlob)) << "254 segments";
  EXPECT_FALSE(isNaturalName("s/" + segments, NameRules::kBlob)) << "255 segments";
}

TEST(AzureNamesTest, EveryNameHoldsAtMostOneKey) {
  // The escaped name of a natural key, a broken letter pair, a name this layout never writes.
  for (const char* name : {"~GbGc", "~Gb", "~", "~GZ", "a//b", "x."}) {
    EXPECT_FALSE(keyOfName(name, NameRules::kBlob)) << name;
  }
  EXPECT_FALSE(keyOfName("a/b", NameRules::kTable));
  EXPECT_FALSE(keyOfName("~GbGc", NameRules::kTable));
  std::set<std::string> names;
  const std::vector<std::string> keys = {"a", "~a", "~GbAa", "a/", "a.", "a\\b", "..", "."};
  for (const std::string& key : keys) {
    const std::string name = storedName(key, NameRules::kBlob);
    EXPECT_TRUE(names.insert(name).second) << key;
    EXPECT_EQ(keyOfName(name, NameRules::kBlob), key);
  }
}

TEST(AzureNamesTest, EscapedNamesKeepTheKeysByteOrderAndPrefixes) {
  std::vector<std::string> keys = {"a/./b", "a/",      "a//", "a\\", "\xC3\xA4.", "..",
                                   "a/0.",  "a/.\xFF", "~",   "~~",  "b",         "a"};
  std::sort(keys.begin(), keys.end());
  for (std::size_t i = 1; i < keys.size(); ++i) {
    EXPECT_LT(escapedName(keys[i - 1]), escapedName(keys[i])) << keys[i - 1] << " " << keys[i];
  }
  for (const std::string& key : keys) {
    for (std::size_t n = 0; n <= key.size(); ++n) {
      EXPECT_EQ(escapedName(key).rfind(escapedName(key.substr(0, n)), 0), 0U);
    }
  }
  // A delimiter's letter pairs match only whole bytes: 0x02 0xF0 holds no "/" (0x2F).
  EXPECT_EQ(letterPairs("\x02\xF0").find(letterPairs("/")), std::string::npos);
}

TEST(AzureNamesTest, ThePrefixEndBoundsTheNaturalNamesOfAPrefix) {
  EXPECT_EQ(naturalPrefixEnd("user/"), "user0");
  EXPECT_EQ(naturalPrefixEnd("a~"), "a\xC2\xA0") << "past U+007F..U+009F";
  EXPECT_EQ(naturalPrefixEnd("a\xED\x9F\xBF"), "a\xF0\x90\x80\x80") << "past U+E000..U+FFFF";
  EXPECT_EQ(naturalPrefixEnd("a\xF4\x8F\xBF\xBF"), "b");
  EXPECT_FALSE(naturalPrefixEnd(""));
  EXPECT_TRUE(naturalNameCanStartWith("a/", NameRules::kBlob));
  EXPECT_TRUE(naturalNameCanStartWith("a.", NameRules::kBlob));
  EXPECT_FALSE(naturalNameCanStartWith("a//", NameRules::kBlob));
  EXPECT_FALSE(naturalNameCanStartWith("a/", NameRules::kTable));
  EXPECT_TRUE(naturalNameCanStartWith("", NameRules::kTable));
}

} // namespace
} // namespace exoflow::azure
