// exo-proxy with an aws.dynamodb binding against a moto server started for the suite: what the
// proxy writes, the AWS CLI reads straight from moto; what the AWS CLI writes (in this
// backend's format or not), the proxy reads and updates; a missing table stops the start with
// a clear error unless `create: true`; a paused or absent DynamoDB is Unavailable within
// limits.backend_timeout, and the proxy recovers by itself.
#include <chrono>
#include <csignal>
#include <memory>
#include <random>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "proxy/cloud_backend_fixture.h"
#include "proxy/proxy_process.h"
#include "support/fake_server.h"
#include "support/moto_server.h"

namespace exoflow::proxy::testing {
namespace {

using nlohmann::json;
using testsupport::awsCli;

testsupport::MotoServer& moto() {
  return sharedMoto();
}

/// A kv binding "sessions" on the DynamoDB table `table`; `extra` adds backend keys.
std::string configFor(const std::string& table, const std::string& endpoint = moto().endpoint(),
                      const std::string& extra = "") {
  return oneBindingConfig("sessions", "kv",
                          "{type: aws.dynamodb, region: us-east-1, table: " + table +
                              ", endpoint: " + endpoint + extra + "}");
}

std::string uniqueTable() {
  std::random_device random;
  return "proxy-" + std::to_string(random() % 1000000);
}

/// The DynamoDB key of an item as the AWS CLI writes it in a shell argument.
std::string cliKey(const std::string& key) {
  return "'" + json{{"pk", {{"S", "exo"}}}, {"sk", {{"S", key}}}}.dump() + "'";
}

class AwsDynamoDbProxyTest : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_TRUE(moto().available()) << moto().why();
    table_ = uniqueTable();
    ASSERT_EQ(awsCli(moto().endpoint(),
                     "dynamodb create-table --table-name " + table_ +
                         " --attribute-definitions AttributeName=pk,AttributeType=S "
                         "AttributeName=sk,AttributeType=S --key-schema "
                         "AttributeName=pk,KeyType=HASH AttributeName=sk,KeyType=RANGE "
                         "--billing-mode PAY_PER_REQUEST"),
              0);
    proxy_ = std::make_unique<ProxyProcess>(dir_.path(), configFor(table_));
    ASSERT_TRUE(proxy_->started()) << proxy_->errors();
  }

  /// The item straight from moto with the AWS CLI (null when there is none).
  json cliGet(const std::string& key) {
    std::string out;
    EXPECT_EQ(awsCli(moto().endpoint(),
                     "dynamodb get-item --consistent-read --table-name " + table_ + " --key " +
                         cliKey(key),
                     &out),
              0);
    const json got = json::parse(out, nullptr, false);
    return got.is_object() && got.contains("Item") ? got["Item"] : json(nullptr);
  }

  void cliPut(const json& item) {
    ASSERT_EQ(awsCli(moto().endpoint(),
                     "dynamodb put-item --table-name " + table_ + " --item '" + item.dump() + "'"),
              0);
  }

  TempDir dir_;
  std::string table_;
  std::unique_ptr<ProxyProcess> proxy_;
};

TEST_F(AwsDynamoDbProxyTest, WhatTheProxyWritesTheAwsCliReads) {
  const std::string value =
      R"({"cart": [1, 2], "user": "Ada ✓", "big": 123456789012345678901234567890})";
  const HttpResponse put = proxy_->call("PUT", "/v1/tables/sessions/items/cart%2F1", value);
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(put.header("x-exo-backend"), "aws.dynamodb:us-east-1");
  const std::string version = json::parse(put.body)["version"];

  const json item = cliGet("cart/1");
  ASSERT_FALSE(item.is_null()) << "the AWS CLI found no item cart/1 in " << table_;
  EXPECT_EQ(item["pk"]["S"], "exo");
  EXPECT_EQ(json::parse(item["value"]["S"].get<std::string>()), json::parse(value));
  EXPECT_NE(item["value"]["S"].get<std::string>().find("123456789012345678901234567890"),
            std::string::npos)
      << "every digit is kept";
  EXPECT_EQ(item["version"]["N"], version);

  ASSERT_EQ(proxy_->call("DELETE", "/v1/tables/sessions/items/cart%2F1").status, 204);
  EXPECT_TRUE(cliGet("cart/1").is_null()) << "the delete did not reach DynamoDB";
}

