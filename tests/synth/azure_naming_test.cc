// Azure's naming rules through the one naming engine: globally unique names keep room for
// uniqueString(), derived names keep room for their suffixes, fitted twins differ.
#include <gtest/gtest.h>

#include "synth/azure/azure.h"
#include "synth/naming.h"
#include "synth_test_util.h"

namespace exoflow::synth::azure {
namespace {

constexpr std::string_view kLongApp = "a-very-long-application-name-xyz"; // 32, the maximum
const std::string kUnique(kUniqueStringLength, 'z');                      // what uniqueString adds

TEST(AzureNamingTest, StorageAccountPrefixesLeaveRoomForUniqueString) {
  for (std::string_view app : {std::string_view("webshop"), kLongApp}) {
    const std::string prefix = fitName(NameKind::kAzureStorageAccount, {app}, kUniqueStringLength);
    EXPECT_LE(prefix.size() + kUniqueStringLength, 24U) << prefix;
    EXPECT_TRUE(fitsRule(NameKind::kAzureStorageAccount, prefix + kUnique)) << prefix;
  }
  EXPECT_EQ(fitName(NameKind::kAzureStorageAccount, {"web-shop"}, kUniqueStringLength), "webshop");
}

TEST(AzureNamingTest, KeyVaultsAndServersLeaveRoomForTheirSuffix) {
  const std::string vault =
      fitName(NameKind::kAzureKeyVault, {kLongApp, "kv"}, kUniqueStringLength + 1);
  EXPECT_TRUE(fitsRule(NameKind::kAzureKeyVault, vault + "-" + kUnique)) << vault;
  const std::string server =
      fitName(NameKind::kAzureFlexibleServer, {kLongApp, kLongApp}, kUniqueStringLength + 1);
  EXPECT_TRUE(fitsRule(NameKind::kAzureFlexibleServer, server + "-" + kUnique)) << server;
}

TEST(AzureNamingTest, EveryServiceNameOfTheLongNamesCaseFitsItsRule) {
  const model::App app = test::loadApp(test::caseManifest("azure-long-names"));
  const std::vector<ServiceNames> names = serviceNames(app);
  ASSERT_EQ(names.size(), app.services.size());
  for (std::size_t i = 0; i < names.size(); ++i) {
    const ServiceNames& n = names[i];
    if (std::holds_alternative<model::QueueSpec>(app.services[i].spec)) {
      EXPECT_TRUE(fitsRule(NameKind::kAzureQueue, n.name)) << n.name;
      EXPECT_TRUE(fitsRule(NameKind::kAzureQueue, n.dead_letter)) << n.dead_letter;
      EXPECT_TRUE(fitsRule(NameKind::kAzureBlobContainer, spillContainer(n.dead_letter)));
    } else if (std::holds_alternative<model::ObjectsSpec>(app.services[i].spec)) {
      EXPECT_TRUE(fitsRule(NameKind::kAzureBlobContainer, n.name)) << n.name;
    } else if (std::holds_alternative<model::KvSpec>(app.services[i].spec)) {
      EXPECT_TRUE(fitsRule(NameKind::kAzureTable, n.name)) << n.name;
    } else {
      EXPECT_TRUE(fitsRule(NameKind::kAzureFlexibleServer, n.name + "-" + kUnique)) << n.name;
      EXPECT_TRUE(fitsRule(NameKind::kAzureDatabase, n.database)) << n.database;
    }
  }
  EXPECT_TRUE(fitsRule(NameKind::kAzureResourceGroup, resourceGroupName(app, "southeastasia")));
}

TEST(AzureNamingTest, TablesThatFitToTheSameNameAreToldApart) {
  const model::App app = test::loadApp(test::caseManifest("azure-long-names"));
  const std::vector<ServiceNames> names = serviceNames(app);
  const std::string& a1_b = names[4].name; // "a1-b" drops its "-" in a table name
  const std::string& a1b = names[5].name;
  EXPECT_EQ(a1_b, "a1b");
  EXPECT_NE(a1_b, a1b);
  EXPECT_TRUE(fitsRule(NameKind::kAzureTable, a1b)) << a1b;
}

TEST(AzureNamingTest, ShortNamesStayReadable) {
  const model::App app = test::loadApp(test::caseManifest("webshop"));
  const std::vector<ServiceNames> names = serviceNames(app);
  EXPECT_EQ(names[0].name, "orders");
  EXPECT_EQ(names[0].dead_letter, "orders-dlq");
  EXPECT_EQ(names[1].name, "assets");
  EXPECT_EQ(names[2].name, "sessions");
  EXPECT_EQ(names[3].name, "webshop-shop-db");
  EXPECT_EQ(names[3].database, "shop_db");
  EXPECT_EQ(resourceGroupName(app, "eastus"), "webshop-eastus");
}

} // namespace
} // namespace exoflow::synth::azure
