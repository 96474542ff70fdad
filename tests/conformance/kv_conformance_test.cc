// The key-value conformance suite (API.md, "Key-value tables"): every KvStore backend passes
// it, for every feature it claims. Tests of an unclaimed feature skip, saying so.

#include <algorithm>
#include <atomic>
#include <map>
#include <set>
#include <thread>

#include "conformance/conformance.h"

namespace exoflow::backend::conformance {
namespace {

/// The tests that exercise each feature; a claimed feature without one fails the suite.
const std::map<KvFeature, std::vector<std::string>>& featureTests() {
  static const std::map<KvFeature, std::vector<std::string>> tests = {
      {KvFeature::kConditionalWrites,
       {"IfMatchWritesOnlyOverTheCurrentVersion", "IfNoneMatchStarCreatesOnlyOnce",
        "DeleteWithIfMatchChecksTheVersion", "ConditionalWritesAreAtomicUnderContention"}},
      {KvFeature::kPrefixList, {"ListByPrefixInByteOrderWithCursors"}},
      {KvFeature::kLargeValues, {"ValuesOf256KiBRoundTrip"}},
  };
  return tests;
}

/// JSON text without the whitespace between tokens, which a backend may change.
std::string compact(std::string_view json) {
  std::string out;
  bool in_string = false;
  bool escaped = false;
  for (char c : json) {
    if (in_string) {
      out += c;
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
      out += c;
    } else if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
      out += c;
    }
  }
  return out;
}

class KvConformanceTest : public BackendTest {
protected:
  std::string unclaimed(KvFeature feature, const char* name) const {
    if (row().kv_features.has(feature)) return {};
    return row().name + " does not claim KvFeature::" + name + "; skipped by design";
  }

  std::unique_ptr<KvStore> open(const std::string& name = "sessions") {
    Result<std::unique_ptr<KvStore>> store =
        registry_.createKvStore(spec(name), KvStoreConfig{name}, context());
    EXPECT_TRUE(store.has_value()) << describeError(store.error());
    return store ? std::move(*store) : nullptr;
  }

  static Result<std::string> put(KvStore& store, KvPutRequest request) {
    return await<std::string>([&](auto done) { store.put(std::move(request), std::move(done)); });
  }

  static Result<std::string> put(KvStore& store, const std::string& key, const std::string& value) {
    return put(store, KvPutRequest{key, value, std::nullopt, false});
  }

  static Result<KvItem> get(KvStore& store, const std::string& key) {
    return await<KvItem>([&](auto done) { store.get(key, std::move(done)); });
  }

  static Result<void> remove(KvStore& store, const std::string& key,
                             std::optional<std::string> if_match = std::nullopt) {
    return await<void>([&](auto done) { store.remove(key, std::move(if_match), std::move(done)); });
  }

  static Result<KvListResult> list(KvStore& store, KvListRequest request) {
    return await<KvListResult>([&](auto done) { store.list(std::move(request), std::move(done)); });
  }

  static void expectPreconditionFailed(const Result<std::string>& result) {
    ASSERT_FALSE(result) << "the write succeeded";
    EXPECT_EQ(result.error().code, ErrorCode::kPreconditionFailed) << describeError(result.error());
  }
};

TEST_P(KvConformanceTest, DescribesItsBackendAndClaimsExactlyItsTableRow) {
  auto store = open();
  ASSERT_TRUE(store);
  EXPECT_EQ(store->describe().rfind(row().describe, 0), 0U) << store->describe();
  EXPECT_TRUE(store->features() == row().kv_features)
      << "features() differs from the row in backends.cc";
}

TEST_P(KvConformanceTest, EveryClaimedFeatureHasATestInThisSuite) {
  auto store = open();
  ASSERT_TRUE(store);
  expectEveryClaimedFeatureIsTested(store->features(), featureTests(), row().name, "KvFeature");
}

TEST_P(KvConformanceTest, JsonValuesRoundTripWithEveryDigit) {
  auto store = open();
  ASSERT_TRUE(store);
  const std::vector<std::string> values = {
      R"({"cart": [1, 2, 3], "user": {"name": "Ada \"A\" L.", "tags": []}})",
      "[true, false, null]",
      R"("just a string with \u00fc and \ud83d\udce6")",
      "123456789012345678901234567890.123456789012345678901234567890e-5",
      "-0",
      "null",
      "{}",
  };
  for (std::size_t i = 0; i < values.size(); ++i) {
    const std::string key = "v" + std::to_string(i);
    Result<std::string> version = put(*store, key, values[i]);
    ASSERT_TRUE(version) << values[i] << ": " << describeError(version.error());
    EXPECT_FALSE(version->empty());
    Result<KvItem> item = get(*store, key);
    ASSERT_TRUE(item) << describeError(item.error());
    EXPECT_EQ(item->key, key);
    EXPECT_EQ(compact(item->value), compact(values[i]));
    EXPECT_EQ(item->version, *version);
  }
}

