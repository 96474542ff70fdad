#include <fmt/format.h>

#include "synth/aws/aws.h"
#include "synth/aws/bootstrap.h"
#include "synth/naming.h"
#include "synth/proxy_config.h"

namespace exoflow::synth::aws {

namespace {

constexpr std::string_view kTtl = "60";

std::string endpointParameter(const model::Target& t) {
  return logicalId(peerName(t)) + "Endpoint";
}

Json cnameRecord(std::string_view name, const model::Target& t) {
  return {{"HostedZoneId", cfnRef("HostedZoneId")},
          {"Name", name},
          {"Type", "CNAME"},
          {"TTL", kTtl},
          {"SetIdentifier", peerName(t)},
          {"HealthCheckId", cfnRef(logicalId(peerName(t)) + "HealthCheck")},
          {"ResourceRecords", Json::array({cfnRef(endpointParameter(t))})}};
}

} // namespace

Json renderGlobal(const model::App& app) {
  const model::Failover& failover = *app.failover;
  const model::Dns& dns = *failover.dns;
  const std::string name = fmt::format("{}.{}.", dns.name, dns.domain);
  CfnTemplate t(fmt::format("ExoFlow DNS failover of app {} at {} across {} targets (written by "
                            "exoflow synth)",
                            app.name, name, app.targets.size()));
  t.addParameter("HostedZoneId", {{"Type", "AWS::Route53::HostedZone::Id"},
                                  {"Description", "The hosted zone of " + dns.domain}});
  for (const model::Target& target : app.targets) {
    t.addParameter(endpointParameter(target),
                   {{"Type", "String"},
                    {"Description",
                     fmt::format("DNS name of the app's public endpoint on {} {} (its app stack's "
                                 "load balancer, or another cloud's)",
                                 model::cloudName(target.cloud), target.region)}});
  }
  for (const model::Target& target : app.targets) {
    const std::string id = logicalId(peerName(target));
    t.addResource(id + "HealthCheck", "AWS::Route53::HealthCheck",
                  {{"HealthCheckConfig",
                    {{"Type", "HTTP"},
                     {"FullyQualifiedDomainName", cfnRef(endpointParameter(target))},
                     {"Port", 80},
                     {"ResourcePath", failover.health.path},
                     {"RequestInterval", failover.health.interval / 1000},
                     {"FailureThreshold", failover.health.threshold}}},
                   {"HealthCheckTags",
                    Json::array({{{"Key", "Name"},
                                  {"Value", fmt::format("{} {}", app.name, peerName(target))}}})}});
  }
  if (failover.mode == model::FailoverMode::kActiveActive) {
    for (const model::Target& target : app.targets) {
      Json record = cnameRecord(name, target);
      record["Weight"] = 1;
      t.addResource(logicalId(peerName(target)) + "Record", "AWS::Route53::RecordSet",
                    std::move(record));
    }
  } else {
    // Route 53 has one primary and one secondary per name, so a longer priority list is a
    // chain: each level's secondary is an alias of the next level's name.
    const std::size_t n = app.targets.size();
    for (std::size_t level = 0; level + 1 < n; ++level) {
      const std::string here = level == 0 ? name : fmt::format("failover-{}.{}", level, name);
      Json primary = cnameRecord(here, app.targets[level]);
      primary["Failover"] = "PRIMARY";
      t.addResource(fmt::format("Level{}PrimaryRecord", level + 1), "AWS::Route53::RecordSet",
                    std::move(primary));
      Json secondary;
      if (level + 2 == n) {
        secondary = cnameRecord(here, app.targets[level + 1]);
      } else {
        secondary = {{"HostedZoneId", cfnRef("HostedZoneId")},
                     {"Name", here},
                     {"Type", "CNAME"},
                     {"SetIdentifier", fmt::format("failover-{}", level + 1)},
                     {"AliasTarget",
                      {{"HostedZoneId", cfnRef("HostedZoneId")},
                       {"DNSName", fmt::format("failover-{}.{}", level + 1, name)},
                       {"EvaluateTargetHealth", true}}}};
      }
      secondary["Failover"] = "SECONDARY";
      t.addResource(fmt::format("Level{}SecondaryRecord", level + 1), "AWS::Route53::RecordSet",
                    std::move(secondary));
    }
  }
  t.addOutput("Url", Json(fmt::format("http://{}.{}/", dns.name, dns.domain)),
              "The app's address, which follows the healthy targets");
  return t.toJson();
}

} // namespace exoflow::synth::aws
