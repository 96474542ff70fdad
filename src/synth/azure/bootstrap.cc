#include "synth/azure/bootstrap.h"

#include <fmt/format.h>

#include "synth/azure/azure.h"

namespace exoflow::synth::azure {

namespace {

constexpr std::string_view kAccountVar = "artifactAccountName";

std::string accountId() {
  return armResourceId("Microsoft.Storage/storageAccounts", {armVar(kAccountVar)});
}

/// The artifact store and the instances' identity, in the first target's resource group.
Json homeTemplate(const model::App& app, const std::string& region) {
  ArmTemplate t(ArmScope::kResourceGroup,
                fmt::format("ExoFlow app {}: artifact store and instance identity", app.name));
  t.addVariable(kAccountVar, armExpr(artifactAccountExpr(app)));
  t.addResource(
      {{"type", "Microsoft.Storage/storageAccounts"},
       {"apiVersion", api::kStorage},
       {"name", armExpr(armVar(kAccountVar))},
       {"location", region},
       {"kind", "StorageV2"},
       {"sku", {{"name", "Standard_LRS"}}},
       {"properties",
        {{"accessTier", "Hot"},
         {"supportsHttpsTrafficOnly", true},
         {"minimumTlsVersion", "TLS1_2"},
         {"allowBlobPublicAccess", false},
         {"encryption",
          {{"keySource", "Microsoft.Storage"}, {"services", {{"blob", {{"enabled", true}}}}}}}}}});
  // The container is nested: a top-level container's name schema admits no expression.
  t.addResource({{"type", "Microsoft.Storage/storageAccounts/blobServices"},
                 {"apiVersion", api::kStorage},
                 {"name", armExpr(fmt::format("format('{{0}}/default', {})", armVar(kAccountVar)))},
                 {"properties", {{"isVersioningEnabled", true}}},
                 {"dependsOn", {armExpr(accountId())}},
                 {"resources",
                  {{{"type", "containers"},
                    {"apiVersion", api::kStorage},
                    {"name", kArtifactContainer},
                    {"properties", {{"publicAccess", "None"}}},
                    {"dependsOn",
                     {armIdExpr("Microsoft.Storage/storageAccounts/blobServices",
                                {armVar(kAccountVar), "'default'"})}}}}}});
  const std::string identity = armResourceId("Microsoft.ManagedIdentity/userAssignedIdentities",
                                             {armQuote(identityName(app))});
  t.addResource({{"type", "Microsoft.ManagedIdentity/userAssignedIdentities"},
                 {"apiVersion", api::kIdentity},
                 {"name", identityName(app)},
                 {"location", region}});
  // The instances read the artifact, exo-proxy and their files; nothing else here.
  t.addResource(roleAssignment(
      role::kStorageBlobDataReader,
      fmt::format("reference({}, {}).principalId", identity, armQuote(api::kIdentity)), identity,
      accountId(), {armExpr(accountId()), armExpr(identity)}));
  return t.toJson();
}

} // namespace

Json renderBootstrap(const model::App& app) {
  const std::vector<std::string> regions = azureRegions(app);
  const std::string home_rg = resourceGroupName(app, regions.front());
  ArmTemplate t(ArmScope::kSubscription,
                fmt::format("ExoFlow app {}: resource groups, artifact store and instance identity "
                            "(written by exoflow synth)",
                            app.name));
  Json groups = Json::array();
  for (const std::string& region : regions) {
    t.addResource({{"type", "Microsoft.Resources/resourceGroups"},
                   {"apiVersion", api::kResources},
                   {"name", resourceGroupName(app, region)},
                   {"location", region},
                   {"properties", Json::object()}});
    groups.push_back(resourceGroupName(app, region));
  }
  t.addResource(
      {{"type", "Microsoft.Resources/deployments"},
       {"apiVersion", api::kResources},
       {"name", app.name + "-bootstrap"},
       {"resourceGroup", home_rg},
       {"dependsOn", {armIdExpr("Microsoft.Resources/resourceGroups", {armQuote(home_rg)})}},
       {"properties",
        {{"mode", "Incremental"},
         {"expressionEvaluationOptions", {{"scope", "Inner"}}},
         {"template", homeTemplate(app, regions.front())}}}});
  const std::string identity =
      fmt::format("resourceId(subscription().subscriptionId, {}, "
                  "'Microsoft.ManagedIdentity/userAssignedIdentities', {})",
                  armQuote(home_rg), armQuote(identityName(app)));
  t.addOutput("resourceGroups", "array", groups);
  t.addOutput("artifactStorageAccount", "string", armExpr(artifactAccountExpr(app)));
  t.addOutput("artifactContainer", "string", std::string(kArtifactContainer));
  t.addOutput("identityId", "string", armExpr(identity));
  t.addOutput(
      "identityClientId", "string",
      armExpr(fmt::format("reference({}, {}).clientId", identity, armQuote(api::kIdentity))));
  t.addOutput(
      "identityPrincipalId", "string",
      armExpr(fmt::format("reference({}, {}).principalId", identity, armQuote(api::kIdentity))));
  return t.toJson();
}

} // namespace exoflow::synth::azure
