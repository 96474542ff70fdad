// The object calls of the client against the real exo-proxy (local.sqlite backends).

#include <algorithm>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "client/proxy_process.h"

namespace exoflow::client {
namespace {

using testing::ProxyTest;

class ObjectsTest : public ProxyTest {};

// Deterministic bytes, generated and checked piece by piece so 50 MiB never sit in memory.
class Pattern {
public:
  char next() {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 7;
    state_ ^= state_ << 17;
    return static_cast<char>(state_ & 0xff);
  }

private:
  std::uint64_t state_ = 0x9E3779B97F4A7C15ull;
};

// A sink that compares what arrives with the pattern and counts it.
struct PatternChecker {
  Pattern pattern;
  std::uint64_t size = 0;
  bool matches = true;

  BodySink sink() {
    return [this](std::string_view chunk) -> Result<void> {
      for (char c : chunk)
        matches = matches && c == pattern.next();
      size += chunk.size();
      return {};
    };
  }
};

TEST_F(ObjectsTest, PutGetHeadAndDeleteRoundTrip) {
  Client exo = client();
  PutObjectOptions options;
  options.content_type = "text/plain";
  options.metadata = {{"owner", "ada"}, {"Stage", "draft"}};
  auto put = exo.putObject("assets", "notes/today.txt", "hello, objects", options);
  ASSERT_TRUE(put) << describe(put.error());
  EXPECT_EQ(put->size, 14u);
  EXPECT_FALSE(put->etag.empty());

  auto got = exo.getObject("assets", "notes/today.txt");
  ASSERT_TRUE(got) << describe(got.error());
  EXPECT_EQ(got->body, "hello, objects");
  EXPECT_EQ(got->info.etag, put->etag);
  EXPECT_EQ(got->info.content_type, "text/plain");
  EXPECT_EQ(got->info.content_length, 14u);
  EXPECT_FALSE(got->info.last_modified.empty());
  EXPECT_EQ(got->info.metadata,
            (std::map<std::string, std::string>{{"owner", "ada"}, {"stage", "draft"}}));
  EXPECT_EQ(got->info.backend, "local.sqlite");

  auto head = exo.headObject("assets", "notes/today.txt");
  ASSERT_TRUE(head) << describe(head.error());
  EXPECT_EQ(head->etag, put->etag);
  EXPECT_EQ(head->content_length, 14u);
  EXPECT_EQ(head->metadata.at("owner"), "ada");

  ASSERT_TRUE(exo.deleteObject("assets", "notes/today.txt"));
  auto gone = exo.getObject("assets", "notes/today.txt");
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(gone.error().backend, "local.sqlite");
  auto gone_head = exo.headObject("assets", "notes/today.txt");
  ASSERT_FALSE(gone_head);
  EXPECT_EQ(gone_head.error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(exo.deleteObject("assets", "notes/today.txt")) << "delete of a missing key";
}

TEST_F(ObjectsTest, KeysAreStoredLiterallyWhateverTheyContain) {
  Client exo = client();
  const std::vector<std::string> keys = {"a/b/c.txt",
                                         "../escape",
                                         "..",
                                         ".",
                                         "a//b",
                                         "/leading",
                                         "trailing/",
                                         "with space",
                                         "plus+sign",
                                         "q?x#y&z=1",
                                         "pct%20lit",
                                         "\xC3\xBCnic\xC3\xB8"
                                         "de/\xE2\x9C\x93",
                                         "a/./b/../c"};
  for (const std::string& key : keys) {
    auto put = exo.putObject("assets", key, "body of " + key);
    ASSERT_TRUE(put) << key << ": " << describe(put.error());
  }
  for (const std::string& key : keys) {
    auto got = exo.getObject("assets", key);
    ASSERT_TRUE(got) << key << ": " << describe(got.error());
    EXPECT_EQ(got->body, "body of " + key);
  }
  auto listing = exo.listObjects("assets");
  ASSERT_TRUE(listing) << describe(listing.error());
  std::vector<std::string> listed;
  for (const ObjectSummary& object : listing->objects)
    listed.push_back(object.key);
  std::vector<std::string> expected = keys;
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(listed, expected);
}

TEST_F(ObjectsTest, RangesReturnPartialContent) {
  Client exo = client();
  ASSERT_TRUE(exo.putObject("assets", "digits", "0123456789"));
  GetObjectOptions options;
  options.range = ByteRange::between(2, 5);
  auto middle = exo.getObject("assets", "digits", options);
  ASSERT_TRUE(middle) << describe(middle.error());
  EXPECT_EQ(middle->body, "2345");
  ASSERT_TRUE(middle->info.range);
  EXPECT_EQ(middle->info.range->first, 2u);
  EXPECT_EQ(middle->info.range->last, 5u);
  EXPECT_EQ(middle->info.range->total, 10u);

  options.range = ByteRange::from(7);
  auto tail = exo.getObject("assets", "digits", options);
  ASSERT_TRUE(tail);
  EXPECT_EQ(tail->body, "789");
  options.range = ByteRange::lastBytes(3);
  auto suffix = exo.getObject("assets", "digits", options);
  ASSERT_TRUE(suffix);
  EXPECT_EQ(suffix->body, "789");

  options.range = ByteRange::from(10);
  auto beyond = exo.getObject("assets", "digits", options);
  ASSERT_FALSE(beyond);
  EXPECT_EQ(beyond.error().code, ErrorCode::kRangeNotSatisfiable);
  EXPECT_EQ(beyond.error().http_status, 416);
}

TEST_F(ObjectsTest, IfNoneMatchAnswersNotModifiedForTheCurrentEtag) {
  Client exo = client();
  auto put = exo.putObject("assets", "cached", "v1");
  ASSERT_TRUE(put);
  GetObjectOptions options;
  options.if_none_match = put->etag;
  auto cached = exo.getObject("assets", "cached", options);
  ASSERT_TRUE(cached) << describe(cached.error());
  EXPECT_TRUE(cached->info.not_modified);
  EXPECT_TRUE(cached->body.empty());
  options.if_none_match = "\"something-else\"";
  auto fresh = exo.getObject("assets", "cached", options);
  ASSERT_TRUE(fresh);
  EXPECT_FALSE(fresh->info.not_modified);
  EXPECT_EQ(fresh->body, "v1");
}

TEST_F(ObjectsTest, PutIfNoneMatchFailsWhenTheKeyExists) {
  Client exo = client();
  PutObjectOptions options;
  options.if_none_match_any = true;
  ASSERT_TRUE(exo.putObject("assets", "once", "first", options));
  auto second = exo.putObject("assets", "once", "second", options);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, ErrorCode::kPreconditionFailed);
  EXPECT_EQ(second.error().http_status, 412);
  EXPECT_EQ(exo.getObject("assets", "once")->body, "first");
}

TEST_F(ObjectsTest, ListingHonoursPrefixDelimiterLimitAndCursor) {
  Client exo = client();
  for (const char* key : {"logs/2024/a", "logs/2024/b", "logs/2025/a", "logs/top", "other"}) {
    ASSERT_TRUE(exo.putObject("assets", key, "x"));
  }
  ListObjectsOptions options;
  options.prefix = "logs/";
  options.delimiter = "/";
  auto grouped = exo.listObjects("assets", options);
  ASSERT_TRUE(grouped) << describe(grouped.error());
  EXPECT_EQ(grouped->prefixes, (std::vector<std::string>{"logs/2024/", "logs/2025/"}));
  ASSERT_EQ(grouped->objects.size(), 1u);
  EXPECT_EQ(grouped->objects[0].key, "logs/top");
  EXPECT_EQ(grouped->objects[0].size, 1u);
  EXPECT_FALSE(grouped->objects[0].last_modified.empty());
  EXPECT_FALSE(grouped->next_cursor);

  ListObjectsOptions paged;
  paged.limit = 2;
  std::vector<std::string> keys;
  for (int page = 0; page < 10; ++page) {
    auto listing = exo.listObjects("assets", paged);
    ASSERT_TRUE(listing) << describe(listing.error());
    EXPECT_LE(listing->objects.size(), 2u);
    for (const ObjectSummary& object : listing->objects)
      keys.push_back(object.key);
    if (!listing->next_cursor) break;
    paged.cursor = *listing->next_cursor;
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"logs/2024/a", "logs/2024/b", "logs/2025/a", "logs/top",
                                            "other"}));

