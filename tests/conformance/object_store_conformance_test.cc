// The objects conformance suite (API.md, "Objects"): every ObjectStore backend passes it, for
// every feature it claims. Tests of an unclaimed feature skip, saying so.

#include <algorithm>
#include <cstdlib>
#include <map>
#include <set>

#include "conformance/object_store_suite.h"

namespace exoflow::backend::conformance {
namespace {

/// The tests that exercise each feature; a claimed feature without one fails the suite.
const std::map<ObjectFeature, std::vector<std::string>>& featureTests() {
  static const std::map<ObjectFeature, std::vector<std::string>> tests = {
      {ObjectFeature::kRanges, {"RangesServeTheBytesAsked", "UnsatisfiableRangesAreRefused"}},
      {ObjectFeature::kMetadata, {"MetadataAndContentTypeRoundTripAndAreReplaced"}},
      {ObjectFeature::kIfNoneMatchPut,
       {"IfNoneMatchStarRefusesAnExistingKey", "IfNoneMatchStarIsAtomicAtFinish"}},
      {ObjectFeature::kDelimiterList,
       {"ListGroupsKeysByDelimiter", "ListPagesCountObjectsAndPrefixesTogether"}},
      {ObjectFeature::kLargeObjects, {"AnObjectLargerThanFiveGiBStreams"}},
  };
  return tests;
}

TEST_P(ObjectStoreConformanceTest, DescribesItsBackendAndClaimsExactlyItsTableRow) {
  auto store = open();
  ASSERT_TRUE(store);
  EXPECT_EQ(store->describe().rfind(row().describe, 0), 0U) << store->describe();
  EXPECT_TRUE(store->features() == row().object_features)
      << "features() differs from the row in backends.cc";
}

TEST_P(ObjectStoreConformanceTest, EveryClaimedFeatureHasATestInThisSuite) {
  auto store = open();
  ASSERT_TRUE(store);
  expectEveryClaimedFeatureIsTested(store->features(), featureTests(), row().name, "ObjectFeature");
}

TEST_P(ObjectStoreConformanceTest, BodiesOfZeroToManyBytesRoundTripWithTheirMd5Etag) {
  auto store = open();
  ASSERT_TRUE(store);
  for (std::size_t size : {0UL, 1UL, 2UL, 3UL, 4095UL, 4096UL, 4097UL, 65536UL, 200001UL}) {
    const std::string key = "sizes/" + std::to_string(size);
    const std::string body = pattern(size, size);
    PutRequest request;
    request.key = key;
    request.size = size;
    Result<ObjectInfo> put_info = put(*store, request, body, 4096);
    ASSERT_TRUE(put_info) << size << ": " << describeError(put_info.error());
    EXPECT_EQ(put_info->size, size);
    EXPECT_EQ(put_info->etag, quotedMd5(body)) << size;

    Result<Download> got = get(*store, key, std::nullopt, 1000);
    ASSERT_TRUE(got) << size << ": " << describeError(got.error());
    EXPECT_EQ(got->body, body) << size;
    EXPECT_EQ(got->offset, 0U);
    EXPECT_EQ(got->length, size);
    EXPECT_EQ(got->info.size, size);
    EXPECT_EQ(got->info.etag, put_info->etag);
    EXPECT_EQ(got->info.content_type, "application/octet-stream");
  }
}

TEST_P(ObjectStoreConformanceTest, A64MiBObjectStreamsInChunksWithItsMd5Etag) {
  auto store = open();
  ASSERT_TRUE(store);
  Result<std::unique_ptr<ObjectUpload>> upload = start(*store, putRequest("big.bin"));
  ASSERT_TRUE(upload) << describeError(upload.error());
  Md5 sent;
  for (std::uint64_t i = 0; i < 64; ++i) {
    std::string chunk = pattern(kMiB, i);
    sent.add(chunk);
    ASSERT_TRUE(write(**upload, std::move(chunk)));
  }
  Result<ObjectInfo> info = finish(**upload);
  ASSERT_TRUE(info) << describeError(info.error());
  const std::string md5 = sent.quotedHex(); // finishes the digest: once
  EXPECT_EQ(info->size, 64 * kMiB);
  if (64 * kMiB <= row().md5_etag_limit) {
    EXPECT_EQ(info->etag, md5);
  } else { // an opaque quoted ETag of the backend's own
    EXPECT_TRUE(info->etag.size() > 2 && info->etag.front() == '"' && info->etag.back() == '"')
        << info->etag;
  }

  Result<std::unique_ptr<ObjectDownload>> download = await<std::unique_ptr<ObjectDownload>>(
      [&](auto done) { store->get("big.bin", std::nullopt, std::move(done)); });
  ASSERT_TRUE(download) << describeError(download.error());
  EXPECT_EQ((*download)->length(), 64 * kMiB);
  EXPECT_EQ((*download)->info().etag, info->etag);
  Md5 received;
  std::uint64_t total = 0;
  while (true) {
    Result<std::string> part =
        await<std::string>([&](auto done) { (*download)->read(kMiB, std::move(done)); });
    ASSERT_TRUE(part) << describeError(part.error());
    if (part->empty()) break;
    ASSERT_LE(part->size(), kMiB);
    received.add(*part);
    total += part->size();
  }
  EXPECT_EQ(total, 64 * kMiB);
  EXPECT_EQ(received.quotedHex(), md5) << "the bytes read differ from those written";
}

TEST_P(ObjectStoreConformanceTest, AnObjectLargerThanFiveGiBStreams) {
  if (auto why = unclaimed(ObjectFeature::kLargeObjects, "kLargeObjects"); !why.empty()) {
    GTEST_SKIP() << why;
  }
  constexpr std::uint64_t kSize = 5ULL * 1024 * kMiB + 1;
  std::error_code ec;
  const std::filesystem::space_info space = std::filesystem::space(scratch_.path(), ec);
  if (!ec && space.available < kSize + 512 * kMiB) {
    GTEST_SKIP() << "needs 5.5 GiB free in " << scratch_.path() << " (set TMPDIR elsewhere)";
  }
  if (const char* skip = std::getenv("EXOFLOW_SKIP_5GIB_TEST"); skip != nullptr && *skip != '\0') {
    GTEST_SKIP() << "EXOFLOW_SKIP_5GIB_TEST is set (this test writes 5 GiB, about a minute)";
  }
  auto store = open();
  ASSERT_TRUE(store);
  PutRequest request = putRequest("huge.bin");
  request.size = kSize;
  Result<std::unique_ptr<ObjectUpload>> upload = start(*store, request);
  ASSERT_TRUE(upload) << describeError(upload.error());
  const std::string block = pattern(8 * kMiB, 7);
  Md5 sent;
  for (std::uint64_t at = 0; at < kSize; at += block.size()) {
    const std::string_view part =
        std::string_view(block).substr(0, std::min<std::uint64_t>(block.size(), kSize - at));
    sent.add(part);
    ASSERT_TRUE(write(**upload, std::string(part)));
  }
  Result<ObjectInfo> info = finish(**upload);
  ASSERT_TRUE(info) << describeError(info.error());
  EXPECT_EQ(info->size, kSize);
  if (kSize <= row().md5_etag_limit) {
    EXPECT_EQ(info->etag, sent.quotedHex());
  }

  // Offsets past 4 GiB: the two bytes around the 2^32 boundary and the last byte.
  const std::uint64_t boundary = 1ULL << 32;
  auto bytes_at = [&](std::uint64_t offset, std::size_t n) {
    std::string bytes;
    for (std::size_t i = 0; i < n; ++i)
      bytes += block[(offset + i) % block.size()];
    return bytes;
  };
  if (row().object_features.has(ObjectFeature::kRanges)) {
    Result<Download> across = get(*store, "huge.bin", range(boundary - 1, boundary));
    ASSERT_TRUE(across) << describeError(across.error());
    EXPECT_EQ(across->offset, boundary - 1);
    EXPECT_EQ(across->body, bytes_at(boundary - 1, 2));
    Result<Download> last = get(*store, "huge.bin", suffix(1));
    ASSERT_TRUE(last) << describeError(last.error());
    EXPECT_EQ(last->offset, kSize - 1);
    EXPECT_EQ(last->body, bytes_at(kSize - 1, 1));
  }
  EXPECT_TRUE(remove(*store, "huge.bin"));
}

TEST_P(ObjectStoreConformanceTest, HeadAndGetOfAMissingKeyAreNotFound) {
  auto store = open();
  ASSERT_TRUE(store);
  Result<ObjectInfo> info = head(*store, "missing");
  ASSERT_FALSE(info);
  EXPECT_EQ(info.error().code, ErrorCode::kNotFound);
  Result<Download> got = get(*store, "missing");
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, ErrorCode::kNotFound);
}

TEST_P(ObjectStoreConformanceTest, HeadDescribesTheObject) {
  auto store = open();
  ASSERT_TRUE(store);
  const auto before = std::chrono::system_clock::now() - std::chrono::seconds(5);
  Result<ObjectInfo> put_info = put(*store, "a.txt", "hello");
  ASSERT_TRUE(put_info) << describeError(put_info.error());
  Result<ObjectInfo> info = head(*store, "a.txt");
  ASSERT_TRUE(info) << describeError(info.error());
  EXPECT_EQ(info->key, "a.txt");
  EXPECT_EQ(info->size, 5U);
  EXPECT_EQ(info->etag, quotedMd5("hello"));
  EXPECT_GT(info->last_modified, before);
  EXPECT_LT(info->last_modified, std::chrono::system_clock::now() + std::chrono::seconds(5));
}

TEST_P(ObjectStoreConformanceTest, MetadataAndContentTypeRoundTripAndAreReplaced) {
  if (auto why = unclaimed(ObjectFeature::kMetadata, "kMetadata"); !why.empty()) {
    GTEST_SKIP() << why;
  }
  auto store = open();
  ASSERT_TRUE(store);
  PutRequest request =
      putRequest("photo.jpg", "image/jpeg", {{"owner", "ada"}, {"camera-model", "X 100"}});
  ASSERT_TRUE(put(*store, request, "jpeg bytes"));
  Result<ObjectInfo> info = head(*store, "photo.jpg");
  ASSERT_TRUE(info);
  EXPECT_EQ(info->content_type, "image/jpeg");
  EXPECT_EQ(info->metadata, request.metadata);
  Result<Download> got = get(*store, "photo.jpg");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->info.content_type, "image/jpeg");
  EXPECT_EQ(got->info.metadata, request.metadata);

