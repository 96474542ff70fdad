// Key-value routes of the real exo-proxy on local.sqlite: put, get, delete, list, conditions.
#include "proxy/proxy_fixture.h"

namespace exoflow::proxy::testing {
namespace {

using nlohmann::json;

class KvRoutesTest : public ProxyFixture {
protected:
  static std::string item(const std::string& key) { return "/v1/tables/sessions/items/" + key; }
};

TEST_F(KvRoutesTest, PutsAndGetsWithVersions) {
  const HttpResponse put = call("PUT", item("user-1"), R"({"name": "ann", "n": 1})");
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(put.header("x-exo-backend"), "local.sqlite");
  const std::string version = parse(put)["version"];
  EXPECT_EQ(put.header("etag"), "\"" + version + "\"");
  const HttpResponse got = call("GET", item("user-1"));
  ASSERT_EQ(got.status, 200);
  EXPECT_EQ(parse(got), json::parse(R"({"name": "ann", "n": 1})"));
  EXPECT_EQ(got.header("etag"), "\"" + version + "\"");
  EXPECT_EQ(got.header("content-type"), "application/json");
  EXPECT_EQ(got.header("x-exo-backend"), "local.sqlite");
}

TEST_F(KvRoutesTest, KeepsEveryDigitOfANumber) {
  const std::string value =
      R"({"big": 123456789012345678901234567890, "f": 0.1000000000000000055511151231257827})";
  ASSERT_EQ(call("PUT", item("num"), value).status, 200);
  const std::string back = call("GET", item("num")).body;
  EXPECT_NE(back.find("123456789012345678901234567890"), std::string::npos) << back;
  EXPECT_NE(back.find("0.1000000000000000055511151231257827"), std::string::npos) << back;
  const std::string listed = call("GET", "/v1/tables/sessions/items").body;
  EXPECT_NE(listed.find("123456789012345678901234567890"), std::string::npos) << listed;
}

TEST_F(KvRoutesTest, TakesAnyJsonValue) {
  for (const char* value : {"42", "\"text\"", "null", "true", "[1, 2]", "{}"}) {
    ASSERT_EQ(call("PUT", item("v"), value).status, 200) << value;
    EXPECT_EQ(parse(call("GET", item("v"))), json::parse(value));
  }
}

TEST_F(KvRoutesTest, RefusesNonJsonAndBigValues) {
  expectError(call("PUT", item("bad"), "{not json"), 400, "InvalidArgument");
  expectError(call("PUT", item("bad"), ""), 400, "InvalidArgument");
  expectError(call("PUT", item("bad"), "\"\xff\""), 400, "InvalidArgument");
  const std::string big = "\"" + std::string(256 * 1024, 'x') + "\"";
  expectError(call("PUT", item("big"), big), 413, "PayloadTooLarge");
  const std::string fits = "\"" + std::string(256 * 1024 - 2, 'x') + "\"";
  EXPECT_EQ(call("PUT", item("fits"), fits).status, 200);
}

TEST_F(KvRoutesTest, HonoursIfMatchQuotedOrBare) {
  const std::string v1 = parse(call("PUT", item("c"), "1"))["version"];
  expectError(call("PUT", item("c"), "2", {{"If-Match", "\"not-the-version\""}}), 412,
              "PreconditionFailed");
  const HttpResponse quoted = call("PUT", item("c"), "2", {{"If-Match", "\"" + v1 + "\""}});
  ASSERT_EQ(quoted.status, 200) << quoted.body;
  const std::string v2 = parse(quoted)["version"];
  expectError(call("PUT", item("c"), "3", {{"If-Match", v1}}), 412, "PreconditionFailed");
  EXPECT_EQ(call("PUT", item("c"), "3", {{"If-Match", v2}}).status, 200) << "bare version";
  expectError(call("PUT", item("missing"), "1", {{"If-Match", v2}}), 412, "PreconditionFailed");
  expectError(call("PUT", item("c"), "1", {{"If-Match", "*"}}), 400, "InvalidArgument");
}

TEST_F(KvRoutesTest, HonoursIfNoneMatchStar) {
  EXPECT_EQ(call("PUT", item("once"), "1", {{"If-None-Match", "*"}}).status, 200);
  expectError(call("PUT", item("once"), "2", {{"If-None-Match", "*"}}), 412, "PreconditionFailed");
  EXPECT_EQ(call("GET", item("once")).body, "1");
}

TEST_F(KvRoutesTest, DeletesWithAndWithoutIfMatch) {
  const std::string v = parse(call("PUT", item("d"), "1"))["version"];
  expectError(call("DELETE", item("d"), {}, {{"If-Match", "\"nope\""}}), 412, "PreconditionFailed");
  EXPECT_EQ(call("DELETE", item("d"), {}, {{"If-Match", "\"" + v + "\""}}).status, 204);
  const HttpResponse missing = call("GET", item("d"));
  expectError(missing, 404, "NotFound");
  EXPECT_EQ(missing.header("x-exo-backend"), "local.sqlite");
  EXPECT_EQ(call("DELETE", item("d")).status, 204) << "also when it did not exist";
}

TEST_F(KvRoutesTest, ChecksKeys) {
  expectError(call("PUT", item(std::string(513, 'k')), "1"), 400, "InvalidArgument");
  EXPECT_EQ(call("PUT", item(std::string(512, 'k')), "1").status, 200);
  expectError(call("PUT", item("tab%09key"), "1"), 400, "InvalidArgument");
  EXPECT_EQ(call("PUT", item("with%2Fslash%20and%20space"), "1").status, 200);
  EXPECT_EQ(call("GET", item("with%2Fslash and%20space")).status, 400)
      << "a raw space is not a valid request target";
  EXPECT_EQ(call("GET", item("with/slash%20and%20space")).body, "1");
  expectError(call("GET", "/v1/tables/nosuch/items/k"), 404, "NotFound");
}

TEST_F(KvRoutesTest, ListsInKeyOrderWithCursors) {
  for (const char* key : {"b", "a", "c/1", "c/2"}) {
    ASSERT_EQ(call("PUT", item(key), std::string("\"") + key + "\"").status, 200);
  }
  const HttpResponse all = call("GET", "/v1/tables/sessions/items");
  ASSERT_EQ(all.status, 200) << all.body;
  EXPECT_EQ(all.header("x-exo-backend"), "local.sqlite");
  const json items = parse(all)["items"];
  ASSERT_EQ(items.size(), 4U);
  EXPECT_EQ(items[0]["key"], "a");
  EXPECT_EQ(items[0]["value"], "a");
  EXPECT_TRUE(items[0]["version"].is_string());
  EXPECT_TRUE(parse(all)["next_cursor"].is_null());
  EXPECT_EQ(parse(call("GET", "/v1/tables/sessions/items?prefix=c/"))["items"].size(), 2U);
  std::vector<std::string> seen;
  std::string cursor;
  for (int page = 0; page < 10; ++page) {
    std::string target = "/v1/tables/sessions/items?limit=3";
    if (!cursor.empty()) target += "&cursor=" + urlEncode(cursor);
    const json p = parse(call("GET", target));
    for (const json& i : p["items"])
      seen.push_back(i["key"]);
    if (p["next_cursor"].is_null()) break;
    cursor = p["next_cursor"];
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b", "c/1", "c/2"}));
  expectError(call("GET", "/v1/tables/sessions/items?limit=1001"), 400, "InvalidArgument");
}

} // namespace
} // namespace exoflow::proxy::testing
