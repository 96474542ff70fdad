// The kv calls of the client against the real exo-proxy (local.sqlite backends).

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "client/proxy_process.h"

namespace exoflow::client {
namespace {

using nlohmann::json;
using testing::ProxyTest;

class KvTest : public ProxyTest {};

TEST_F(KvTest, PutThenGetReturnsTheValueAndItsVersion) {
  Client exo = client();
  auto version = exo.putItem("sessions", "user/42", R"({"name": "Ada", "tags": ["x", "y"]})");
  ASSERT_TRUE(version) << describe(version.error());
  EXPECT_FALSE(version->empty());
  EXPECT_NE(version->front(), '"');
  auto item = exo.getItem("sessions", "user/42");
  ASSERT_TRUE(item) << describe(item.error());
  EXPECT_EQ(item->key, "user/42");
  EXPECT_EQ(item->version, *version);
  EXPECT_EQ(json::parse(item->value), json::parse(R"({"name": "Ada", "tags": ["x", "y"]})"));
}

TEST_F(KvTest, NumbersKeepEveryDigit) {
  Client exo = client();
  const std::string big = "123456789012345678901234567890.123456789012345678901";
  ASSERT_TRUE(exo.putItem("sessions", "big", "{\"n\": " + big + "}"));
  auto item = exo.getItem("sessions", "big");
  ASSERT_TRUE(item) << describe(item.error());
  EXPECT_NE(item->value.find(big), std::string::npos) << item->value;
  auto listing = exo.listItems("sessions");
  ASSERT_TRUE(listing) << describe(listing.error());
  ASSERT_EQ(listing->items.size(), 1u);
  EXPECT_NE(listing->items[0].value.find(big), std::string::npos) << listing->items[0].value;
}

TEST_F(KvTest, IfNoneMatchStarOnlyCreates) {
  Client exo = client();
  PutItemOptions create;
  create.if_none_match_any = true;
  ASSERT_TRUE(exo.putItem("sessions", "lock", "1", create));
  auto again = exo.putItem("sessions", "lock", "2", create);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kPreconditionFailed);
  EXPECT_EQ(again.error().http_status, 412);
  EXPECT_EQ(exo.getItem("sessions", "lock")->value, "1");
}

TEST_F(KvTest, IfMatchUpdatesOnlyTheVersionItNames) {
  Client exo = client();
  auto v1 = exo.putItem("sessions", "cart", R"([1])");
  ASSERT_TRUE(v1);
  PutItemOptions update;
  update.if_match = *v1; // the bare version
  auto v2 = exo.putItem("sessions", "cart", R"([1, 2])", update);
  ASSERT_TRUE(v2) << describe(v2.error());
  EXPECT_NE(*v2, *v1);
  auto stale = exo.putItem("sessions", "cart", R"([3])", update);
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().code, ErrorCode::kPreconditionFailed);
  update.if_match = "\"" + *v2 + "\""; // the quoted ETag form
  EXPECT_TRUE(exo.putItem("sessions", "cart", R"([1, 2, 3])", update));

  PutItemOptions missing;
  missing.if_match = *v1;
  auto absent = exo.putItem("sessions", "no-such-item", "1", missing);
  ASSERT_FALSE(absent);
  EXPECT_EQ(absent.error().code, ErrorCode::kPreconditionFailed);
}

TEST_F(KvTest, DeleteHonoursIfMatch) {
  Client exo = client();
  auto version = exo.putItem("sessions", "temp", "true");
  ASSERT_TRUE(version);
  auto refused = exo.deleteItem("sessions", "temp", std::string("not-the-version"));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kPreconditionFailed);
  ASSERT_TRUE(exo.deleteItem("sessions", "temp", *version));
  auto gone = exo.getItem("sessions", "temp");
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(gone.error().http_status, 404);
  EXPECT_TRUE(exo.deleteItem("sessions", "temp")) << "delete of a missing item";
}

TEST_F(KvTest, ListingPagesInKeyOrderWithAPrefix) {
  Client exo = client();
  const std::vector<std::string> keys = {"k/a", "k/b", "k/c", "k/d", "z"};
  for (const std::string& key : keys)
    ASSERT_TRUE(exo.putItem("sessions", key, "\"" + key + "\""));
  ListItemsOptions options;
  options.prefix = "k/";
  options.limit = 3;
  auto first = exo.listItems("sessions", options);
  ASSERT_TRUE(first) << describe(first.error());
  ASSERT_EQ(first->items.size(), 3u);
  EXPECT_EQ(first->items[0].key, "k/a");
  EXPECT_EQ(first->items[0].value, "\"k/a\"");
  EXPECT_FALSE(first->items[0].version.empty());
  ASSERT_TRUE(first->next_cursor);
  options.cursor = *first->next_cursor;
  auto second = exo.listItems("sessions", options);
  ASSERT_TRUE(second) << describe(second.error());
  ASSERT_EQ(second->items.size(), 1u);
  EXPECT_EQ(second->items[0].key, "k/d");
  EXPECT_FALSE(second->next_cursor);
}

TEST_F(KvTest, KeysAreStoredLiterallyWhateverTheyContain) {
  Client exo = client();
  const std::vector<std::string> keys = {"a/b", "..", "../up", "with space", "\xE2\x9C\x93/ok",
                                         "q?#%"};
  for (const std::string& key : keys) {
    auto put = exo.putItem("sessions", key, json(key).dump());
    ASSERT_TRUE(put) << key << ": " << describe(put.error());
  }
  for (const std::string& key : keys) {
    auto item = exo.getItem("sessions", key);
    ASSERT_TRUE(item) << key << ": " << describe(item.error());
    EXPECT_EQ(json::parse(item->value), json(key));
  }
  auto listing = exo.listItems("sessions");
  ASSERT_TRUE(listing);
  std::vector<std::string> listed;
  for (const KvItem& item : listing->items)
    listed.push_back(item.key);
  std::vector<std::string> expected = keys;
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(listed, expected);
}

TEST_F(KvTest, ABodyThatIsNotJsonIsInvalid) {
  Client exo = client();
  auto put = exo.putItem("sessions", "bad", "{not json");
  ASSERT_FALSE(put);
  EXPECT_EQ(put.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(put.error().http_status, 400);
}

TEST_F(KvTest, AValueOver256KiBIsPayloadTooLarge) {
  Client exo = client();
  const std::string value = "\"" + std::string(256 * 1024, 'x') + "\"";
  auto put = exo.putItem("sessions", "huge", value);
  ASSERT_FALSE(put);
  EXPECT_EQ(put.error().code, ErrorCode::kPayloadTooLarge) << describe(put.error());
  EXPECT_EQ(put.error().http_status, 413);
}

TEST_F(KvTest, BothConditionsAtOnceAreRefusedByTheClient) {
  Client exo = client();
  PutItemOptions both;
  both.if_match = "v";
  both.if_none_match_any = true;
  auto put = exo.putItem("sessions", "x", "1", both);
  ASSERT_FALSE(put);
  EXPECT_EQ(put.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(exo.stats().requests, 0u);
}

} // namespace
} // namespace exoflow::client