  // A new put replaces earlier metadata, also with none.
  ASSERT_TRUE(put(*store, "photo.jpg", "other"));
  info = head(*store, "photo.jpg");
  ASSERT_TRUE(info);
  EXPECT_TRUE(info->metadata.empty());
  EXPECT_EQ(info->content_type, "application/octet-stream");
}

TEST_P(ObjectStoreConformanceTest, RangesServeTheBytesAsked) {
  if (auto why = unclaimed(ObjectFeature::kRanges, "kRanges"); !why.empty()) GTEST_SKIP() << why;
  auto store = open();
  ASSERT_TRUE(store);
  std::string body;
  for (int i = 0; i < 100; ++i)
    body += static_cast<char>('A' + i % 26);
  ASSERT_TRUE(put(*store, "abc", body));
  struct Case {
    ByteRange range;
    std::uint64_t offset;
    std::uint64_t length;
  };
  const std::vector<Case> cases = {
      {range(10, 19), 10, 10}, // a-b
      {range(0, 0), 0, 1},     // the first byte
      {range(99, 99), 99, 1},  // the last byte
      {range(95, 500), 95, 5}, // a-b past the end: up to the end
      {range(90, {}), 90, 10}, // a-
      {suffix(5), 95, 5},      // -n
      {suffix(100), 0, 100},   // -n of the whole object
      {suffix(1000), 0, 100},  // -n larger than the object
  };
  for (const Case& c : cases) {
    Result<Download> got = get(*store, "abc", c.range, 3);
    ASSERT_TRUE(got) << c.offset << "+" << c.length << ": " << describeError(got.error());
    EXPECT_EQ(got->offset, c.offset);
    EXPECT_EQ(got->length, c.length);
    EXPECT_EQ(got->body, body.substr(c.offset, c.length));
    EXPECT_EQ(got->info.size, 100U) << "info() describes the whole object";
  }
}