TEST_P(KvConformanceTest, GetOfAMissingKeyIsNotFound) {
  auto store = open();
  ASSERT_TRUE(store);
  Result<KvItem> item = get(*store, "missing");
  ASSERT_FALSE(item);
  EXPECT_EQ(item.error().code, ErrorCode::kNotFound);
}

TEST_P(KvConformanceTest, EveryWriteGetsANewVersion) {
  auto store = open();
  ASSERT_TRUE(store);
  std::set<std::string> versions;
  for (int i = 0; i < 5; ++i) {
    Result<std::string> version = put(*store, "counter", std::to_string(i));
    ASSERT_TRUE(version);
    versions.insert(*version);
  }
  EXPECT_EQ(versions.size(), 5U);
  Result<KvItem> item = get(*store, "counter");
  ASSERT_TRUE(item);
  EXPECT_EQ(item->value, "4");
}

TEST_P(KvConformanceTest, IfMatchWritesOnlyOverTheCurrentVersion) {
  if (auto why = unclaimed(KvFeature::kConditionalWrites, "kConditionalWrites"); !why.empty()) {
    GTEST_SKIP() << why;
  }
  auto store = open();
  ASSERT_TRUE(store);
  expectPreconditionFailed(put(*store, KvPutRequest{"k", "0", "1", false})); // missing item
  Result<std::string> v1 = put(*store, "k", "1");
  ASSERT_TRUE(v1);
  Result<std::string> v2 = put(*store, KvPutRequest{"k", "2", *v1, false});
  ASSERT_TRUE(v2) << describeError(v2.error());
  expectPreconditionFailed(put(*store, KvPutRequest{"k", "3", *v1, false})); // stale
  expectPreconditionFailed(put(*store, KvPutRequest{"k", "3", "garbage", false}));
  Result<KvItem> item = get(*store, "k");
  ASSERT_TRUE(item);
  EXPECT_EQ(item->value, "2");
  EXPECT_EQ(item->version, *v2);
}

TEST_P(KvConformanceTest, IfNoneMatchStarCreatesOnlyOnce) {
  if (auto why = unclaimed(KvFeature::kConditionalWrites, "kConditionalWrites"); !why.empty()) {
    GTEST_SKIP() << why;
  }
  auto store = open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(put(*store, KvPutRequest{"lock", R"("owner-a")", std::nullopt, true}));
  expectPreconditionFailed(put(*store, KvPutRequest{"lock", R"("owner-b")", std::nullopt, true}));
  Result<KvItem> item = get(*store, "lock");
  ASSERT_TRUE(item);
  EXPECT_EQ(item->value, R"("owner-a")");
  // Once deleted, the key can be created again.
  ASSERT_TRUE(remove(*store, "lock"));
  EXPECT_TRUE(put(*store, KvPutRequest{"lock", R"("owner-b")", std::nullopt, true}));
}