TEST_F(AwsDynamoDbProxyTest, WhatTheAwsCliWritesTheProxyReadsAndUpdates) {
  cliPut({{"pk", {{"S", "exo"}}},
          {"sk", {{"S", "user/ada"}}},
          {"value", {{"S", R"({"from": "cli"})"}}},
          {"version", {{"N", "41"}}}});
  const HttpResponse got = proxy_->call("GET", "/v1/tables/sessions/items/user%2Fada");
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(json::parse(got.body), json({{"from", "cli"}}));
  EXPECT_EQ(got.header("etag"), "\"41\"");

  EXPECT_EQ(
      proxy_->call("PUT", "/v1/tables/sessions/items/user%2Fada", "2", {{"If-Match", "\"40\""}})
          .status,
      412);
  const HttpResponse updated =
      proxy_->call("PUT", "/v1/tables/sessions/items/user%2Fada", "2", {{"If-Match", "\"41\""}});
  ASSERT_EQ(updated.status, 200) << updated.body;
  const json item = cliGet("user/ada");
  EXPECT_EQ(item["value"]["S"], "2");
  EXPECT_EQ(item["version"]["N"], json::parse(updated.body)["version"]);
  EXPECT_NE(item["version"]["N"], "41");

  // Items in other shapes: no version attribute (version "0"), a native number, a native map.
  cliPut({{"pk", {{"S", "exo"}}}, {"sk", {{"S", "user/bob"}}}, {"value", {{"S", "plain text"}}}});
  cliPut({{"pk", {{"S", "exo"}}},
          {"sk", {{"S", "user/cy"}}},
          {"value", {{"M", {{"n", {{"N", "12345678901234567890"}}}, {"ok", {{"BOOL", true}}}}}}}});
  const HttpResponse bob = proxy_->call("GET", "/v1/tables/sessions/items/user%2Fbob");
  ASSERT_EQ(bob.status, 200) << bob.body;
  EXPECT_EQ(json::parse(bob.body), json("plain text"));
  EXPECT_EQ(bob.header("etag"), "\"0\"");
  const HttpResponse cy = proxy_->call("GET", "/v1/tables/sessions/items/user%2Fcy");
  ASSERT_EQ(cy.status, 200) << cy.body;
  EXPECT_NE(cy.body.find("12345678901234567890"), std::string::npos) << cy.body;
  EXPECT_EQ(json::parse(cy.body)["ok"], true);

  EXPECT_EQ(
      proxy_->call("PUT", "/v1/tables/sessions/items/user%2Fbob", "3", {{"If-Match", "1"}}).status,
      412);
  const HttpResponse bob2 =
      proxy_->call("PUT", "/v1/tables/sessions/items/user%2Fbob", "3", {{"If-Match", "\"0\""}});
  EXPECT_EQ(bob2.status, 200) << bob2.body;
  EXPECT_EQ(cliGet("user/bob")["value"]["S"], "3");

  const HttpResponse listed =
      proxy_->call("GET", "/v1/tables/sessions/items?prefix=user%2F&limit=2");
  ASSERT_EQ(listed.status, 200) << listed.body;
  const json page = json::parse(listed.body);
  ASSERT_EQ(page["items"].size(), 2U) << listed.body;
  EXPECT_EQ(page["items"][0]["key"], "user/ada");
  EXPECT_EQ(page["items"][1]["key"], "user/bob");
  ASSERT_TRUE(page["next_cursor"].is_string()) << listed.body;
  const HttpResponse rest = proxy_->call("GET", "/v1/tables/sessions/items?prefix=user%2F&cursor=" +
                                                    page["next_cursor"].get<std::string>());
  ASSERT_EQ(rest.status, 200) << rest.body;
  const json last = json::parse(rest.body);
  ASSERT_EQ(last["items"].size(), 1U) << rest.body;
  EXPECT_EQ(last["items"][0]["key"], "user/cy");
  EXPECT_TRUE(last["next_cursor"].is_null());
}