  ListObjectsOptions bad;
  bad.limit = 1001;
  auto refused = exo.listObjects("assets", bad);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(ObjectsTest, FiftyMebibytesStreamBothWays) {
  constexpr std::uint64_t kSize = 50ull * 1024 * 1024;
  Client exo = client();
  Pattern pattern;
  std::uint64_t produced = 0;
  const BodySource source = [&](char* buffer, std::size_t capacity) -> Result<std::size_t> {
    const std::size_t n =
        static_cast<std::size_t>(std::min<std::uint64_t>(capacity, kSize - produced));
    for (std::size_t i = 0; i < n; ++i)
      buffer[i] = pattern.next();
    produced += n;
    return n;
  };
  // Unknown size: sent chunked.
  auto put = exo.putObjectFromSource("assets", "big/blob.bin", source);
  ASSERT_TRUE(put) << describe(put.error());
  EXPECT_EQ(put->size, kSize);

  PatternChecker checker;
  auto got = exo.getObjectToSink("assets", "big/blob.bin", checker.sink());
  ASSERT_TRUE(got) << describe(got.error());
  EXPECT_EQ(got->content_length, kSize);
  EXPECT_EQ(checker.size, kSize);
  EXPECT_TRUE(checker.matches);
  EXPECT_EQ(got->etag, put->etag);
}

TEST_F(ObjectsTest, FilesAndStreamsRoundTrip) {
  Client exo = client();
  const auto path = proxy_->dir() / "upload.bin";
  std::string content;
  {
    Pattern pattern;
    for (int i = 0; i < 3 * 1024 * 1024 + 17; ++i)
      content += pattern.next();
    std::ofstream(path, std::ios::binary) << content;
  }
  auto put = exo.putObjectFromFile("assets", "from-file", path);
  ASSERT_TRUE(put) << describe(put.error());
  EXPECT_EQ(put->size, content.size());
  std::ostringstream out;
  auto got = exo.getObjectToStream("assets", "from-file", out);
  ASSERT_TRUE(got) << describe(got.error());
  EXPECT_TRUE(out.str() == content);

  std::istringstream in("streamed with a known size");
  auto sized = exo.putObjectFromStream("assets", "from-stream", in, 26);
  ASSERT_TRUE(sized) << describe(sized.error());
  EXPECT_EQ(exo.getObject("assets", "from-stream")->body, "streamed with a known size");

  auto missing = exo.putObjectFromFile("assets", "x", proxy_->dir() / "no-such-file");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kAborted);
}