TEST_P(KvConformanceTest, DeleteWithIfMatchChecksTheVersion) {
  if (auto why = unclaimed(KvFeature::kConditionalWrites, "kConditionalWrites"); !why.empty()) {
    GTEST_SKIP() << why;
  }
  auto store = open();
  ASSERT_TRUE(store);
  Result<std::string> v1 = put(*store, "k", "1");
  ASSERT_TRUE(v1);
  Result<std::string> v2 = put(*store, "k", "2");
  ASSERT_TRUE(v2);
  Result<void> stale = remove(*store, "k", *v1);
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().code, ErrorCode::kPreconditionFailed);
  ASSERT_TRUE(get(*store, "k"));
  EXPECT_TRUE(remove(*store, "k", *v2));
  EXPECT_FALSE(get(*store, "k"));
  Result<void> missing = remove(*store, "k", *v2);
  ASSERT_FALSE(missing) << "If-Match on a missing item must fail";
  EXPECT_EQ(missing.error().code, ErrorCode::kPreconditionFailed);
}

TEST_P(KvConformanceTest, DeleteSucceedsForMissingItems) {
  auto store = open();
  ASSERT_TRUE(store);
  EXPECT_TRUE(remove(*store, "never-existed"));
  ASSERT_TRUE(put(*store, "k", "1"));
  EXPECT_TRUE(remove(*store, "k"));
  EXPECT_TRUE(remove(*store, "k"));
}

TEST_P(KvConformanceTest, AVersionIsNeverReusedAfterDeleteAndRecreate) {
  auto store = open();
  ASSERT_TRUE(store);
  Result<std::string> v1 = put(*store, "k", "1");
  ASSERT_TRUE(v1);
  ASSERT_TRUE(remove(*store, "k"));
  Result<std::string> v2 = put(*store, "k", "1");
  ASSERT_TRUE(v2);
  EXPECT_NE(*v1, *v2);
  if (row().kv_features.has(KvFeature::kConditionalWrites)) {
    expectPreconditionFailed(put(*store, KvPutRequest{"k", "2", *v1, false}));
  }
}

TEST_P(KvConformanceTest, ConditionalWritesAreAtomicUnderContention) {
  if (auto why = unclaimed(KvFeature::kConditionalWrites, "kConditionalWrites"); !why.empty()) {
    GTEST_SKIP() << why;
  }
  auto store = open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(put(*store, "counter", "0"));
  constexpr int kThreads = 4;
  constexpr int kIncrements = 25;
  std::atomic<int> conflicts{0};
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int done = 0; done < kIncrements;) {
        Result<KvItem> item = get(*store, "counter");
        if (!item) return;
        const std::string next = std::to_string(std::stoi(item->value) + 1);
        Result<std::string> written =
            put(*store, KvPutRequest{"counter", next, item->version, false});
        if (written) {
          ++done;
        } else {
          EXPECT_EQ(written.error().code, ErrorCode::kPreconditionFailed);
          ++conflicts;
        }
      }
    });
  }
  for (std::thread& t : threads)
    t.join();
  Result<KvItem> item = get(*store, "counter");
  ASSERT_TRUE(item);
  EXPECT_EQ(item->value, std::to_string(kThreads * kIncrements)) << "an update was lost";
}

TEST_P(KvConformanceTest, ListByPrefixInByteOrderWithCursors) {
  if (auto why = unclaimed(KvFeature::kPrefixList, "kPrefixList"); !why.empty()) {
    GTEST_SKIP() << why;
  }
  auto store = open();
  ASSERT_TRUE(store);
  const std::vector<std::string> keys = {"user/b",  "user/a",   "user/\xC3\xA4", "user/B",
                                         "user/a0", "user/a/x", "user",          "users/z",
                                         "other",   "user/~",   "user/ab"};
  for (const std::string& key : keys)
    ASSERT_TRUE(put(*store, key, "\"" + key + "\""));

  std::vector<std::string> expected;
  for (const std::string& key : keys) {
    if (key.rfind("user/", 0) == 0) expected.push_back(key);
  }
  std::sort(expected.begin(), expected.end());
  std::vector<std::string> listed;
  KvListRequest request{"user/", 3, ""};
  int pages = 0;
  while (pages < 100) {
    Result<KvListResult> page = list(*store, request);
    ASSERT_TRUE(page) << describeError(page.error());
    ++pages;
    EXPECT_LE(page->items.size(), 3U);
    for (const KvItem& item : page->items) {
      listed.push_back(item.key);
      EXPECT_EQ(item.value, "\"" + item.key + "\"");
      EXPECT_FALSE(item.version.empty());
    }
    if (!page->next_cursor) break;
    request.cursor = *page->next_cursor;
  }
  EXPECT_EQ(listed, expected);
  EXPECT_EQ(pages, 3);

  Result<KvListResult> all = list(*store, KvListRequest{"", 1000, ""});
  ASSERT_TRUE(all);
  EXPECT_EQ(all->items.size(), keys.size());
  EXPECT_FALSE(all->next_cursor);
  EXPECT_TRUE(std::is_sorted(all->items.begin(), all->items.end(),
                             [](const KvItem& a, const KvItem& b) { return a.key < b.key; }));

  Result<KvListResult> bad = list(*store, KvListRequest{"", 10, "not a cursor!"});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
}