TEST(AwsDynamoDbProxyStartTest, ATableThatDoesNotExistStopsTheStartNamingIt) {
  ASSERT_TRUE(moto().available()) << moto().why();
  TempDir dir;
  ProxyProcess proxy(dir.path(), configFor("no-such-table"));
  EXPECT_FALSE(proxy.started());
  EXPECT_EQ(proxy.wait(30'000), 1);
  EXPECT_NE(proxy.errors().find("DynamoDB table \"no-such-table\""), std::string::npos)
      << proxy.errors();
}

TEST(AwsDynamoDbProxyStartTest, CreateTrueCreatesAMissingTableWithTheSynthesizedKey) {
  ASSERT_TRUE(moto().available()) << moto().why();
  const std::string table = uniqueTable();
  TempDir dir;
  ProxyProcess proxy(dir.path(), configFor(table, moto().endpoint(), ", create: true"));
  ASSERT_TRUE(proxy.started()) << proxy.errors();
  std::string out;
  ASSERT_EQ(awsCli(moto().endpoint(), "dynamodb describe-table --table-name " + table, &out), 0);
  const json key = json::parse(out)["Table"]["KeySchema"];
  EXPECT_EQ(key, json::parse(R"([{"AttributeName": "pk", "KeyType": "HASH"},
                                 {"AttributeName": "sk", "KeyType": "RANGE"}])"));
  EXPECT_EQ(proxy.call("PUT", "/v1/tables/sessions/items/k", "1").status, 200);
}

TEST(AwsDynamoDbProxyStartTest, ATableWithAnotherKeyStopsTheStart) {
  ASSERT_TRUE(moto().available()) << moto().why();
  const std::string table = uniqueTable();
  ASSERT_EQ(awsCli(moto().endpoint(),
                   "dynamodb create-table --table-name " + table +
                       " --attribute-definitions AttributeName=id,AttributeType=S --key-schema "
                       "AttributeName=id,KeyType=HASH --billing-mode PAY_PER_REQUEST"),
            0);
  TempDir dir;
  ProxyProcess proxy(dir.path(), configFor(table));
  EXPECT_FALSE(proxy.started());
  EXPECT_EQ(proxy.wait(30'000), 1);
  EXPECT_NE(proxy.errors().find("needs partition key pk (S) and sort key sk (S)"),
            std::string::npos)
      << proxy.errors();
}

// moto stopped (SIGSTOP; a killed moto would forget its tables): calls answer 503 within the
// configured backend_timeout (2 s here) instead of hanging, and once moto runs again the proxy
// serves again by itself.
TEST_F(AwsDynamoDbProxyTest, APausedMotoIsUnavailableWithinTheTimeoutAndTheProxyRecovers) {
  ASSERT_EQ(proxy_->call("PUT", "/v1/tables/sessions/items/k", R"({"n": 1})").status, 200);
  expectUnavailableWhilePausedThenRecovers(*proxy_, moto().pid(), "aws.dynamodb:us-east-1",
                                           {{"PUT", "/v1/tables/sessions/items/k", "2"},
                                            {"GET", "/v1/tables/sessions/items/k", ""},
                                            {"DELETE", "/v1/tables/sessions/items/k", ""},
                                            {"GET", "/v1/tables/sessions/items?prefix=k", ""}},
                                           {"PUT", "/v1/tables/sessions/items/k", "3"});
  const HttpResponse got = proxy_->call("GET", "/v1/tables/sessions/items/k");
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(got.body, "3");
}

// Nothing listens at the endpoint: the proxy starts (the table cannot be checked yet) and every
// call is Unavailable.
TEST(AwsDynamoDbProxyStartTest, ARefusedConnectionIsUnavailable) {
  const std::string endpoint = "http://127.0.0.1:" + std::to_string(testsupport::unusedPort());
  TempDir dir;
  ProxyProcess proxy(dir.path(), configFor("sessions", endpoint));
  ASSERT_TRUE(proxy.started()) << proxy.errors();
  expectUnavailable(proxy, "aws.dynamodb:us-east-1",
                    {{"PUT", "/v1/tables/sessions/items/k", "1"},
                     {"GET", "/v1/tables/sessions/items/k", ""},
                     {"GET", "/v1/tables/sessions/items", ""}});
}

} // namespace
} // namespace exoflow::proxy::testing
