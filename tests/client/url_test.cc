// Base-URL parsing and percent-encoding (src/client/url.h).

#include <gtest/gtest.h>

#include "client/url.h"

namespace exoflow::client::detail {
namespace {

TEST(ParseEndpointTest, TakesHostAndPort) {
  auto endpoint = parseEndpoint("http://127.0.0.1:7420");
  ASSERT_TRUE(endpoint) << endpoint.error().message;
  EXPECT_EQ(endpoint->host, "127.0.0.1");
  EXPECT_EQ(endpoint->port, "7420");
  EXPECT_EQ(endpoint->host_header, "127.0.0.1:7420");
  EXPECT_EQ(endpoint->base_path, "");
}

TEST(ParseEndpointTest, DefaultsThePortTo80AndLeavesItOutOfTheHostHeader) {
  auto endpoint = parseEndpoint("http://proxy.internal");
  ASSERT_TRUE(endpoint);
  EXPECT_EQ(endpoint->port, "80");
  EXPECT_EQ(endpoint->host_header, "proxy.internal");
}

TEST(ParseEndpointTest, KeepsABasePathWithoutItsTrailingSlash) {
  auto endpoint = parseEndpoint("http://localhost:8080/exo/");
  ASSERT_TRUE(endpoint);
  EXPECT_EQ(endpoint->base_path, "/exo");
  EXPECT_EQ(parseEndpoint("http://localhost:8080/")->base_path, "");
}

TEST(ParseEndpointTest, AcceptsBracketedIpv6) {
  auto endpoint = parseEndpoint("http://[::1]:7420");
  ASSERT_TRUE(endpoint) << endpoint.error().message;
  EXPECT_EQ(endpoint->host, "::1");
  EXPECT_EQ(endpoint->host_header, "[::1]:7420");
}

TEST(ParseEndpointTest, AcceptsAnUpperCaseScheme) {
  EXPECT_TRUE(parseEndpoint("HTTP://localhost:1"));
}

TEST(ParseEndpointTest, RefusesHttpsForNow) {
  auto endpoint = parseEndpoint("https://127.0.0.1:7420");
  ASSERT_FALSE(endpoint);
  EXPECT_EQ(endpoint.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(endpoint.error().message.find("https is not supported"), std::string::npos);
}

TEST(ParseEndpointTest, RefusesMalformedUrls) {
  for (const char* url :
       {"127.0.0.1:7420", "ftp://host", "http://", "http://:80", "http://host:", "http://host:0",
        "http://host:65536", "http://host:12ab", "http://user@host", "http://host/?q=1",
        "http://host/#frag", "http://[::1", "http://[::1]x", "http://ho st", "http://host/a b"}) {
    auto endpoint = parseEndpoint(url);
    EXPECT_FALSE(endpoint) << url;
    if (!endpoint) {
      EXPECT_EQ(endpoint.error().code, ErrorCode::kInvalidArgument) << url;
    }
  }
}

TEST(PercentEncodeTest, LeavesUnreservedBytesAlone) {
  EXPECT_EQ(percentEncode("AZaz09-._~"), "AZaz09-._~");
}

TEST(PercentEncodeTest, EncodesSlashesSpacesPercentAndUtf8) {
  EXPECT_EQ(percentEncode("a/b c%d"), "a%2Fb%20c%25d");
  EXPECT_EQ(percentEncode("\xC3\xA9"), "%C3%A9"); // é
  EXPECT_EQ(percentEncode("?#&=+"), "%3F%23%26%3D%2B");
}

TEST(EncodePathSegmentTest, EncodesDotOnlySegmentsSoTheyAreNeverResolved) {
  EXPECT_EQ(encodePathSegment("."), "%2E");
  EXPECT_EQ(encodePathSegment(".."), "%2E%2E");
  EXPECT_EQ(encodePathSegment("../etc/passwd"), "..%2Fetc%2Fpasswd");
  EXPECT_EQ(encodePathSegment("a..b"), "a..b");
  EXPECT_EQ(encodePathSegment("//"), "%2F%2F");
}

TEST(EncodePathSegmentTest, RoundTripsThroughPercentDecode) {
  const std::string key = "dir/../ spaced/\xE2\x9C\x93/%41//x";
  std::string decoded;
  ASSERT_TRUE(percentDecode(encodePathSegment(key), decoded));
  EXPECT_EQ(decoded, key);
}

TEST(PercentDecodeTest, RefusesMalformedEscapes) {
  std::string out;
  EXPECT_FALSE(percentDecode("%", out));
  EXPECT_FALSE(percentDecode("%4", out));
  EXPECT_FALSE(percentDecode("%zz", out));
  EXPECT_TRUE(percentDecode("%4a", out));
  EXPECT_EQ(out, "J");
}

TEST(QueryBuilderTest, EncodesNamesAndValuesInOrder) {
  QueryBuilder query;
  query.add("prefix", "a b/c").addIfNotEmpty("cursor", "").add("limit", "10");
  EXPECT_EQ(query.str(), "?prefix=a%20b%2Fc&limit=10");
}

TEST(QueryBuilderTest, IsEmptyWithoutParameters) {
  EXPECT_EQ(QueryBuilder().str(), "");
}

} // namespace
} // namespace exoflow::client::detail