TEST_P(KvConformanceTest, ValuesOf256KiBRoundTrip) {
  if (auto why = unclaimed(KvFeature::kLargeValues, "kLargeValues"); !why.empty()) {
    GTEST_SKIP() << why;
  }
  auto store = open();
  ASSERT_TRUE(store);
  std::string value = "\"";
  while (value.size() < 256 * 1024 - 1)
    value += static_cast<char>('a' + value.size() % 26);
  value += "\"";
  ASSERT_EQ(value.size(), 256U * 1024);
  Result<std::string> version = put(*store, "big", value);
  ASSERT_TRUE(version) << describeError(version.error());
  Result<KvItem> item = get(*store, "big");
  ASSERT_TRUE(item);
  EXPECT_EQ(item->value, value);
}

TEST_P(KvConformanceTest, KeysAreOpaqueNames) {
  auto store = open();
  ASSERT_TRUE(store);
  for (const std::string key : {"a/b", "..", "/", "a\\b", "#?", "sp ace", "\xC3\xBC"}) {
    ASSERT_TRUE(put(*store, key, "\"" + key + "\"")) << key;
  }
  for (const std::string key : {"a/b", "..", "/", "a\\b", "#?", "sp ace", "\xC3\xBC"}) {
    Result<KvItem> item = get(*store, key);
    ASSERT_TRUE(item) << key;
    EXPECT_EQ(item->value, "\"" + key + "\"");
  }
}

TEST_P(KvConformanceTest, TablesOfOneBindingAreSeparate) {
  auto sessions = open("sessions");
  auto carts = open("carts");
  ASSERT_TRUE(sessions && carts);
  ASSERT_TRUE(put(*sessions, "k", "1"));
  EXPECT_FALSE(get(*carts, "k"));
}

TEST_P(KvConformanceTest, AcknowledgedWritesSurviveReopening) {
  std::string version;
  {
    auto store = open();
    ASSERT_TRUE(store);
    Result<std::string> written = put(*store, "kept", R"({"n": 1})");
    ASSERT_TRUE(written);
    version = *written;
    ASSERT_TRUE(put(*store, "deleted", "1"));
    ASSERT_TRUE(remove(*store, "deleted"));
  }
  auto store = open();
  ASSERT_TRUE(store);
  Result<KvItem> item = get(*store, "kept");
  ASSERT_TRUE(item) << describeError(item.error());
  EXPECT_EQ(compact(item->value), R"({"n":1})");
  EXPECT_EQ(item->version, version);
  EXPECT_FALSE(get(*store, "deleted"));
  // Versions keep increasing across the restart: none is handed out twice.
  Result<std::string> next = put(*store, "kept", "2");
  ASSERT_TRUE(next);
  EXPECT_NE(*next, version);
  if (row().kv_features.has(KvFeature::kConditionalWrites)) {
    expectPreconditionFailed(put(*store, KvPutRequest{"kept", "3", version, false}));
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, KvConformanceTest, testing::ValuesIn(kvStoreRows()), rowName);

} // namespace
} // namespace exoflow::backend::conformance
