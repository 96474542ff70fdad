#include <gtest/gtest.h>

#include "synth/naming.h"
#include "synth/sizes.h"

namespace exoflow::synth {
namespace {

constexpr std::string_view kLongApp = "a-very-long-application-name-xyz"; // 32, the maximum
constexpr std::string_view kLongService = "a-very-long-service-name-for-xyz";

TEST(NamingTest, ShortNamesAreJoinedUnchanged) {
  EXPECT_EQ(fitName(NameKind::kAwsSqsQueue, {"webshop", "orders"}), "webshop-orders");
  EXPECT_EQ(fitName(NameKind::kAwsDynamoDbTable, {"webshop", "sessions"}), "webshop-sessions");
  EXPECT_EQ(fitName(NameKind::kAwsRdsInstance, {"webshop", "shop-db"}), "webshop-shop-db");
}

TEST(NamingTest, EachCloudGetsItsOwnAlphabet) {
  EXPECT_EQ(fitName(NameKind::kAwsRdsDatabase, {"shop-db"}), "shop_db");
  EXPECT_EQ(fitName(NameKind::kAzureStorageAccount, {"webshop", "assets"}), "webshopassets");
  EXPECT_EQ(fitName(NameKind::kAzureTable, {"web-shop", "sessions"}), "webshopsessions");
  EXPECT_EQ(fitName(NameKind::kAzureTable, {"2shop"}), "x2shop");
}

TEST(NamingTest, LongNamesFitEveryRuleOfEveryCloud) {
  for (const NameRule& rule : nameRules()) {
    const std::string name = fitName(rule.kind, {kLongApp, kLongService, "ap-southeast-4"});
    EXPECT_LE(name.size(), rule.max_length) << rule.what << ": " << name;
    EXPECT_TRUE(fitsRule(rule.kind, name)) << rule.what << ": " << name;
  }
}

TEST(NamingTest, ACutNameEndsWithAHashSoPrefixTwinsDiffer) {
  const std::string a = fitName(NameKind::kAzureStorageAccount, {kLongApp, "assets-one"});
  const std::string b = fitName(NameKind::kAzureStorageAccount, {kLongApp, "assets-two"});
  EXPECT_EQ(a.size(), 24U);
  EXPECT_NE(a, b);
  EXPECT_EQ(a, fitName(NameKind::kAzureStorageAccount, {kLongApp, "assets-one"}));
}

TEST(NamingTest, TheReserveIsLeftForTheCallersSuffix) {
  const std::string bucket =
      fitName(NameKind::kAwsS3Bucket, {kLongApp, kLongService, "us-east-1"}, 13);
  EXPECT_LE(bucket.size(), 50U);
  EXPECT_TRUE(fitsRule(NameKind::kAwsS3Bucket, bucket + "-123456789012"));
  const std::string fifo = fitName(NameKind::kAwsSqsQueue, {kLongApp, kLongService, "x", "y"}, 5);
  EXPECT_TRUE(fitsRule(NameKind::kAwsSqsQueue, fifo + ".fifo"));
}

TEST(NamingTest, LogicalIdsAreCamelCase) {
  EXPECT_EQ(logicalId("shop-db"), "ShopDb");
  EXPECT_EQ(logicalId("orders"), "Orders");
  EXPECT_EQ(logicalId("aws-us-east-1"), "AwsUsEast1");
}

TEST(SizesTest, EverySizeHasARowForEveryCloud) {
  for (model::Size size :
       {model::Size::kSmall, model::Size::kMedium, model::Size::kLarge, model::Size::kXlarge}) {
    EXPECT_FALSE(computeSize(size).aws_instance_type.empty());
    EXPECT_FALSE(computeSize(size).azure_vm_size.empty());
    EXPECT_FALSE(databaseSize(size).aws_instance_class.empty());
    EXPECT_FALSE(databaseSize(size).azure_sku.empty());
  }
}

TEST(SizesTest, EveryVersionTheManifestAcceptsHasAnRdsVersion) {
  for (std::string_view v : {"13", "14", "15", "16", "17"}) {
    auto row = engineVersion(model::DbEngine::kPostgres, v);
    ASSERT_TRUE(row.has_value()) << v;
    EXPECT_TRUE(row->aws_version.starts_with(std::string(v) + ".")) << row->aws_version;
  }
  for (std::string_view v : {"8.0", "8.4"}) {
    auto row = engineVersion(model::DbEngine::kMysql, v);
    ASSERT_TRUE(row.has_value()) << v;
    EXPECT_TRUE(row->aws_version.starts_with(std::string(v) + ".")) << row->aws_version;
  }
  EXPECT_FALSE(engineVersion(model::DbEngine::kMysql, "16").has_value());
}

} // namespace
} // namespace exoflow::synth
