#include "synth/azure/global.h"

#include <fmt/format.h>

#include "synth/azure/azure.h"
#include "synth/naming.h"
#include "synth/proxy_config.h"

namespace exoflow::synth::azure {

namespace {

constexpr std::int64_t kMillisPerSecond = 1000;

Json endpoint(const model::App& app, const model::Target& target, std::size_t index) {
  const bool priority = app.failover->mode == model::FailoverMode::kActivePassive;
  Json props = {{"endpointStatus", "Enabled"}};
  if (priority) {
    props["priority"] = index + 1;
  } else {
    props["weight"] = 1;
  }
  std::string type = "Microsoft.Network/trafficManagerProfiles/externalEndpoints";
  if (target.cloud == model::Cloud::kAzure) {
    type = "Microsoft.Network/trafficManagerProfiles/azureEndpoints";
    // The gateway's public address in that target's resource group, from its app template.
    props["targetResourceId"] = armExpr(fmt::format(
        "resourceId({}, 'Microsoft.Network/publicIPAddresses', {})",
        armQuote(resourceGroupName(app, target.region)), armQuote(coreNames(app).gateway_ip)));
  } else {
    props["target"] = armExpr(armParam(externalEndpointParameter(target)));
  }
  return {{"name", peerName(target)}, {"type", type}, {"properties", std::move(props)}};
}

} // namespace

std::string externalEndpointParameter(const model::Target& target) {
  std::string id = logicalId(peerName(target));
  id[0] = static_cast<char>(id[0] - 'A' + 'a');
  return id + "Endpoint";
}

Json renderGlobal(const model::App& app) {
  const model::Failover& failover = *app.failover;
  ArmTemplate t(ArmScope::kResourceGroup,
                fmt::format("ExoFlow app {}: Traffic Manager over every target (written by "
                            "exoflow synth)",
                            app.name));
  Json endpoints = Json::array();
  for (std::size_t i = 0; i < app.targets.size(); ++i) {
    const model::Target& target = app.targets[i];
    if (target.cloud != model::Cloud::kAzure) {
      t.addParameter(
          externalEndpointParameter(target),
          {{"type", "string"},
           {"metadata",
            {{"description", fmt::format("The DNS name of {}'s load balancer (its app stack's "
                                         "LoadBalancerDnsName output)",
                                         peerName(target))}}}});
    }
    endpoints.push_back(endpoint(app, target, i));
  }
  const int interval = static_cast<int>(failover.health.interval / kMillisPerSecond);
  const std::string relative = uniqueName(failover.dns->name + "-",
                                          fmt::format("subscription().id, {}", armQuote(app.name)));
  t.addResource({{"type", "Microsoft.Network/trafficmanagerprofiles"},
                 {"apiVersion", api::kTrafficManager},
                 {"name", app.name + "-global"},
                 {"location", "global"},
                 {"properties",
                  {{"profileStatus", "Enabled"},
                   {"trafficRoutingMethod",
                    failover.mode == model::FailoverMode::kActivePassive ? "Priority" : "Weighted"},
                   {"dnsConfig", {{"relativeName", armExpr(relative)}, {"ttl", 30}}},
                   {"monitorConfig",
                    {{"protocol", "HTTP"},
                     {"port", 80},
                     {"path", failover.health.path},
                     {"intervalInSeconds", interval},
                     {"timeoutInSeconds", interval >= 30 ? 10 : 5},
                     {"toleratedNumberOfFailures", failover.health.threshold - 1}}},
                   {"endpoints", std::move(endpoints)}}}});
  const std::string profile =
      armResourceId("Microsoft.Network/trafficmanagerprofiles", {armQuote(app.name + "-global")});
  t.addOutput("fqdn", "string",
              armExpr(fmt::format("reference({}, {}).dnsConfig.fqdn", profile,
                                  armQuote(api::kTrafficManager))));
  t.addOutput("cnameFor", "string", fmt::format("{}.{}", failover.dns->name, failover.dns->domain));
  return t.toJson();
}

} // namespace exoflow::synth::azure
