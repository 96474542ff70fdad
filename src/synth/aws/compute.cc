#include <fmt/format.h>

#include "synth/aws/aws.h"
#include "synth/sizes.h"

namespace exoflow::synth::aws {

namespace {
constexpr int kLogRetentionDays = 30;
constexpr int kHealthGraceSeconds = 300;
} // namespace

void addCompute(CfnTemplate& t, const model::App& app, const model::Target& self,
                const Layout& layout, const std::vector<ServiceNames>& names, const UnitRefs& refs,
                const std::string& proxy_config, bool inline_proxy) {
  if (!layout.compute) return;
  const model::Compute& compute = *app.compute;
  t.addResource("LogGroup", "AWS::Logs::LogGroup",
                {{"LogGroupName", "/exoflow/" + app.name}, {"RetentionInDays", kLogRetentionDays}});
  if (layout.peers) addPeerSecret(t, app, self);
  addInstanceRole(t, app, self, names, refs);
  t.addResource(
      "LaunchTemplate", "AWS::EC2::LaunchTemplate",
      {{"LaunchTemplateData",
        {{"ImageId", cfnRef("LatestAmiId")},
         {"InstanceType", computeSize(compute.size).aws_instance_type},
         {"IamInstanceProfile", {{"Arn", getAtt("InstanceProfile", "Arn")}}},
         {"SecurityGroupIds", Json::array({getAtt("InstanceSecurityGroup", "GroupId")})},
         {"MetadataOptions", {{"HttpEndpoint", "enabled"}, {"HttpTokens", "required"}}},
         {"UserData", userData(app, self, names, refs, proxy_config, inline_proxy)},
         {"TagSpecifications",
          Json::array({{{"ResourceType", "instance"},
                        {"Tags", Json::array({{{"Key", "Name"},
                                               {"Value", sub("${AWS::StackName}")}}})}}})}}}});

  const std::string subnets = layout.instances_public ? "PublicSubnet" : "PrivateSubnet";
  Json groups = Json::array();
  for (std::size_t i = 0; i < app.routes.size(); ++i)
    groups.push_back(cfnRef(fmt::format("Route{}TargetGroup", i + 1)));
  if (layout.peers) groups.push_back(cfnRef("PeerTargetGroup"));
  Json props = {{"MinSize", std::to_string(compute.scale.min)},
                {"MaxSize", std::to_string(compute.scale.max)},
                {"LaunchTemplate",
                 {{"LaunchTemplateId", cfnRef("LaunchTemplate")},
                  {"Version", getAtt("LaunchTemplate", "LatestVersionNumber")}}},
                {"VPCZoneIdentifier", Json::array({cfnRef(subnets + "1"), cfnRef(subnets + "2")})},
                {"HealthCheckType", layout.routes ? "ELB" : "EC2"},
                {"HealthCheckGracePeriod", kHealthGraceSeconds}};
  if (!groups.empty()) props["TargetGroupARNs"] = std::move(groups);
  Json extra = {{"UpdatePolicy",
                 {{"AutoScalingRollingUpdate",
                   {{"MinInstancesInService", std::to_string(std::max(0, compute.scale.min - 1))},
                    {"MaxBatchSize", "1"},
                    {"PauseTime", "PT5M"}}}}}};
  // Instances in private subnets boot only once they have a way out.
  if (layout.nat)
    extra["DependsOn"] = Json::array({"PrivateDefaultRoute1", "PrivateDefaultRoute2"});
  t.addResource("AutoScalingGroup", "AWS::AutoScaling::AutoScalingGroup", std::move(props),
                std::move(extra));
  t.addResource(
      "CpuScalingPolicy", "AWS::AutoScaling::ScalingPolicy",
      {{"AutoScalingGroupName", cfnRef("AutoScalingGroup")},
       {"PolicyType", "TargetTrackingScaling"},
       {"TargetTrackingConfiguration",
        {{"PredefinedMetricSpecification", {{"PredefinedMetricType", "ASGAverageCPUUtilization"}}},
         {"TargetValue", compute.scale.cpu}}}});
  t.addOutput("AutoScalingGroupName", cfnRef("AutoScalingGroup"), "The app's auto scaling group");
  t.addOutput("LogGroupName", cfnRef("LogGroup"), "Log group of the app and its proxy");
}

} // namespace exoflow::synth::aws
