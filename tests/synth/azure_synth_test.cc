// What the Azure templates promise, read back from the generated JSON: the bootstrap's store
// and identity, least-privilege roles, the size table, private databases, Traffic Manager's
// routing, and errors that name the manifest field.
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "synth/synth.h"
#include "synth_test_util.h"

namespace exoflow::synth {
namespace {

using nlohmann::json;

SynthOutput azureOf(const std::string& name) {
  auto out = synthesize(test::loadApp(test::caseManifest(name)), TargetSet::kAzure);
  EXPECT_TRUE(out.has_value()) << name << ": " << (out ? "" : out.error().message);
  return out ? *out : SynthOutput{};
}

json fileJson(const SynthOutput& out, const std::string& path) {
  for (const OutputFile& f : out.files) {
    if (f.path == path) return json::parse(f.content);
  }
  ADD_FAILURE() << "no file " << path;
  return json::object();
}

std::vector<json> ofType(const json& resources, const std::string& type) {
  std::vector<json> found;
  for (const json& r : resources) {
    if (r["type"] == type) found.push_back(r);
    if (r.contains("resources")) {
      for (const json& child : ofType(r["resources"], type))
        found.push_back(child);
    }
  }
  return found;
}

TEST(AzureSynthTest, BootstrapHoldsAPrivateVersionedStoreAndTheIdentity) {
  const json boot = fileJson(azureOf("webshop"), "azure/bootstrap.json");
  EXPECT_EQ(boot["$schema"], "https://schema.management.azure.com/schemas/2018-05-01/"
                             "subscriptionDeploymentTemplate.json#");
  const json groups = ofType(boot["resources"], "Microsoft.Resources/resourceGroups")[0];
  EXPECT_EQ(groups["name"], "webshop-eastus");
  const json inner =
      ofType(boot["resources"], "Microsoft.Resources/deployments")[0]["properties"]["template"];
  const json account = ofType(inner["resources"], "Microsoft.Storage/storageAccounts")[0];
  EXPECT_EQ(account["properties"]["supportsHttpsTrafficOnly"], true);
  EXPECT_EQ(account["properties"]["minimumTlsVersion"], "TLS1_2");
  EXPECT_EQ(account["properties"]["allowBlobPublicAccess"], false);
  const json blob = ofType(inner["resources"], "Microsoft.Storage/storageAccounts/blobServices")[0];
  EXPECT_EQ(blob["properties"]["isVersioningEnabled"], true);
  EXPECT_EQ(ofType(inner["resources"], "Microsoft.ManagedIdentity/userAssignedIdentities").size(),
            1U);
  for (const char* output : {"artifactStorageAccount", "identityId", "identityClientId",
                             "identityPrincipalId", "resourceGroups"})
    EXPECT_TRUE(boot["outputs"].contains(output)) << output;
}

TEST(AzureSynthTest, TheInstancesGetExactlyTheDataRolesOnTheirOwnResources) {
  const json app = fileJson(azureOf("azure-storage"), "azure/swedencentral/app.json");
  std::multiset<std::string> roles;
  for (const json& r : ofType(app["resources"], "Microsoft.Authorization/roleAssignments")) {
    const std::string role = r["properties"]["roleDefinitionId"];
    roles.insert(role.substr(role.rfind(", '") + 3, 36));
    // Scoped to one queue, container or table, never to the account.
    const std::string scope = r["scope"];
    EXPECT_TRUE(scope.find("/queues'") != std::string::npos ||
                scope.find("/containers'") != std::string::npos ||
                scope.find("/tables'") != std::string::npos)
        << scope;
  }
  // jobs + jobs-dlq + events: 3 queues; their 3 spill containers and 2 object containers; 1 table.
  EXPECT_EQ(roles.count("974c5e8b-45b9-4653-ba55-5f855dd0fb88"), 3U); // Queue Data Contributor
  EXPECT_EQ(roles.count("ba92f5b4-2d11-453d-a403-e96b0029c9fe"), 5U); // Blob Data Contributor
  EXPECT_EQ(roles.count("0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3"), 1U); // Table Data Contributor
  EXPECT_EQ(roles.size(), 9U);
}

TEST(AzureSynthTest, TheScaleSetTakesItsSizeFromTheSharedTableAndScalesOnCpu) {
  const json app = fileJson(azureOf("azure-compute"), "azure/northeurope/app.json");
  const json vmss = ofType(app["resources"], "Microsoft.Compute/virtualMachineScaleSets")[0];
  EXPECT_EQ(vmss["sku"]["name"], "Standard_D2s_v5"); // medium
  EXPECT_EQ(vmss["sku"]["capacity"], 1);
  EXPECT_EQ(
      vmss["properties"]["virtualMachineProfile"]["storageProfile"]["imageReference"]["offer"],
      "ubuntu-24_04-lts");
  const json autoscale = ofType(app["resources"], "Microsoft.Insights/autoscalesettings")[0];
  const json profile = autoscale["properties"]["profiles"][0];
  EXPECT_EQ(profile["capacity"]["maximum"], "3");
  EXPECT_EQ(profile["rules"][0]["metricTrigger"]["threshold"], 70);
  // No services: no proxy config, no storage, no gateway.
  EXPECT_TRUE(ofType(app["resources"], "Microsoft.Network/applicationGateways").empty());
  EXPECT_TRUE(ofType(app["resources"], "Microsoft.Storage/storageAccounts").empty());
}

TEST(AzureSynthTest, TheGatewayHasAPathRulePerRouteAndProbesTheHealthPath) {
  const json app = fileJson(azureOf("azure-routes-ports"), "azure/uksouth/app.json");
  const json gw = ofType(app["resources"], "Microsoft.Network/applicationGateways")[0];
  const json rules = gw["properties"]["urlPathMaps"][0]["properties"]["pathRules"];
  ASSERT_EQ(rules.size(), 3U);
  EXPECT_EQ(rules[0]["properties"]["paths"][0], "/api/*");
  EXPECT_EQ(gw["properties"]["probes"][0]["properties"]["path"], "/ready");
  EXPECT_EQ(gw["properties"]["sku"]["name"], "Standard_v2");
  const json nsg = ofType(app["resources"], "Microsoft.Network/networkSecurityGroups")[0];
  const json sec = nsg["properties"]["securityRules"];
  ASSERT_EQ(sec.size(), 4U); // three ports and the gateway
  EXPECT_EQ(sec[1]["properties"]["protocol"], "Udp");
  EXPECT_EQ(sec[1]["properties"]["destinationPortRange"], "6000-6010");
  EXPECT_EQ(sec[2]["properties"]["sourceAddressPrefix"], "2001:db8::/32");
}

TEST(AzureSynthTest, DatabasesArePrivateZoneRedundantAndKeepTheirPasswordInKeyVault) {
  const SynthOutput out = azureOf("azure-database-postgres");
  const json app = fileJson(out, "azure/westeurope/app.json");
  const json server = ofType(app["resources"], "Microsoft.DBforPostgreSQL/flexibleServers")[0];
  EXPECT_EQ(server["properties"]["version"], "15");
  EXPECT_EQ(server["properties"]["highAvailability"]["mode"], "ZoneRedundant");
  EXPECT_EQ(server["sku"]["tier"], "GeneralPurpose");
  EXPECT_EQ(server["properties"]["storage"]["storageSizeGB"], 128);
  EXPECT_EQ(server["properties"]["network"]["publicNetworkAccess"], "Disabled");
  EXPECT_EQ(app["parameters"]["booksAdminPassword"]["type"], "securestring");
  EXPECT_EQ(ofType(app["resources"], "Microsoft.KeyVault/vaults/secrets").size(), 1U);
  EXPECT_EQ(ofType(app["resources"], "Microsoft.Network/privateDnsZones").size(), 1U);
  ASSERT_EQ(out.notes.size(), 2U);
  EXPECT_NE(out.notes[0].find("services.books: ha needs the GeneralPurpose tier"),
            std::string::npos);
}

TEST(AzureSynthTest, AVersionAzureDoesNotOfferFailsAtItsField) {
  const model::App app = test::appFromText("exoflow: 1\napp: crm\nservices:\n  contacts:\n"
                                           "    kind: database\n    engine: mysql\n"
                                           "    version: \"8.4\"\n"
                                           "targets:\n  - {cloud: azure, region: eastus}\n");
  auto out = synthesize(app, TargetSet::kAzure);
  ASSERT_FALSE(out.has_value());
  EXPECT_EQ(out.error().path, "services.contacts.version");
  EXPECT_EQ(out.error().message, "mysql 8.4 is not offered by Azure's flexible servers (azure "
                                 "eastus is a target); Azure offers 8.0");
}

TEST(AzureSynthTest, TrafficManagerRoutesByPriorityOrWeight) {
  const json passive = fileJson(azureOf("azure-traffic-active-passive"), "azure/global.json");
  const json p = passive["resources"][0]["properties"];
  EXPECT_EQ(p["trafficRoutingMethod"], "Priority");
  EXPECT_EQ(p["monitorConfig"]["path"], "/up");
  EXPECT_EQ(p["monitorConfig"]["intervalInSeconds"], 30);
  ASSERT_EQ(p["endpoints"].size(), 3U);
  EXPECT_EQ(p["endpoints"][1]["type"],
            "Microsoft.Network/trafficManagerProfiles/externalEndpoints");
  EXPECT_EQ(p["endpoints"][2]["properties"]["priority"], 3);
  const json active = fileJson(azureOf("azure-traffic-active-active"), "azure/global.json");
  EXPECT_EQ(active["resources"][0]["properties"]["trafficRoutingMethod"], "Weighted");
}

TEST(AzureSynthTest, TrafficManagerWithoutRoutesIsANoteAndNoProfile) {
  const model::App app = test::appFromText(
      "exoflow: 1\napp: qq\nservices:\n  jobs: {kind: queue}\ntargets:\n"
      "  - {cloud: azure, region: eastus}\n  - {cloud: azure, region: westus}\n"
      "failover:\n  dns: {domain: example.com, name: q, provider: trafficmanager}\n");
  auto out = synthesize(app, TargetSet::kAzure);
  ASSERT_TRUE(out.has_value());
  for (const OutputFile& f : out->files)
    EXPECT_NE(f.path, "azure/global.json");
  ASSERT_FALSE(out->notes.empty());
  EXPECT_TRUE(out->notes.back().starts_with("failover.dns: trafficmanager needs routes"));
}

TEST(AzureSynthTest, NoAzureTargetIsAnErrorForTargetAzure) {
  auto out = synthesize(test::loadApp(test::caseManifest("kv")), TargetSet::kAzure);
  ASSERT_FALSE(out.has_value());
  EXPECT_EQ(out.error().path, "targets");
  EXPECT_EQ(out.error().message, "the manifest has no azure target");
}

TEST(AzureSynthTest, AThousandServicesSplitIntoNestedDeploymentsWithinArmsQuota) {
  std::string text = "exoflow: 1\napp: big\ncompute: {run: ./big}\nroutes:\n  - path: /*\n"
                     "services:\n  db: {kind: database, engine: postgres}\n";
  for (int i = 1; i <= 333; ++i) {
    text += "  q" + std::to_string(i) + ": {kind: queue, dead_letter: {after: 3}}\n";
    text += "  o" + std::to_string(i) + ": {kind: objects}\n";
    text += "  k" + std::to_string(i) + ": {kind: kv}\n";
  }
  text += "targets:\n  - {cloud: azure, region: eastus}\n";
  auto out = synthesize(test::appFromText(text), TargetSet::kAzure);
  ASSERT_TRUE(out.has_value()) << out.error().message;
  const json app = fileJson(*out, "azure/eastus/app.json");
  const std::vector<json> parts = ofType(app["resources"], "Microsoft.Resources/deployments");
  ASSERT_GE(parts.size(), 2U);
  EXPECT_LE(app["resources"].size(), 800U);
  std::size_t queues = 0;
  for (const json& part : parts) {
    const json& resources = part["properties"]["template"]["resources"];
    std::size_t count = resources.size();
    for (const json& r : resources)
      count += r.contains("resources") ? r["resources"].size() : 0;
    EXPECT_LE(count, 800U) << part["name"];
    queues += ofType(resources, "Microsoft.Storage/storageAccounts/queueServices/queues").size();
  }
  EXPECT_EQ(queues, 666U); // 333 queues and their dead-letter queues
  EXPECT_NE(out->notes.back().find("split over"), std::string::npos) << out->notes.back();
}

TEST(AzureSynthTest, AzureFilesAreByteIdenticalRunToRun) {
  for (const std::string& name : test::caseNames()) {
    const model::App app = test::loadApp(test::caseManifest(name));
    auto first = synthesize(app, TargetSet::kAll);
    auto second = synthesize(test::loadApp(test::caseManifest(name)), TargetSet::kAll);
    ASSERT_TRUE(first && second) << name;
    ASSERT_EQ(first->files.size(), second->files.size()) << name;
    for (std::size_t i = 0; i < first->files.size(); ++i) {
      if (!first->files[i].path.starts_with("azure/")) continue;
      EXPECT_EQ(first->files[i].content, second->files[i].content) << first->files[i].path;
    }
  }
}

} // namespace
} // namespace exoflow::synth
