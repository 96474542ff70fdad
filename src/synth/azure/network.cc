#include <set>

#include <fmt/format.h>

#include "synth/azure/azure.h"
#include "synth/naming.h"

namespace exoflow::synth::azure {

namespace {

constexpr int kPeerPort = 7443;

Json subnet(std::string_view name, std::string_view prefix) {
  return {{"name", name}, {"properties", {{"addressPrefix", prefix}}}};
}

Json delegatedSubnet(std::string_view name, std::string_view prefix, std::string_view service) {
  Json s = subnet(name, prefix);
  s["properties"]["delegations"] =
      Json::array({{{"name", name}, {"properties", {{"serviceName", service}}}}});
  return s;
}

std::string portRange(int from, int to) {
  return from == to ? std::to_string(from) : fmt::format("{}-{}", from, to);
}

Json rule(std::string_view name, int priority, std::string_view protocol, std::string_view source,
          Json ports) {
  Json props = {
      {"priority", priority},           {"direction", "Inbound"},        {"access", "Allow"},
      {"protocol", protocol},           {"sourceAddressPrefix", source}, {"sourcePortRange", "*"},
      {"destinationAddressPrefix", "*"}};
  if (ports.is_array()) {
    props["destinationPortRanges"] = std::move(ports);
  } else {
    props["destinationPortRange"] = std::move(ports);
  }
  return {{"name", name}, {"properties", std::move(props)}};
}

/// `ports` of the manifest, the gateway's traffic to the app, and peers.
Json securityRules(const model::App& app, const Layout& layout) {
  Json rules = Json::array();
  int priority = 100;
  for (std::size_t i = 0; i < app.ports.size(); ++i) {
    const model::PortRule& p = app.ports[i];
    rules.push_back(rule(fmt::format("port-{}", i + 1), priority++,
                         p.protocol == model::Protocol::kUdp ? "Udp" : "Tcp", p.cidr,
                         portRange(p.from_port, p.to_port)));
  }
  if (layout.routes) {
    std::set<int> ports{app.compute->port};
    for (const model::Route& r : app.routes)
      ports.insert(r.port);
    Json list = Json::array();
    for (int port : ports)
      list.push_back(std::to_string(port));
    rules.push_back(rule("gateway-to-app", 1000, "Tcp", kGatewayPrefix, std::move(list)));
  }
  if (layout.peers)
    rules.push_back(rule("peers", 1010, "Tcp", "Internet", std::to_string(kPeerPort)));
  return rules;
}

Json publicIp(std::string_view name, std::string_view region, std::string_view label) {
  return {{"type", "Microsoft.Network/publicIPAddresses"},
          {"apiVersion", api::kNetwork},
          {"name", name},
          {"location", region},
          {"sku", {{"name", "Standard"}, {"tier", "Regional"}}},
          {"properties",
           {{"publicIPAllocationMethod", "Static"},
            {"publicIPAddressVersion", "IPv4"},
            {"dnsSettings",
             {{"domainNameLabel",
               armExpr(uniqueName(std::string(label) + "-", "resourceGroup().id"))}}}}}};
}

} // namespace

void addNetwork(ArmTemplate& t, const model::App& app, const model::Target& self,
                const Layout& layout) {
  if (!layout.network()) return;
  const CoreNames names = coreNames(app);
  Json subnets = Json::array();
  Json depends = Json::array();
  if (layout.compute) {
    t.addResource({{"type", "Microsoft.Network/networkSecurityGroups"},
                   {"apiVersion", api::kNetwork},
                   {"name", names.nsg},
                   {"location", self.region},
                   {"properties", {{"securityRules", securityRules(app, layout)}}}});
    Json app_subnet = subnet(kAppSubnet, "10.0.1.0/24");
    app_subnet["properties"]["networkSecurityGroup"] = {
        {"id", armIdExpr("Microsoft.Network/networkSecurityGroups", {armQuote(names.nsg)})}};
    subnets.push_back(std::move(app_subnet));
    depends.push_back(armIdExpr("Microsoft.Network/networkSecurityGroups", {armQuote(names.nsg)}));
  }
  if (layout.routes) subnets.push_back(subnet(kGatewaySubnet, kGatewayPrefix));
  if (layout.postgres) {
    subnets.push_back(delegatedSubnet(kPostgresSubnet, "10.0.3.0/24",
                                      "Microsoft.DBforPostgreSQL/flexibleServers"));
  }
  if (layout.mysql) {
    subnets.push_back(
        delegatedSubnet(kMysqlSubnet, "10.0.4.0/24", "Microsoft.DBforMySQL/flexibleServers"));
  }
  Json vnet = {{"type", "Microsoft.Network/virtualNetworks"},
               {"apiVersion", api::kNetwork},
               {"name", names.vnet},
               {"location", self.region},
               {"properties",
                {{"addressSpace", {{"addressPrefixes", {"10.0.0.0/16"}}}},
                 {"subnets", std::move(subnets)}}}};
  if (!depends.empty()) vnet["dependsOn"] = std::move(depends);
  t.addResource(std::move(vnet));
  if (layout.routes) t.addResource(publicIp(names.gateway_ip, self.region, app.name));
}

void addPeerBalancer(ArmTemplate& t, const model::App& app, const model::Target& self) {
  const CoreNames names = coreNames(app);
  t.addResource(publicIp(names.peer_ip, self.region, app.name + "-peer"));
  const std::string lb = armQuote(names.peer_lb);
  auto child = [&](std::string_view kind, std::string_view name) {
    return Json{{"id", armIdExpr(fmt::format("Microsoft.Network/loadBalancers/{}", kind),
                                 {lb, armQuote(name)})}};
  };
  Json rule_props = {{"frontendIPConfiguration", child("frontendIPConfigurations", "peer")},
                     {"backendAddressPool", child("backendAddressPools", "instances")},
                     {"probe", child("probes", "peer")},
                     {"protocol", "Tcp"},
                     {"frontendPort", kPeerPort},
                     {"backendPort", kPeerPort},
                     {"idleTimeoutInMinutes", 15},
                     {"disableOutboundSnat", true}};
  t.addResource(
      {{"type", "Microsoft.Network/loadBalancers"},
       {"apiVersion", api::kNetwork},
       {"name", names.peer_lb},
       {"location", self.region},
       {"sku", {{"name", "Standard"}, {"tier", "Regional"}}},
       {"properties",
        {{"frontendIPConfigurations",
          {{{"name", "peer"},
            {"properties",
             {{"publicIPAddress",
               {{"id", armIdExpr("Microsoft.Network/publicIPAddresses",
                                 {armQuote(names.peer_ip)})}}}}}}}},
         {"backendAddressPools", {{{"name", "instances"}}}},
         {"probes",
          {{{"name", "peer"},
            {"properties",
             {{"protocol", "Tcp"},
              {"port", kPeerPort},
              {"intervalInSeconds", 5},
              {"numberOfProbes", 2}}}}}},
         {"loadBalancingRules", {{{"name", "peer"}, {"properties", std::move(rule_props)}}}}}},
       {"dependsOn",
        {armIdExpr("Microsoft.Network/publicIPAddresses", {armQuote(names.peer_ip)})}}});
}

} // namespace exoflow::synth::azure