TEST_P(ObjectStoreConformanceTest, UnsatisfiableRangesAreRefused) {
  if (auto why = unclaimed(ObjectFeature::kRanges, "kRanges"); !why.empty()) GTEST_SKIP() << why;
  auto store = open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(put(*store, "ten", "0123456789"));
  ASSERT_TRUE(put(*store, "empty", ""));
  const std::vector<std::pair<std::string, ByteRange>> cases = {
      {"ten", range(10, {})},  {"ten", range(10, 20)}, {"ten", range(1000, 1001)},
      {"ten", suffix(0)},      {"empty", range(0, 0)}, {"empty", suffix(1)},
      {"empty", range(0, {})},
  };
  for (const auto& [key, r] : cases) {
    Result<Download> got = get(*store, key, r);
    ASSERT_FALSE(got) << key << " " << r.first.value_or(0) << "-" << r.last.value_or(0)
                      << " suffix " << r.suffix;
    EXPECT_EQ(got.error().code, ErrorCode::kRangeNotSatisfiable) << describeError(got.error());
  }
}

TEST_P(ObjectStoreConformanceTest, IfNoneMatchStarRefusesAnExistingKey) {
  if (auto why = unclaimed(ObjectFeature::kIfNoneMatchPut, "kIfNoneMatchPut"); !why.empty()) {
    GTEST_SKIP() << why;
  }
  auto store = open();
  ASSERT_TRUE(store);
  PutRequest create = putRequest("once");
  create.if_none_match_star = true;
  ASSERT_TRUE(put(*store, create, "first"));
  Result<ObjectInfo> again = put(*store, create, "second");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kPreconditionFailed);
  Result<Download> got = get(*store, "once");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->body, "first");
}

