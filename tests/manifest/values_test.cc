// The value syntaxes of manifest v1, pinned with the exact hints users see.

#include <cstdint>
#include <limits>
#include <string>

#include <gtest/gtest.h>

#include "manifest/values.h"

namespace exoflow::manifest {
namespace {

constexpr std::int64_t kInt64Max = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kInt64Min = std::numeric_limits<std::int64_t>::min();

/// The refusal's text, or a marker that fails the comparison when the value was accepted.
template <typename T> std::string refusal(const Parsed<T>& parsed) {
  return parsed ? std::string("(accepted)") : parsed.error();
}

/// The canonical network, or the refusal's text.
std::string canonical(std::string_view text) {
  const auto cidr = parseCidr(text);
  return cidr ? cidr->canonical : "(refused) " + cidr.error();
}

TEST(ValuesTest, NullFormsResolveToNull) {
  for (const char* text : {"", "~", "null", "Null", "NULL"}) {
    EXPECT_EQ(resolvePlainScalar(text), CoreType::kNull) << text;
  }
  EXPECT_EQ(resolvePlainScalar("nULL"), CoreType::kString);
  EXPECT_EQ(resolvePlainScalar("none"), CoreType::kString);
}

TEST(ValuesTest, OnlyThreeSpellingsOfEachBooleanAreBooleans) {
  for (const char* text : {"true", "True", "TRUE", "false", "False", "FALSE"}) {
    EXPECT_EQ(resolvePlainScalar(text), CoreType::kBool) << text;
  }
  EXPECT_EQ(resolvePlainScalar("tRUE"), CoreType::kString);
  EXPECT_EQ(parseCoreBool("True"), true);
  EXPECT_EQ(parseCoreBool("FALSE"), false);
}

TEST(ValuesTest, Yaml11BooleansAreStrings) {
  for (const char* text : {"yes", "Yes", "no", "NO", "on", "On", "off", "OFF", "y", "n"}) {
    EXPECT_EQ(resolvePlainScalar(text), CoreType::kString) << text;
    EXPECT_EQ(parseCoreBool(text), std::nullopt) << text;
  }
}

TEST(ValuesTest, CoreIntegersResolveToInt) {
  for (const char* text : {"0", "22", "-17", "+17", "0o17", "0x1F", "0xff", "007"}) {
    EXPECT_EQ(resolvePlainScalar(text), CoreType::kInt) << text;
  }
  // Too large for 64 bits, but still an integer rather than a string.
  EXPECT_EQ(resolvePlainScalar("99999999999999999999"), CoreType::kInt);
  EXPECT_EQ(resolvePlainScalar("-99999999999999999999"), CoreType::kInt);
}

TEST(ValuesTest, NearMissIntegersAreStrings) {
  // The core schema has no signed hex or octal, no 0X, no underscores, no empty digits.
  for (const char* text :
       {"0x", "0o", "0o8", "0xg", "0X1F", "+0x1F", "-0o7", "1_000", "+", "-", "12:30", "1a"}) {
    EXPECT_EQ(resolvePlainScalar(text), CoreType::kString) << text;
  }
}

TEST(ValuesTest, CoreFloatsResolveToFloat) {
  for (const char* text : {"1.5", "-1.5", "+1.5", ".5", "1.", "1e3", "1E3", "-1e-3", "2.5e+10",
                           ".inf", ".Inf", ".INF", "-.inf", "+.inf", ".nan", ".NaN", ".NAN"}) {
    EXPECT_EQ(resolvePlainScalar(text), CoreType::kFloat) << text;
  }
}

TEST(ValuesTest, NearMissFloatsAreStrings) {
  for (const char* text : {".", "1e", "e3", "1e+", "-.nan", ".Nan", "inf", "1.2.3", "1.5s"}) {
    EXPECT_EQ(resolvePlainScalar(text), CoreType::kString) << text;
  }
}

TEST(ValuesTest, CoreIntParsesEveryBase) {
  EXPECT_EQ(parseCoreInt("22"), 22);
  EXPECT_EQ(parseCoreInt("+22"), 22);
  EXPECT_EQ(parseCoreInt("-22"), -22);
  EXPECT_EQ(parseCoreInt("-0"), 0);
  EXPECT_EQ(parseCoreInt("0o777"), 511);
  EXPECT_EQ(parseCoreInt("0x1F"), 31);
  EXPECT_EQ(parseCoreInt("0xaBc"), 2748);
}

TEST(ValuesTest, CoreIntRefusesWhatIsNotAnInteger) {
  EXPECT_EQ(parseCoreInt(""), std::nullopt);
  EXPECT_EQ(parseCoreInt("abc"), std::nullopt);
  EXPECT_EQ(parseCoreInt("0o8"), std::nullopt);
  EXPECT_EQ(parseCoreInt("1.0"), std::nullopt);
}

TEST(ValuesTest, CoreIntAcceptsTheInt64BoundsExactly) {
  EXPECT_EQ(parseCoreInt("9223372036854775807"), kInt64Max);
  EXPECT_EQ(parseCoreInt("-9223372036854775808"), kInt64Min);
  EXPECT_EQ(parseCoreInt("0x7fffffffffffffff"), kInt64Max);
  EXPECT_EQ(parseCoreInt("0o777777777777777777777"), kInt64Max);
}

TEST(ValuesTest, CoreIntIsEmptyOnOverflow) {
  EXPECT_EQ(parseCoreInt("9223372036854775808"), std::nullopt);
  EXPECT_EQ(parseCoreInt("-9223372036854775809"), std::nullopt);
  EXPECT_EQ(parseCoreInt("0x8000000000000000"), std::nullopt);
  EXPECT_EQ(parseCoreInt("18446744073709551616"), std::nullopt);
  EXPECT_EQ(parseCoreInt("0x10000000000000000"), std::nullopt);
}

TEST(ValuesTest, DurationAcceptsEveryUnit) {
  EXPECT_EQ(parseDuration("250ms"), 250);
  EXPECT_EQ(parseDuration("30s"), 30'000);
  EXPECT_EQ(parseDuration("90m"), 5'400'000);
  EXPECT_EQ(parseDuration("12h"), 43'200'000);
  EXPECT_EQ(parseDuration("4d"), 345'600'000);
  EXPECT_EQ(parseDuration("0s"), 0);
}

TEST(ValuesTest, DurationRefusesCompoundForms) {
  EXPECT_EQ(refusal(parseDuration("1h30m")), "use a single unit, e.g. 90m");
  EXPECT_EQ(refusal(parseDuration("1m5s")), "use a single unit, e.g. 90m");
}

TEST(ValuesTest, DurationRefusesFractions) {
  EXPECT_EQ(refusal(parseDuration("1.5h")), "use a whole number with a smaller unit, e.g. 90m");
  EXPECT_EQ(refusal(parseDuration("1,5h")), "use a whole number with a smaller unit, e.g. 90m");
}

TEST(ValuesTest, DurationRefusesBareNumbersSpacesSignsAndUnknownUnits) {
  EXPECT_EQ(refusal(parseDuration("30")), "add a unit: one of ms, s, m, h, d");
  EXPECT_EQ(refusal(parseDuration("30 s")),
            "write no space between the number and the unit, e.g. 90m");
  EXPECT_EQ(refusal(parseDuration("-5s")), "write a whole number without a sign, e.g. 90m");
  EXPECT_EQ(refusal(parseDuration("+5s")), "write a whole number without a sign, e.g. 90m");
  EXPECT_EQ(refusal(parseDuration("30sec")), "units are ms, s, m, h, d");
  EXPECT_EQ(refusal(parseDuration("30S")), "units are ms, s, m, h, d");
  EXPECT_EQ(refusal(parseDuration("abc")),
            "write a whole number followed by one of ms, s, m, h, d");
  EXPECT_EQ(refusal(parseDuration("")), "write a whole number followed by one of ms, s, m, h, d");
}

TEST(ValuesTest, DurationRefusesNumbersTooLarge) {
  EXPECT_EQ(parseDuration("9223372036854775807ms"), kInt64Max);
  EXPECT_EQ(refusal(parseDuration("9223372036854775808ms")), "the number is too large");
  EXPECT_EQ(refusal(parseDuration("200000000000d")), "the number is too large");
  EXPECT_EQ(refusal(parseDuration("99999999999999999999s")), "the number is too large");
}

TEST(ValuesTest, SizeAcceptsEveryUnit) {
  EXPECT_EQ(parseSize("1B"), 1U);
  EXPECT_EQ(parseSize("256KiB"), 262'144U);
  EXPECT_EQ(parseSize("1536MiB"), 1536ULL << 20);
  EXPECT_EQ(parseSize("32GiB"), 32ULL << 30);
  EXPECT_EQ(parseSize("16TiB"), 16ULL << 40);
}

TEST(ValuesTest, SizeNamesTheDecimalOrMiscasedUnitItRefuses) {
  EXPECT_EQ(refusal(parseSize("256KB")),
            "units are binary and case-sensitive: B, KiB, MiB, GiB, TiB (\"KB\" is not one)");
  EXPECT_EQ(refusal(parseSize("1mb")),
            "units are binary and case-sensitive: B, KiB, MiB, GiB, TiB (\"mb\" is not one)");
  EXPECT_EQ(refusal(parseSize("256kib")),
            "units are binary and case-sensitive: B, KiB, MiB, GiB, TiB (\"kib\" is not one)");
  EXPECT_EQ(refusal(parseSize("2GIB")),
            "units are binary and case-sensitive: B, KiB, MiB, GiB, TiB (\"GIB\" is not one)");
}

TEST(ValuesTest, SizeRefusesMalformedForms) {
  EXPECT_EQ(refusal(parseSize("256")), "add a unit: one of B, KiB, MiB, GiB, TiB");
  EXPECT_EQ(refusal(parseSize("KiB")),
            "write a whole number followed by one of B, KiB, MiB, GiB, TiB");
  EXPECT_EQ(refusal(parseSize("-1KiB")), "write a whole number without a sign, e.g. 1536MiB");
  EXPECT_EQ(refusal(parseSize("1.5GiB")), "use a whole number with a smaller unit, e.g. 1536MiB");
  EXPECT_EQ(refusal(parseSize("1GiB512MiB")), "use a single unit, e.g. 1536MiB");
  EXPECT_EQ(refusal(parseSize("1 KiB")),
            "write no space between the number and the unit, e.g. 1536MiB");
  EXPECT_EQ(refusal(parseSize("1 KB")),
            "write no space between the number and the unit, e.g. 1536MiB");
  EXPECT_EQ(refusal(parseSize("1PiB")), "units are B, KiB, MiB, GiB, TiB");
}

TEST(ValuesTest, SizeRefusesNumbersTooLarge) {
  EXPECT_EQ(parseSize("16777215TiB"), 16'777'215ULL << 40);
  EXPECT_EQ(refusal(parseSize("16777216TiB")), "the number is too large");
}

TEST(ValuesTest, FormatDurationUsesTheLargestUnitThatDivides) {
  EXPECT_EQ(formatDuration(43'200'000), "12h");
  EXPECT_EQ(formatDuration(345'600'000), "4d");
  EXPECT_EQ(formatDuration(5'400'000), "90m");
  EXPECT_EQ(formatDuration(60'000), "1m");
  EXPECT_EQ(formatDuration(30'000), "30s");
  EXPECT_EQ(formatDuration(1'500), "1500ms");
  EXPECT_EQ(formatDuration(1), "1ms");
}

TEST(ValuesTest, FormatDurationWritesZeroInSeconds) {
  EXPECT_EQ(formatDuration(0), "0s");
}

TEST(ValuesTest, FormatSizeUsesTheLargestUnitThatDivides) {
  EXPECT_EQ(formatSize(262'144), "256KiB");
  EXPECT_EQ(formatSize(1536ULL << 20), "1536MiB");
  EXPECT_EQ(formatSize(32ULL << 30), "32GiB");
  EXPECT_EQ(formatSize(1ULL << 40), "1TiB");
  EXPECT_EQ(formatSize(1023), "1023B");
  EXPECT_EQ(formatSize(0), "0B");
}

TEST(ValuesTest, FormattedValuesParseBack) {
  for (const char* text : {"30s", "4d", "90m", "250ms"}) {
    EXPECT_EQ(formatDuration(*parseDuration(text)), text);
  }
  for (const char* text : {"1B", "256KiB", "1536MiB", "16TiB"}) {
    EXPECT_EQ(formatSize(*parseSize(text)), text);
  }
}

TEST(ValuesTest, NameAcceptsTheDocumentedShape) {
  EXPECT_EQ(parseName("webshop"), "webshop");
  EXPECT_EQ(parseName("a1"), "a1");
  EXPECT_EQ(parseName("my-app-2"), "my-app-2");
  const std::string longest = "a" + std::string(31, 'b');
  EXPECT_EQ(parseName(longest), longest);
}

TEST(ValuesTest, NameRefusesWrongLengths) {
  EXPECT_EQ(refusal(parseName("")), "a name has 2 to 32 characters; this one has 0");
  EXPECT_EQ(refusal(parseName("a")), "a name has 2 to 32 characters; this one has 1");
  EXPECT_EQ(refusal(parseName(std::string(33, 'a'))),
            "a name has 2 to 32 characters; this one has 33");
}

TEST(ValuesTest, NameRefusesBadCharactersAndDashes) {
  EXPECT_EQ(refusal(parseName("1app")), "a name starts with a lowercase letter");
  EXPECT_EQ(refusal(parseName("-app")), "a name starts with a lowercase letter");
  EXPECT_EQ(refusal(parseName("App")), "a name starts with a lowercase letter");
  EXPECT_EQ(refusal(parseName("myApp")), "use lowercase letters, digits and \"-\" only");
  EXPECT_EQ(refusal(parseName("my_app")), "use lowercase letters, digits and \"-\" only");
  EXPECT_EQ(refusal(parseName("app-")), "a name does not end with \"-\"");
  EXPECT_EQ(refusal(parseName("my--app")), "\"--\" is not allowed in names");
}

TEST(ValuesTest, PortRangeAcceptsOrderedBounds) {
  const auto range = parsePortRange("9000-9010");
  ASSERT_TRUE(range.has_value());
  EXPECT_EQ(range->from, 9000);
  EXPECT_EQ(range->to, 9010);
  const auto single = parsePortRange("22-22");
  ASSERT_TRUE(single.has_value());
  EXPECT_EQ(single->from, 22);
  EXPECT_EQ(single->to, 22);
  EXPECT_TRUE(parsePortRange("1-65535").has_value());
}

TEST(ValuesTest, PortRangeRefusesWhatIsNotARange) {
  const std::string not_range =
      "write a port as a number (port: 22) or a range as first-last (9000-9010)";
  EXPECT_EQ(refusal(parsePortRange("22")), not_range);
  EXPECT_EQ(refusal(parsePortRange("-22")), not_range);
  const std::string two_numbers = "write a range as two numbers joined by \"-\", e.g. 9000-9010";
  EXPECT_EQ(refusal(parsePortRange("9000-")), two_numbers);
  EXPECT_EQ(refusal(parsePortRange("a-b")), two_numbers);
  EXPECT_EQ(refusal(parsePortRange("9000 - 9010")), two_numbers);
  EXPECT_EQ(refusal(parsePortRange("1-2-3")), two_numbers);
}

TEST(ValuesTest, PortRangeRefusesPortsOutOfBoundsAndReversedRanges) {
  EXPECT_EQ(refusal(parsePortRange("0-10")), "ports are 1..65535");
  EXPECT_EQ(refusal(parsePortRange("1-65536")), "ports are 1..65535");
  EXPECT_EQ(refusal(parsePortRange("9010-9000")),
            "the range starts above its end; did you mean 9000-9010?");
}

TEST(ValuesTest, CidrAcceptsIpv4Networks) {
  const auto cidr = parseCidr("10.0.0.0/8");
  ASSERT_TRUE(cidr.has_value());
  EXPECT_EQ(cidr->canonical, "10.0.0.0/8");
  EXPECT_FALSE(cidr->ipv6);
  EXPECT_EQ(canonical("0.0.0.0/0"), "0.0.0.0/0");
  EXPECT_EQ(canonical("10.128.0.0/9"), "10.128.0.0/9");
  EXPECT_EQ(canonical("192.168.1.7/32"), "192.168.1.7/32");
}

TEST(ValuesTest, CidrAcceptsIpv6NetworksInCanonicalForm) {
  const auto cidr = parseCidr("2001:DB8:0:0::/32");
  ASSERT_TRUE(cidr.has_value());
  EXPECT_EQ(cidr->canonical, "2001:db8::/32");
  EXPECT_TRUE(cidr->ipv6);
  EXPECT_EQ(canonical("::/0"), "::/0");
  EXPECT_EQ(canonical("::1/128"), "::1/128");
  EXPECT_EQ(canonical("2001:db8:0:0:1:0:0:1/128"), "2001:db8::1:0:0:1/128");
}

TEST(ValuesTest, CidrWithHostBitsNamesTheNetwork) {
  EXPECT_EQ(refusal(parseCidr("10.1.2.3/8")), "host bits are set; the network is 10.0.0.0/8");
  EXPECT_EQ(refusal(parseCidr("10.192.0.0/9")), "host bits are set; the network is 10.128.0.0/9");
  EXPECT_EQ(refusal(parseCidr("2001:db8::1/32")),
            "host bits are set; the network is 2001:db8::/32");
}

TEST(ValuesTest, BareAddressNeedsAFullLengthPrefix) {
  EXPECT_EQ(refusal(parseCidr("10.1.2.3")),
            "add the prefix length: 10.1.2.3/32 for this one address");
  EXPECT_EQ(refusal(parseCidr("2001:db8::1")),
            "add the prefix length: 2001:db8::1/128 for this one address");
}

TEST(ValuesTest, CidrPrefixMustBeInBounds) {
  EXPECT_EQ(canonical("10.0.0.0/32"), "10.0.0.0/32");
  EXPECT_EQ(refusal(parseCidr("10.0.0.0/33")), "the prefix length is a number 0..32");
  EXPECT_EQ(refusal(parseCidr("10.0.0.0/")), "the prefix length is a number 0..32");
  EXPECT_EQ(refusal(parseCidr("10.0.0.0/-1")), "the prefix length is a number 0..32");
  EXPECT_EQ(refusal(parseCidr("10.0.0.0/0008")), "the prefix length is a number 0..32");
  EXPECT_EQ(refusal(parseCidr("10.0.0.0/8/8")), "the prefix length is a number 0..32");
  EXPECT_EQ(canonical("2001:db8::/128"), "2001:db8::/128");
  EXPECT_EQ(refusal(parseCidr("2001:db8::/129")), "the prefix length is a number 0..128");
}

TEST(ValuesTest, CidrRefusesWhatIsNotAnAddress) {
  EXPECT_EQ(refusal(parseCidr("10.0.0/8")), "that is not an IPv4 address");
  EXPECT_EQ(refusal(parseCidr("256.0.0.0/8")), "that is not an IPv4 address");
  EXPECT_EQ(refusal(parseCidr("")), "that is not an IPv4 address");
  EXPECT_EQ(refusal(parseCidr("/8")), "that is not an IPv4 address");
  EXPECT_EQ(refusal(parseCidr("2001:db8::g/32")), "that is not an IPv6 address");
  EXPECT_EQ(refusal(parseCidr("1:2:3:4:5:6:7:8:9/64")), "that is not an IPv6 address");
}

TEST(ValuesTest, HttpPathAcceptsUrlPathCharacters) {
  EXPECT_EQ(parseHttpPath("/", false), "/");
  EXPECT_EQ(parseHttpPath("/healthz", false), "/healthz");
  EXPECT_EQ(parseHttpPath("/a-b_c.d~e/%20/@:+,;=!$&'()", false), "/a-b_c.d~e/%20/@:+,;=!$&'()");
}

TEST(ValuesTest, HttpPathAllowsOneTrailingWildcardForRoutes) {
  EXPECT_EQ(parseHttpPath("/api/*", true), "/api/*");
  EXPECT_EQ(parseHttpPath("/api*", true), "/api*");
  EXPECT_EQ(parseHttpPath("/*", true), "/*");
  EXPECT_EQ(refusal(parseHttpPath("/api/*", false)),
            "\"*\" is allowed only at the end of a route path");
  EXPECT_EQ(refusal(parseHttpPath("/a*/b", true)), "a single \"*\" is allowed, at the end only");
  EXPECT_EQ(refusal(parseHttpPath("/**", true)), "a single \"*\" is allowed, at the end only");
}

TEST(ValuesTest, HttpPathRefusesMalformedPaths) {
  EXPECT_EQ(refusal(parseHttpPath("", false)), "a path starts with \"/\"");
  EXPECT_EQ(refusal(parseHttpPath("api", false)), "a path starts with \"/\"");
  EXPECT_EQ(refusal(parseHttpPath("/a?b=1", false)), "a path has no query or fragment");
  EXPECT_EQ(refusal(parseHttpPath("/a#top", false)), "a path has no query or fragment");
  const std::string chars =
      "use URL path characters only (letters, digits, - . _ ~ / and %XX escapes)";
  EXPECT_EQ(refusal(parseHttpPath("/a b", false)), chars);
  EXPECT_EQ(refusal(parseHttpPath("/caf\xC3\xA9", false)), chars);
  EXPECT_EQ(refusal(parseHttpPath("/a%2", false)), "\"%\" starts an escape such as %20");
  EXPECT_EQ(refusal(parseHttpPath("/a%zz", false)), "\"%\" starts an escape such as %20");
  EXPECT_EQ(refusal(parseHttpPath("/a%", false)), "\"%\" starts an escape such as %20");
}

TEST(ValuesTest, HttpPathRefusesAnEmbeddedNulByte) {
  // A double-quoted YAML scalar can hold "\0"; it is not a URL path character.
  EXPECT_EQ(refusal(parseHttpPath(std::string_view("/a\0b", 4), false)),
            "use URL path characters only (letters, digits, - . _ ~ / and %XX escapes)");
}

TEST(ValuesTest, DnsNameAcceptsNamesAndATrailingDot) {
  EXPECT_EQ(parseDnsName("example.com", false), "example.com");
  EXPECT_EQ(parseDnsName("example.com.", false), "example.com.");
  EXPECT_EQ(parseDnsName("Shop-1.Example.COM", false), "Shop-1.Example.COM");
  EXPECT_EQ(parseDnsName(std::string(63, 'a') + ".com", false), std::string(63, 'a') + ".com");
}

TEST(ValuesTest, DnsNameRefusesBadLabels) {
  EXPECT_EQ(refusal(parseDnsName("", false)), "a DNS name has 1 to 253 characters");
  EXPECT_EQ(refusal(parseDnsName("example..com", false)), "each label has 1 to 63 characters");
  EXPECT_EQ(refusal(parseDnsName("example.com..", false)), "each label has 1 to 63 characters");
  EXPECT_EQ(refusal(parseDnsName(std::string(64, 'a') + ".com", false)),
            "each label has 1 to 63 characters");
  EXPECT_EQ(refusal(parseDnsName("exa_mple.com", false)),
            "labels use letters, digits and \"-\" only");
  EXPECT_EQ(refusal(parseDnsName("-shop.com", false)), "a label does not start or end with \"-\"");
  EXPECT_EQ(refusal(parseDnsName("shop-.com", false)), "a label does not start or end with \"-\"");
}

TEST(ValuesTest, DnsNameIsAtMost253CharactersBeforeItsTrailingDot) {
  // 63 + 63 + 63 + 61 characters and three dots: 253.
  const std::string fits = std::string(63, 'a') + "." + std::string(63, 'b') + "." +
                           std::string(63, 'c') + "." + std::string(61, 'd');
  ASSERT_EQ(fits.size(), 253U);
  EXPECT_EQ(parseDnsName(fits, false), fits);
  EXPECT_EQ(parseDnsName(fits + ".", false), fits + ".");
  EXPECT_EQ(refusal(parseDnsName(fits + "d", false)), "a DNS name has 1 to 253 characters");
}

TEST(ValuesTest, DnsLabelRefusesDots) {
  EXPECT_EQ(parseDnsName("shop", true), "shop");
  EXPECT_EQ(refusal(parseDnsName("shop.example", true)), "write a single label, without dots");
  EXPECT_EQ(refusal(parseDnsName("shop.", true)), "write a single label, without dots");
  EXPECT_EQ(refusal(parseDnsName("", true)), "a DNS name has 1 to 253 characters");
}

} // namespace
} // namespace exoflow::manifest