TEST_F(ObjectsTest, ASourceThatFailsAbortsThePut) {
  Client exo = client();
  int calls = 0;
  const BodySource source = [&calls](char* buffer, std::size_t) -> Result<std::size_t> {
    if (++calls > 2) return fail(ErrorCode::kAborted, "sensor unplugged");
    buffer[0] = 'x';
    return 1;
  };
  auto put = exo.putObjectFromSource("assets", "partial", source);
  ASSERT_FALSE(put);
  EXPECT_EQ(put.error().code, ErrorCode::kAborted);
  EXPECT_EQ(put.error().message, "sensor unplugged");
  EXPECT_TRUE(exo.health()) << "the client recovers";
  auto got = exo.getObject("assets", "partial");
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, ErrorCode::kNotFound);
}

TEST_F(ObjectsTest, HeadersOver16KiBAreHeadersTooLarge) {
  Client exo = client();
  PutObjectOptions options;
  options.metadata = {{"big", std::string(20 * 1024, 'h')}};
  auto put = exo.putObject("assets", "k", "x", options);
  ASSERT_FALSE(put);
  EXPECT_EQ(put.error().code, ErrorCode::kHeadersTooLarge) << describe(put.error());
  EXPECT_EQ(put.error().http_status, 431);
  EXPECT_TRUE(exo.health()) << "the client recovers";
}

// A proxy that takes bodies of at most 1 MiB.
class SmallBodyProxyTest : public ProxyTest {
protected:
  std::string extraConfig() const override { return "limits: {max_body: 1MiB}"; }
};

TEST_F(SmallBodyProxyTest, AnObjectOverMaxBodyIsPayloadTooLarge) {
  Client exo = client();
  auto put = exo.putObject("assets", "big", std::string(4 * 1024 * 1024, 'b'));
  ASSERT_FALSE(put);
  EXPECT_EQ(put.error().code, ErrorCode::kPayloadTooLarge) << describe(put.error());
  EXPECT_EQ(put.error().http_status, 413);
  EXPECT_FALSE(put.error().request_id.empty());
  std::istringstream in(std::string(2 * 1024 * 1024, 's'));
  auto streamed = exo.putObjectFromStream("assets", "big", in);
  ASSERT_FALSE(streamed);
  EXPECT_EQ(streamed.error().code, ErrorCode::kPayloadTooLarge) << describe(streamed.error());
  EXPECT_TRUE(exo.putObject("assets", "small", "fits"));
}

} // namespace
} // namespace exoflow::client