TEST_P(ObjectStoreConformanceTest, IfNoneMatchStarIsAtomicAtFinish) {
  if (auto why = unclaimed(ObjectFeature::kIfNoneMatchPut, "kIfNoneMatchPut"); !why.empty()) {
    GTEST_SKIP() << why;
  }
  auto store = open();
  ASSERT_TRUE(store);
  PutRequest create = putRequest("race");
  create.if_none_match_star = true;
  // Both start while the key is absent; only the first to finish may win.
  Result<std::unique_ptr<ObjectUpload>> a = start(*store, create);
  Result<std::unique_ptr<ObjectUpload>> b = start(*store, create);
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(write(**a, "from a"));
  ASSERT_TRUE(write(**b, "from b"));
  ASSERT_TRUE(finish(**a));
  Result<ObjectInfo> second = finish(**b);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, ErrorCode::kPreconditionFailed);
  Result<Download> got = get(*store, "race");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->body, "from a");
}

TEST_P(ObjectStoreConformanceTest, ReadersSeeTheOldObjectUntilAnOverwriteFinishes) {
  auto store = open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(put(*store, "doc", "version 1"));
  Result<std::unique_ptr<ObjectUpload>> upload = start(*store, putRequest("doc"));
  ASSERT_TRUE(upload);
  ASSERT_TRUE(write(**upload, "version 2"));
  Result<Download> during = get(*store, "doc");
  ASSERT_TRUE(during);
  EXPECT_EQ(during->body, "version 1");
  Result<ObjectInfo> info = finish(**upload);
  ASSERT_TRUE(info);
  Result<Download> after = get(*store, "doc");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->body, "version 2");
  EXPECT_EQ(after->info.etag, quotedMd5("version 2"));
  if (row().body_files) {
    EXPECT_EQ(row().body_files(scratch_.path()), 1U) << "the old body was left behind";
  }
}

TEST_P(ObjectStoreConformanceTest, AnAbortedOrAbandonedUploadLeavesNothingBehind) {
  auto store = open();
  ASSERT_TRUE(store);
  {
    Result<std::unique_ptr<ObjectUpload>> upload = start(*store, putRequest("aborted"));
    ASSERT_TRUE(upload);
    ASSERT_TRUE(write(**upload, pattern(100000, 1)));
    (*upload)->abort();
    Result<void> late = write(**upload, "more");
    EXPECT_FALSE(late) << "write() after abort() succeeded";
  }
  {
    Result<std::unique_ptr<ObjectUpload>> upload = start(*store, putRequest("abandoned"));
    ASSERT_TRUE(upload);
    ASSERT_TRUE(write(**upload, pattern(100000, 2)));
  } // destroyed unfinished
  for (const char* key : {"aborted", "abandoned"}) {
    Result<ObjectInfo> info = head(*store, key);
    ASSERT_FALSE(info) << key;
    EXPECT_EQ(info.error().code, ErrorCode::kNotFound);
  }
  Result<ListResult> listed = list(*store, ListRequest{});
  ASSERT_TRUE(listed);
  EXPECT_TRUE(listed->objects.empty());
  if (row().body_files) {
    EXPECT_EQ(row().body_files(scratch_.path()), 0U) << "a body file was left behind";
  }
}

