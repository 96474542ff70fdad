#include <array>
#include <set>

#include <fmt/format.h>

#include "synth/aws/aws.h"
#include "synth/naming.h"
#include "synth/proxy_config.h"
#include "synth/sizes.h"

namespace exoflow::synth::aws {

namespace {

constexpr std::string_view kVpcCidr = "10.0.0.0/16";
constexpr std::array<std::string_view, 2> kPublicCidrs = {"10.0.0.0/20", "10.0.16.0/20"};
constexpr std::array<std::string_view, 2> kPrivateCidrs = {"10.0.128.0/20", "10.0.144.0/20"};
constexpr int kPeerPort = 7443;

Json nameTag(std::string_view name) {
  return Json::array(
      {{{"Key", "Name"}, {"Value", sub(fmt::format("${{AWS::StackName}}-{}", name))}}});
}

void addSubnet(CfnTemplate& t, const std::string& id, std::string_view cidr, int zone,
               bool public_ips) {
  Json props = {
      {"VpcId", cfnRef("Vpc")}, {"CidrBlock", cidr}, {"AvailabilityZone", availabilityZone(zone)}};
  if (public_ips) props["MapPublicIpOnLaunch"] = true;
  props["Tags"] = nameTag(id);
  t.addResource(id, "AWS::EC2::Subnet", std::move(props));
}

void associate(CfnTemplate& t, const std::string& subnet, const std::string& table) {
  t.addResource(subnet + "RouteTableAssociation", "AWS::EC2::SubnetRouteTableAssociation",
                {{"SubnetId", cfnRef(subnet)}, {"RouteTableId", cfnRef(table)}});
}

Json ingress(std::string_view protocol, int from, int to, std::string_view description) {
  return {
      {"IpProtocol", protocol}, {"FromPort", from}, {"ToPort", to}, {"Description", description}};
}

} // namespace

void addParameters(CfnTemplate& t, const model::App& app, const model::Target& self) {
  const Layout layout = layoutOf(app);
  if (!layout.compute) return;
  t.addParameter("ArtifactKey",
                 {{"Type", "String"},
                  {"Default", artifactPrefix(app) + "app.tar.gz"},
                  {"Description", "Key of the packaged app (compute.artifact) in ArtifactBucket"}});
  if (!app.services.empty()) {
    t.addParameter("ProxyKey", {{"Type", "String"},
                                {"Default", artifactPrefix(app) + "exo-proxy"},
                                {"Description", "Key of the exo-proxy binary in ArtifactBucket"}});
  }
  t.addParameter(
      "LatestAmiId",
      {{"Type", "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>"},
       {"Default", "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"},
       {"Description", "Public SSM parameter naming the latest Amazon Linux 2023 image"}});
  if (!layout.peers) return;
  addPeerSecretParameters(t, self);
  for (const model::Target& t2 : app.targets) {
    if (&t2 == &self) continue;
    t.addParameter(
        "Peer" + logicalId(peerName(t2)) + "Url",
        {{"Type", "String"},
         {"Default", fmt::format("https://{}.peers.invalid:{}", peerName(t2), kPeerPort)},
         {"AllowedPattern", "^https://.+$"},
         {"Description", fmt::format("Peer endpoint of the proxies of {} {} (its stack's "
                                     "PeerEndpoint output)",
                                     model::cloudName(t2.cloud), t2.region)}});
  }
}

void addNetwork(CfnTemplate& t, const Layout& layout) {
  if (!layout.network) return;
  t.addResource("Vpc", "AWS::EC2::VPC",
                {{"CidrBlock", kVpcCidr},
                 {"EnableDnsHostnames", true},
                 {"EnableDnsSupport", true},
                 {"Tags", nameTag("vpc")}});
  const bool public_subnets = layout.compute;
  const bool private_subnets = layout.databases || layout.nat;
  if (public_subnets) {
    t.addResource("InternetGateway", "AWS::EC2::InternetGateway", {{"Tags", nameTag("igw")}});
    t.addResource("VpcGatewayAttachment", "AWS::EC2::VPCGatewayAttachment",
                  {{"VpcId", cfnRef("Vpc")}, {"InternetGatewayId", cfnRef("InternetGateway")}});
    t.addResource("PublicRouteTable", "AWS::EC2::RouteTable",
                  {{"VpcId", cfnRef("Vpc")}, {"Tags", nameTag("public")}});
    t.addResource("PublicDefaultRoute", "AWS::EC2::Route",
                  {{"RouteTableId", cfnRef("PublicRouteTable")},
                   {"DestinationCidrBlock", "0.0.0.0/0"},
                   {"GatewayId", cfnRef("InternetGateway")}},
                  {{"DependsOn", "VpcGatewayAttachment"}});
    for (int i = 0; i < 2; ++i) {
      const std::string subnet = fmt::format("PublicSubnet{}", i + 1);
      addSubnet(t, subnet, kPublicCidrs[i], i, true);
      associate(t, subnet, "PublicRouteTable");
    }
  }
  if (!private_subnets) return;
  for (int i = 0; i < 2; ++i) {
    const std::string subnet = fmt::format("PrivateSubnet{}", i + 1);
    const std::string table = fmt::format("PrivateRouteTable{}", i + 1);
    addSubnet(t, subnet, kPrivateCidrs[i], i, false);
    t.addResource(table, "AWS::EC2::RouteTable",
                  {{"VpcId", cfnRef("Vpc")}, {"Tags", nameTag(fmt::format("private-{}", i + 1))}});
    associate(t, subnet, table);
    if (!layout.nat) continue;
    // One NAT gateway per zone: private egress survives the loss of a zone.
    const std::string eip = fmt::format("NatAddress{}", i + 1);
    const std::string nat = fmt::format("NatGateway{}", i + 1);
    t.addResource(eip, "AWS::EC2::EIP", {{"Domain", "vpc"}},
                  {{"DependsOn", "VpcGatewayAttachment"}});
    t.addResource(nat, "AWS::EC2::NatGateway",
                  {{"AllocationId", getAtt(eip, "AllocationId")},
                   {"SubnetId", cfnRef(fmt::format("PublicSubnet{}", i + 1))},
                   {"Tags", nameTag(fmt::format("nat-{}", i + 1))}});
    t.addResource(fmt::format("PrivateDefaultRoute{}", i + 1), "AWS::EC2::Route",
                  {{"RouteTableId", cfnRef(table)},
                   {"DestinationCidrBlock", "0.0.0.0/0"},
                   {"NatGatewayId", cfnRef(nat)}});
  }
}

void addSecurityGroups(CfnTemplate& t, const model::App& app, const Layout& layout) {
  if (layout.routes) {
    Json http = ingress("tcp", 80, 80, "HTTP from anywhere to the load balancer");
    http["CidrIp"] = "0.0.0.0/0";
    t.addResource("LoadBalancerSecurityGroup", "AWS::EC2::SecurityGroup",
                  {{"GroupDescription", "Load balancer of the app routes"},
                   {"VpcId", cfnRef("Vpc")},
                   {"SecurityGroupIngress", Json::array({http})}});
  }
  if (layout.compute) {
    Json rules = Json::array();
    if (layout.routes) {
      std::set<int> ports = {app.compute->port}; // the health checks probe compute.port
      for (const model::Route& r : app.routes)
        ports.insert(r.port);
      for (int port : ports) {
        Json rule = ingress("tcp", port, port, "From the load balancer");
        rule["SourceSecurityGroupId"] = getAtt("LoadBalancerSecurityGroup", "GroupId");
        rules.push_back(std::move(rule));
      }
    }
    for (std::size_t i = 0; i < app.ports.size(); ++i) {
      const model::PortRule& p = app.ports[i];
      Json rule = ingress(p.protocol == model::Protocol::kTcp ? "tcp" : "udp", p.from_port,
                          p.to_port, fmt::format("ports[{}]", i));
      rule[p.ipv6 ? "CidrIpv6" : "CidrIp"] = p.cidr;
      rules.push_back(std::move(rule));
    }
    if (layout.peers) {
      Json rule = ingress("tcp", kPeerPort, kPeerPort, "Peer proxies (mutual TLS)");
      rule["CidrIp"] = "0.0.0.0/0";
      rules.push_back(std::move(rule));
    }
    Json props = {{"GroupDescription", "Instances of the app"}, {"VpcId", cfnRef("Vpc")}};
    if (!rules.empty()) props["SecurityGroupIngress"] = std::move(rules);
    t.addResource("InstanceSecurityGroup", "AWS::EC2::SecurityGroup", std::move(props));
  }
  if (!layout.databases) return;
  std::set<int> engine_ports;
  for (const model::Service& s : app.services) {
    if (const auto* db = std::get_if<model::DatabaseSpec>(&s.spec)) {
      engine_ports.insert(enginePort(db->engine));
    }
  }
  Json props = {{"GroupDescription", "Databases, reachable from the app instances only"},
                {"VpcId", cfnRef("Vpc")}};
  if (layout.compute) {
    Json rules = Json::array();
    for (int port : engine_ports) {
      Json rule = ingress("tcp", port, port, "From the app instances");
      rule["SourceSecurityGroupId"] = getAtt("InstanceSecurityGroup", "GroupId");
      rules.push_back(std::move(rule));
    }
    props["SecurityGroupIngress"] = std::move(rules);
  }
  t.addResource("DatabaseSecurityGroup", "AWS::EC2::SecurityGroup", std::move(props));
  t.addResource("DatabaseSubnetGroup", "AWS::RDS::DBSubnetGroup",
                {{"DBSubnetGroupDescription", "Private subnets of the app's databases"},
                 {"SubnetIds", Json::array({cfnRef("PrivateSubnet1"), cfnRef("PrivateSubnet2")})}});
}

} // namespace exoflow::synth::aws
