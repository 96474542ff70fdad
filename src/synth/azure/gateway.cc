#include <set>

#include <fmt/format.h>

#include "synth/azure/azure.h"

namespace exoflow::synth::azure {

namespace {

/// {"id": resourceId of a part of the gateway}.
Json part(const std::string& gateway, std::string_view kind, std::string_view name) {
  return {{"id", armIdExpr(fmt::format("Microsoft.Network/applicationGateways/{}", kind),
                           {armQuote(gateway), armQuote(name)})}};
}

std::string settingsName(int port) {
  return fmt::format("port-{}", port);
}

} // namespace

void addGateway(ArmTemplate& t, const model::App& app, const model::Target& self,
                const Layout& layout) {
  if (!layout.routes) return;
  const model::Compute& compute = *app.compute;
  const CoreNames names = coreNames(app);
  const std::string& gw = names.gateway;
  std::set<int> ports{compute.port};
  for (const model::Route& r : app.routes)
    ports.insert(r.port);
  Json probes = Json::array();
  Json settings = Json::array();
  for (int port : ports) {
    // The probe asks each instance's app directly, on the port its routes use.
    probes.push_back({{"name", fmt::format("health-{}", port)},
                      {"properties",
                       {{"protocol", "Http"},
                        {"host", "127.0.0.1"},
                        {"port", port},
                        {"path", compute.health},
                        {"interval", 10},
                        {"timeout", 5},
                        {"unhealthyThreshold", 3},
                        {"match", {{"statusCodes", {"200-399"}}}}}}});
    settings.push_back({{"name", settingsName(port)},
                        {"properties",
                         {{"port", port},
                          {"protocol", "Http"},
                          {"cookieBasedAffinity", "Disabled"},
                          {"requestTimeout", 30},
                          {"probe", part(gw, "probes", fmt::format("health-{}", port))}}}});
  }
  Json path_rules = Json::array();
  for (std::size_t i = 0; i < app.routes.size(); ++i) {
    const model::Route& r = app.routes[i];
    path_rules.push_back({{"name", fmt::format("route-{}", i + 1)},
                          {"properties",
                           {{"paths", {r.path}},
                            {"backendAddressPool", part(gw, "backendAddressPools", "instances")},
                            {"backendHttpSettings",
                             part(gw, "backendHttpSettingsCollection", settingsName(r.port))}}}});
  }
  const std::string subnet_id = armIdExpr("Microsoft.Network/virtualNetworks/subnets",
                                          {armQuote(names.vnet), armQuote(kGatewaySubnet)});
  const std::string ip_id =
      armIdExpr("Microsoft.Network/publicIPAddresses", {armQuote(names.gateway_ip)});
  t.addResource(
      {{"type", "Microsoft.Network/applicationGateways"},
       {"apiVersion", api::kNetwork},
       {"name", gw},
       {"location", self.region},
       {"properties",
        {{"sku", {{"name", "Standard_v2"}, {"tier", "Standard_v2"}}},
         {"autoscaleConfiguration", {{"minCapacity", 1}, {"maxCapacity", 10}}},
         {"gatewayIPConfigurations",
          {{{"name", "gateway"}, {"properties", {{"subnet", {{"id", subnet_id}}}}}}}},
         {"frontendIPConfigurations",
          {{{"name", "public"}, {"properties", {{"publicIPAddress", {{"id", ip_id}}}}}}}},
         {"frontendPorts", {{{"name", "http"}, {"properties", {{"port", 80}}}}}},
         {"backendAddressPools", {{{"name", "instances"}}}},
         {"probes", std::move(probes)},
         {"backendHttpSettingsCollection", std::move(settings)},
         {"httpListeners",
          {{{"name", "http"},
            {"properties",
             {{"frontendIPConfiguration", part(gw, "frontendIPConfigurations", "public")},
              {"frontendPort", part(gw, "frontendPorts", "http")},
              {"protocol", "Http"}}}}}},
         {"urlPathMaps",
          {{{"name", "routes"},
            {"properties",
             {{"defaultBackendAddressPool", part(gw, "backendAddressPools", "instances")},
              {"defaultBackendHttpSettings",
               part(gw, "backendHttpSettingsCollection", settingsName(compute.port))},
              {"pathRules", std::move(path_rules)}}}}}},
         {"requestRoutingRules",
          {{{"name", "routes"},
            {"properties",
             {{"ruleType", "PathBasedRouting"},
              {"priority", 100},
              {"httpListener", part(gw, "httpListeners", "http")},
              {"urlPathMap", part(gw, "urlPathMaps", "routes")}}}}}}}},
       {"dependsOn",
        {armIdExpr("Microsoft.Network/virtualNetworks", {armQuote(names.vnet)}), ip_id}}});
}

} // namespace exoflow::synth::azure