TEST_P(ObjectStoreConformanceTest, DeleteRemovesAndSucceedsForMissingKeys) {
  auto store = open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(put(*store, "gone", "soon"));
  EXPECT_TRUE(remove(*store, "gone"));
  EXPECT_FALSE(head(*store, "gone"));
  EXPECT_TRUE(remove(*store, "gone")) << "deleting a missing key succeeds";
  EXPECT_TRUE(remove(*store, "never-existed"));
  if (row().body_files) {
    EXPECT_EQ(row().body_files(scratch_.path()), 0U) << "a body file was left behind";
  }
}

TEST_P(ObjectStoreConformanceTest, KeysAreOpaqueNamesNeverPaths) {
  auto store = open();
  ASSERT_TRUE(store);
  const std::vector<std::string> keys = {
      "..",   ".",     "/",    "//",        "../../../etc/passwd",     "a/../b",
      "a//b", "a/./b", "/abs", "%2e%2e%2f", "\xC3\xBC/\xC3\xB1 space", "trailing/"};
  // The scratch directory's parent is shared (the system's temporary directory): what was
  // there before the test proves nothing either way.
  std::error_code ec;
  const std::filesystem::path outside = scratch_.path().parent_path() / "b";
  const bool outside_existed = std::filesystem::exists(outside, ec);
  for (std::size_t i = 0; i < keys.size(); ++i) {
    Result<ObjectInfo> info = put(*store, keys[i], "body " + std::to_string(i));
    ASSERT_TRUE(info) << keys[i] << ": " << describeError(info.error());
  }
  for (std::size_t i = 0; i < keys.size(); ++i) {
    Result<Download> got = get(*store, keys[i]);
    ASSERT_TRUE(got) << keys[i];
    EXPECT_EQ(got->body, "body " + std::to_string(i)) << keys[i];
    EXPECT_EQ(got->info.key, keys[i]);
  }
  std::vector<std::string> sorted = keys;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(listAll(*store, ListRequest{}), sorted);
  // Nothing was written next to the scratch directory through a key.
  if (!outside_existed) {
    EXPECT_FALSE(std::filesystem::exists(outside, ec));
  }
  EXPECT_FALSE(std::filesystem::exists(scratch_.path() / "abs", ec));
}

TEST_P(ObjectStoreConformanceTest, ListReturnsKeysInByteOrderAcrossPages) {
  auto store = open();
  ASSERT_TRUE(store);
  std::vector<std::string> keys = {"b", "a", "B", "a0", "a/b", "ab", "\xC3\xA4", "z", "Z9", "_"};
  for (int i = 0; i < 15; ++i)
    keys.push_back("n" + std::to_string(i));
  for (const std::string& key : keys)
    ASSERT_TRUE(put(*store, key, key));
  std::vector<std::string> sorted = keys;
  std::sort(sorted.begin(), sorted.end()); // std::string compares bytes as unsigned char
  int pages = 0;
  EXPECT_EQ(listAll(*store, ListRequest{"", "", 7, ""}, &pages), sorted);
  EXPECT_EQ(pages, 4);
  Result<ListResult> one = list(*store, ListRequest{"", "", 1000, ""});
  ASSERT_TRUE(one);
  EXPECT_FALSE(one->next_cursor) << "the last page has no cursor";
  for (const ObjectInfo& o : one->objects) {
    EXPECT_EQ(o.size, o.key.size());
    EXPECT_EQ(o.etag, quotedMd5(o.key));
  }
}

TEST_P(ObjectStoreConformanceTest, ListFiltersByPrefix) {
  auto store = open();
  ASSERT_TRUE(store);
  for (const char* key : {"img/1.png", "img/2.png", "img", "imgs/x", "doc/1", "im"}) {
    ASSERT_TRUE(put(*store, key, "x"));
  }
  EXPECT_EQ(listAll(*store, ListRequest{"img/", "", 1, ""}),
            (std::vector<std::string>{"img/1.png", "img/2.png"}));
  EXPECT_EQ(listAll(*store, ListRequest{"img", "", 1000, ""}),
            (std::vector<std::string>{"img", "img/1.png", "img/2.png", "imgs/x"}));
  EXPECT_TRUE(listAll(*store, ListRequest{"nothing", "", 1000, ""}).empty());
}

