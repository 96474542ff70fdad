#include <fmt/format.h>

#include "synth/aws/aws.h"

namespace exoflow::synth::aws {

namespace {

constexpr int kPeerPort = 7443;

Json publicSubnets() {
  return Json::array({cfnRef("PublicSubnet1"), cfnRef("PublicSubnet2")});
}

void addPeerLoadBalancer(CfnTemplate& t) {
  // TCP straight through to the instances: the proxies authenticate each other with mutual
  // TLS, which a load balancer that ends TLS itself would break.
  t.addResource("PeerLoadBalancer", "AWS::ElasticLoadBalancingV2::LoadBalancer",
                {{"Type", "network"}, {"Scheme", "internet-facing"}, {"Subnets", publicSubnets()}});
  t.addResource("PeerTargetGroup", "AWS::ElasticLoadBalancingV2::TargetGroup",
                {{"VpcId", cfnRef("Vpc")},
                 {"Port", kPeerPort},
                 {"Protocol", "TCP"},
                 {"TargetType", "instance"},
                 {"HealthCheckProtocol", "TCP"}});
  t.addResource(
      "PeerListener", "AWS::ElasticLoadBalancingV2::Listener",
      {{"LoadBalancerArn", cfnRef("PeerLoadBalancer")},
       {"Port", kPeerPort},
       {"Protocol", "TCP"},
       {"DefaultActions",
        Json::array({{{"Type", "forward"}, {"TargetGroupArn", cfnRef("PeerTargetGroup")}}})}});
  t.addOutput("PeerEndpoint",
              sub(fmt::format("https://${{PeerLoadBalancer.DNSName}}:{}", kPeerPort)),
              "URL the other targets' proxies use to reach this target's proxies");
}

} // namespace

void addLoadBalancer(CfnTemplate& t, const model::App& app, const Layout& layout) {
  if (layout.peers) addPeerLoadBalancer(t);
  if (!layout.routes) return;
  const model::Compute& compute = *app.compute;
  t.addResource("LoadBalancer", "AWS::ElasticLoadBalancingV2::LoadBalancer",
                {{"Type", "application"},
                 {"Scheme", "internet-facing"},
                 {"Subnets", publicSubnets()},
                 {"SecurityGroups", Json::array({getAtt("LoadBalancerSecurityGroup", "GroupId")})},
                 {"LoadBalancerAttributes",
                  Json::array({{{"Key", "routing.http.drop_invalid_header_fields.enabled"},
                                {"Value", "true"}}})}});
  t.addResource("Listener", "AWS::ElasticLoadBalancingV2::Listener",
                {{"LoadBalancerArn", cfnRef("LoadBalancer")},
                 {"Port", 80},
                 {"Protocol", "HTTP"},
                 {"DefaultActions", Json::array({{{"Type", "fixed-response"},
                                                  {"FixedResponseConfig",
                                                   {{"StatusCode", "404"},
                                                    {"ContentType", "text/plain"},
                                                    {"MessageBody", "no route"}}}}})}});
  for (std::size_t i = 0; i < app.routes.size(); ++i) {
    const model::Route& route = app.routes[i];
    const std::string group = fmt::format("Route{}TargetGroup", i + 1);
    t.addResource(
        group, "AWS::ElasticLoadBalancingV2::TargetGroup",
        {{"VpcId", cfnRef("Vpc")},
         {"Port", route.port},
         {"Protocol", "HTTP"},
         {"TargetType", "instance"},
         {"HealthCheckProtocol", "HTTP"},
         {"HealthCheckPath", compute.health},
         {"HealthCheckPort", std::to_string(compute.port)},
         {"Matcher", {{"HttpCode", "200"}}},
         {"TargetGroupAttributes",
          Json::array({{{"Key", "deregistration_delay.timeout_seconds"}, {"Value", "30"}}})}});
    t.addResource(
        fmt::format("Route{}ListenerRule", i + 1), "AWS::ElasticLoadBalancingV2::ListenerRule",
        {{"ListenerArn", cfnRef("Listener")},
         {"Priority", static_cast<int>(i + 1)},
         {"Conditions",
          Json::array({{{"Field", "path-pattern"},
                        {"PathPatternConfig", {{"Values", Json::array({route.path})}}}}})},
         {"Actions", Json::array({{{"Type", "forward"}, {"TargetGroupArn", cfnRef(group)}}})}});
  }
  t.addOutput("LoadBalancerDnsName", getAtt("LoadBalancer", "DNSName"),
              "DNS name of the app's load balancer (the endpoint the DNS layer checks)");
  t.addOutput("LoadBalancerUrl", sub("http://${LoadBalancer.DNSName}/"), "URL of the app's routes");
}

} // namespace exoflow::synth::aws
