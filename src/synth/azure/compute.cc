#include <algorithm>

#include <fmt/format.h>

#include "synth/azure/azure.h"
#include "synth/sizes.h"

namespace exoflow::synth::azure {

namespace {

/// Scale in below this many points under the target, so that the two rules never fight.
constexpr int kScaleInGap = 20;

std::string computerNamePrefix(const model::App& app) {
  std::string prefix = app.name.substr(0, 9);
  while (!prefix.empty() && prefix.back() == '-')
    prefix.pop_back();
  return prefix;
}

Json ipConfiguration(const model::App& app, const Layout& layout) {
  const CoreNames names = coreNames(app);
  Json props = {{"subnet",
                 {{"id", armIdExpr("Microsoft.Network/virtualNetworks/subnets",
                                   {armQuote(names.vnet), armQuote(kAppSubnet)})}}}};
  if (layout.routes) {
    props["applicationGatewayBackendAddressPools"] = {
        {{"id", armIdExpr("Microsoft.Network/applicationGateways/backendAddressPools",
                          {armQuote(names.gateway), "'instances'"})}}};
  }
  if (layout.peers) {
    props["loadBalancerBackendAddressPools"] = {
        {{"id", armIdExpr("Microsoft.Network/loadBalancers/backendAddressPools",
                          {armQuote(names.peer_lb), "'instances'"})}}};
  }
  // Each instance reaches the internet (artifacts, Key Vault, the peers) through its own
  // address; the NSG admits only `ports`, the gateway and the peers.
  // Standard: Azure no longer creates Basic addresses, and Standard ones admit nothing inbound
  // that the NSG does not allow.
  props["publicIPAddressConfiguration"] = {{"name", "public"},
                                           {"sku", {{"name", "Standard"}, {"tier", "Regional"}}},
                                           {"properties", {{"idleTimeoutInMinutes", 15}}}};
  return {{"name", "ipconfig"}, {"properties", std::move(props)}};
}

Json dependencies(const model::App& app, const std::vector<ServiceNames>& names,
                  const Layout& layout) {
  const CoreNames core = coreNames(app);
  Json deps = {armIdExpr("Microsoft.Network/virtualNetworks", {armQuote(core.vnet)})};
  if (layout.routes)
    deps.push_back(armIdExpr("Microsoft.Network/applicationGateways", {armQuote(core.gateway)}));
  if (layout.peers)
    deps.push_back(armIdExpr("Microsoft.Network/loadBalancers", {armQuote(core.peer_lb)}));
  if (layout.keyVault())
    deps.push_back(armIdExpr("Microsoft.KeyVault/vaults", {armVar(kKeyVaultVar)}));
  if (layout.peers) {
    // The instances read these at start-up.
    for (const PeerSecret& s : kPeerSecrets)
      deps.push_back(peerSecretId(s));
  }
  if (layout.databases()) {
    for (std::size_t i = 0; i < app.services.size(); ++i) {
      const auto* db = std::get_if<model::DatabaseSpec>(&app.services[i].spec);
      if (db != nullptr)
        deps.push_back(armIdExpr(serverType(db->engine), {armVar(serverVar(names[i]))}));
    }
  }
  if (layout.storage)
    deps.push_back(armIdExpr("Microsoft.Storage/storageAccounts", {armVar(kStorageVar)}));
  return deps;
}

Json cpuRule(const std::string& vmss_id, std::string_view op, int threshold,
             std::string_view direction) {
  return {
      {"metricTrigger",
       {{"metricName", "Percentage CPU"},
        {"metricResourceUri", vmss_id},
        {"timeGrain", "PT1M"},
        {"statistic", "Average"},
        {"timeWindow", "PT5M"},
        {"timeAggregation", "Average"},
        {"operator", op},
        {"threshold", threshold}}},
      {"scaleAction",
       {{"direction", direction}, {"type", "ChangeCount"}, {"value", "1"}, {"cooldown", "PT5M"}}}};
}

} // namespace

void addCompute(ArmTemplate& t, const model::App& app, const model::Target& self,
                const Layout& layout, const Json& custom_data) {
  if (!layout.compute) return;
  const model::Compute& compute = *app.compute;
  const CoreNames names = coreNames(app);
  const std::vector<ServiceNames> services = serviceNames(app);
  Json os = {{"computerNamePrefix", computerNamePrefix(app)},
             {"adminUsername", "exoflow"},
             {"customData", custom_data},
             {"linuxConfiguration",
              {{"disablePasswordAuthentication", true},
               {"ssh",
                {{"publicKeys",
                  {{{"path", "/home/exoflow/.ssh/authorized_keys"},
                    {"keyData", armExpr(armParam("adminSshPublicKey"))}}}}}}}}};
  Json storage = {{"imageReference",
                   {{"publisher", "Canonical"},
                    {"offer", "ubuntu-24_04-lts"},
                    {"sku", "server"},
                    {"version", "latest"}}},
                  {"osDisk",
                   {{"createOption", "FromImage"},
                    {"caching", "ReadWrite"},
                    {"managedDisk", {{"storageAccountType", "StandardSSD_LRS"}}}}}};
  Json network = {
      {"networkInterfaceConfigurations",
       {{{"name", "nic"},
         {"properties",
          {{"primary", true}, {"ipConfigurations", {ipConfiguration(app, layout)}}}}}}}};
  t.addResource(
      {{"type", "Microsoft.Compute/virtualMachineScaleSets"},
       {"apiVersion", api::kCompute},
       {"name", names.vmss},
       {"location", self.region},
       {"sku",
        {{"name", computeSize(compute.size).azure_vm_size},
         {"tier", "Standard"},
         {"capacity", compute.scale.min}}},
       {"identity",
        {{"type", "UserAssigned"},
         {"userAssignedIdentities", {{armExpr(armParam("identityId")), Json::object()}}}}},
       {"properties",
        {{"orchestrationMode", "Uniform"},
         {"overprovision", false},
         {"upgradePolicy", {{"mode", "Automatic"}}},
         {"virtualMachineProfile",
          {{"osProfile", std::move(os)},
           {"storageProfile", std::move(storage)},
           {"networkProfile", std::move(network)}}}}},
       {"dependsOn", dependencies(app, services, layout)}});

  const std::string vmss_id =
      armIdExpr("Microsoft.Compute/virtualMachineScaleSets", {armQuote(names.vmss)});
  const std::string capacity_min = std::to_string(compute.scale.min);
  t.addResource({{"type", "Microsoft.Insights/autoscalesettings"},
                 {"apiVersion", api::kInsights},
                 {"name", names.autoscale},
                 {"location", self.region},
                 {"properties",
                  {{"name", names.autoscale},
                   {"enabled", true},
                   {"targetResourceUri", vmss_id},
                   {"profiles",
                    {{{"name", "cpu"},
                      {"capacity",
                       {{"minimum", capacity_min},
                        {"maximum", std::to_string(compute.scale.max)},
                        {"default", capacity_min}}},
                      {"rules",
                       {cpuRule(vmss_id, "GreaterThan", compute.scale.cpu, "Increase"),
                        cpuRule(vmss_id, "LessThan", std::max(compute.scale.cpu - kScaleInGap, 1),
                                "Decrease")}}}}}}},
                 {"dependsOn", {vmss_id}}});
  t.addOutput("scaleSetName", "string", names.vmss);
}

} // namespace exoflow::synth::azure