TEST_P(ObjectStoreConformanceTest, ListGroupsKeysByDelimiter) {
  if (auto why = unclaimed(ObjectFeature::kDelimiterList, "kDelimiterList"); !why.empty()) {
    GTEST_SKIP() << why;
  }
  auto store = open();
  ASSERT_TRUE(store);
  for (const char* key : {"a/1", "a/2", "b/1", "c", "d/e/f", "d/x", "d/e/g", "e"}) {
    ASSERT_TRUE(put(*store, key, "x"));
  }
  Result<ListResult> top = list(*store, ListRequest{"", "/", 1000, ""});
  ASSERT_TRUE(top) << describeError(top.error());
  std::vector<std::string> objects;
  for (const ObjectInfo& o : top->objects)
    objects.push_back(o.key);
  EXPECT_EQ(objects, (std::vector<std::string>{"c", "e"}));
  EXPECT_EQ(top->prefixes, (std::vector<std::string>{"a/", "b/", "d/"}));
  EXPECT_FALSE(top->next_cursor);

  Result<ListResult> inner = list(*store, ListRequest{"d/", "/", 1000, ""});
  ASSERT_TRUE(inner);
  ASSERT_EQ(inner->objects.size(), 1U);
  EXPECT_EQ(inner->objects[0].key, "d/x");
  EXPECT_EQ(inner->prefixes, (std::vector<std::string>{"d/e/"}));
}

TEST_P(ObjectStoreConformanceTest, ListPagesCountObjectsAndPrefixesTogether) {
  if (auto why = unclaimed(ObjectFeature::kDelimiterList, "kDelimiterList"); !why.empty()) {
    GTEST_SKIP() << why;
  }
  auto store = open();
  ASSERT_TRUE(store);
  for (const char* key : {"a/1", "a/2", "a/3", "b", "c/1", "c/2", "d", "e/x/y", "f"}) {
    ASSERT_TRUE(put(*store, key, "x"));
  }
  int pages = 0;
  EXPECT_EQ(listAll(*store, ListRequest{"", "/", 2, ""}, &pages),
            (std::vector<std::string>{"prefix:a/", "b", "prefix:c/", "d", "prefix:e/", "f"}));
  EXPECT_EQ(pages, 3);
  // A multi-byte delimiter works the same way.
  ASSERT_TRUE(put(*store, "x::y::z", "x"));
  Result<ListResult> got = list(*store, ListRequest{"x", "::", 10, ""});
  ASSERT_TRUE(got);
  EXPECT_EQ(got->prefixes, (std::vector<std::string>{"x::"}));
}

TEST_P(ObjectStoreConformanceTest, AForeignCursorIsRefused) {
  auto store = open();
  ASSERT_TRUE(store);
  Result<ListResult> got = list(*store, ListRequest{"", "", 10, "not a cursor!"});
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, ErrorCode::kInvalidArgument);
}

TEST_P(ObjectStoreConformanceTest, BucketsOfOneBindingAreSeparate) {
  auto assets = open("assets");
  auto backups = open("backups");
  ASSERT_TRUE(assets && backups);
  ASSERT_TRUE(put(*assets, "k", "in assets"));
  EXPECT_FALSE(head(*backups, "k"));
  EXPECT_TRUE(listAll(*backups, ListRequest{}).empty());
}

TEST_P(ObjectStoreConformanceTest, AcknowledgedObjectsSurviveReopening) {
  const std::string body = pattern(300000, 3);
  std::string etag;
  {
    auto store = open();
    ASSERT_TRUE(store);
    PutRequest request = putRequest("kept", "text/plain", {{"k", "v"}});
    Result<ObjectInfo> info = put(*store, request, body);
    ASSERT_TRUE(info);
    etag = info->etag;
    ASSERT_TRUE(put(*store, "deleted", "x"));
    ASSERT_TRUE(remove(*store, "deleted"));
  }
  auto store = open();
  ASSERT_TRUE(store);
  Result<Download> got = get(*store, "kept");
  ASSERT_TRUE(got) << describeError(got.error());
  EXPECT_EQ(got->body, body);
  EXPECT_EQ(got->info.etag, etag);
  EXPECT_EQ(got->info.content_type, "text/plain");
  if (row().object_features.has(ObjectFeature::kMetadata)) {
    EXPECT_EQ(got->info.metadata, (Metadata{{"k", "v"}}));
  }
  EXPECT_FALSE(head(*store, "deleted"));
  EXPECT_EQ(listAll(*store, ListRequest{}), (std::vector<std::string>{"kept"}));
}

INSTANTIATE_TEST_SUITE_P(Backends, ObjectStoreConformanceTest, testing::ValuesIn(objectStoreRows()),
                         rowName);

} // namespace
} // namespace exoflow::backend::conformance
