#include "synth/aws/app_stack.h"

#include <fmt/format.h>

#include "synth/aws/aws.h"
#include "synth/proxy_config.h"
#include "synth/sizes.h"

namespace exoflow::synth::aws {

namespace {

/// One template: the app stack reads a service's outputs from the unit's own values.
class InlineRefs : public UnitRefs {
public:
  explicit InlineRefs(const std::vector<ServiceUnit>& units) : units_(units) {}
  [[nodiscard]] Json output(std::size_t index, const std::string& output) const override {
    return units_[index].part.outputs().at(output).at("Value");
  }

private:
  const std::vector<ServiceUnit>& units_;
};

/// Nested stacks: the app stack reads a service's outputs from the stack that holds it.
class NestedRefs : public UnitRefs {
public:
  explicit NestedRefs(std::vector<std::string> stack_of) : stack_of_(std::move(stack_of)) {}
  [[nodiscard]] Json output(std::size_t index, const std::string& output) const override {
    return getAtt(stack_of_[index], "Outputs." + output);
  }

private:
  std::vector<std::string> stack_of_;
};

void addArtifactBucket(CfnTemplate& t) {
  t.addParameter("ArtifactBucket",
                 {{"Type", "String"},
                  {"Description", "The bootstrap stack's artifact bucket (its ArtifactBucketName "
                                  "output)"}});
}

/// Everything but the services.
void addCore(CfnTemplate& t, const model::App& app, const model::Target& self,
             const std::vector<ServiceNames>& names, const UnitRefs& refs, const AppStack& stack) {
  const Layout layout = layoutOf(app);
  addParameters(t, app, self);
  addNetwork(t, layout);
  addSecurityGroups(t, app, layout);
  addLoadBalancer(t, app, layout);
  addCompute(t, app, self, layout, names, refs, stack.proxy_config, stack.proxy_config_inline);
}

std::vector<ServiceUnit> renderUnits(const model::App& app, const std::vector<ServiceNames>& names,
                                     const Shared& shared) {
  std::vector<ServiceUnit> units;
  units.reserve(app.services.size());
  for (std::size_t i = 0; i < app.services.size(); ++i)
    units.push_back(renderService(app.services[i], names[i], shared));
  return units;
}

void copyUnit(CfnTemplate& to, const ServiceUnit& unit) {
  for (const auto& [id, resource] : unit.part.resources().items()) {
    Json extra = resource;
    extra.erase("Type");
    Json properties = extra.contains("Properties") ? extra["Properties"] : Json::object();
    extra.erase("Properties");
    to.addResource(id, resource["Type"].get<std::string>(), std::move(properties),
                   std::move(extra));
  }
  for (const auto& [name, output] : unit.part.outputs().items())
    to.addOutput(name, output["Value"], output["Description"].get<std::string>());
}

std::string description(const model::App& app, const model::Target& self) {
  return fmt::format("ExoFlow app {} on aws {}: network, load balancer, instances and services "
                     "(written by exoflow synth)",
                     app.name, self.region);
}

AppStack nestedStack(const model::App& app, const model::Target& self,
                     const std::vector<ServiceNames>& names, AppStack stack) {
  const Shared shared{cfnRef("DatabaseSubnetGroup"), cfnRef("DatabaseSecurityGroupId")};
  const std::vector<ServiceUnit> units = renderUnits(app, names, shared);

  // Services in manifest order, a new nested stack whenever the next would pass a quota.
  std::vector<std::string> stack_of(units.size());
  std::vector<CfnTemplate> parts;
  std::vector<bool> needs_network;
  for (std::size_t i = 0; i < units.size(); ++i) {
    const ServiceUnit& u = units[i];
    if (parts.empty() || parts.back().resourceCount() + u.part.resourceCount() > kCfnMaxResources ||
        parts.back().outputCount() + u.part.outputCount() > kCfnMaxOutputs) {
      parts.emplace_back(fmt::format("ExoFlow app {} on aws {}: services, part {}", app.name,
                                     self.region, parts.size() + 1));
      needs_network.push_back(false);
    }
    if (u.uses_database_network && !needs_network.back()) {
      needs_network.back() = true;
      parts.back().addParameter("DatabaseSubnetGroup",
                                {{"Type", "String"}, {"Description", "The app's DB subnet group"}});
      parts.back().addParameter("DatabaseSecurityGroupId",
                                {{"Type", "AWS::EC2::SecurityGroup::Id"},
                                 {"Description", "The app's database security group"}});
    }
    copyUnit(parts.back(), u);
    stack_of[i] = fmt::format("Services{}", parts.size());
  }

  CfnTemplate parent(description(app, self));
  addArtifactBucket(parent);
  const NestedRefs refs(stack_of);
  addCore(parent, app, self, names, refs, stack);
  for (std::size_t p = 0; p < parts.size(); ++p) {
    const std::string file = fmt::format("services-{}.json", p + 1);
    Json props = {
        {"TemplateURL",
         sub(fmt::format("https://${{ArtifactBucket}}.s3.${{AWS::Region}}.${{AWS::URLSuffix}}"
                         "/{}stacks/{}",
                         targetPrefix(app, self), file))}};
    if (needs_network[p]) {
      props["Parameters"] = {
          {"DatabaseSubnetGroup", cfnRef("DatabaseSubnetGroup")},
          {"DatabaseSecurityGroupId", getAtt("DatabaseSecurityGroup", "GroupId")}};
    }
    parent.addResource(fmt::format("Services{}", p + 1), "AWS::CloudFormation::Stack",
                       std::move(props));
    stack.nested.emplace_back(file, parts[p].toJson());
  }
  stack.parent = parent.toJson();
  return stack;
}

std::string_view awsRegionOf(const model::Target& t) {
  return t.region;
}

} // namespace

std::string targetPrefix(const model::App& app, const model::Target& self) {
  return fmt::format("{}{}/", artifactPrefix(app), peerName(self));
}

std::string awsProxyConfig(const model::App& app, const model::Target& self,
                           const std::vector<ServiceNames>& names) {
  ProxyTargetInfo info;
  info.data_dir = "/var/lib/exoflow/proxy";
  info.credentials = "aws: {source: imds}";
  const std::string region(awsRegionOf(self));
  info.local_backend = [&](const model::Service& s) {
    const std::size_t i = static_cast<std::size_t>(&s - app.services.data());
    const ServiceNames& n = names[i];
    if (std::holds_alternative<model::QueueSpec>(s.spec)) {
      return BackendEntry{"aws.sqs", {{"region", region}, {"queue", n.name}}};
    }
    if (std::holds_alternative<model::ObjectsSpec>(s.spec)) {
      return BackendEntry{"aws.s3",
                          {{"region", region}, {"bucket", n.name + "-${EXO_AWS_ACCOUNT_ID}"}}};
    }
    if (std::holds_alternative<model::KvSpec>(s.spec)) {
      return BackendEntry{"aws.dynamodb", {{"region", region}, {"table", n.name}}};
    }
    const auto& db = std::get<model::DatabaseSpec>(s.spec);
    const bool pg = db.engine == model::DbEngine::kPostgres;
    return BackendEntry{pg ? "local.postgres" : "local.mysql",
                        {{"host", "${" + databaseVariable(s, "HOST") + "}"},
                         {"port", std::to_string(enginePort(db.engine))},
                         {"database", n.database},
                         {"user", std::string(kDatabaseUser)},
                         {"password", "${" + databaseVariable(s, "PASSWORD") + "}"},
                         {"sslmode", "require"}}};
  };
  return renderProxyConfig(app, self, info);
}

namespace {

AppStack buildAppStack(const model::App& app, const model::Target& self,
                       const std::vector<ServiceNames>& names, AppStack stack) {

  const Shared shared{cfnRef("DatabaseSubnetGroup"), getAtt("DatabaseSecurityGroup", "GroupId")};
  const std::vector<ServiceUnit> units = renderUnits(app, names, shared);
  CfnTemplate t(description(app, self));
  if (layoutOf(app).compute) addArtifactBucket(t);
  const InlineRefs refs(units);
  addCore(t, app, self, names, refs, stack);
  std::size_t resources = t.resourceCount();
  std::size_t outputs = t.outputCount();
  for (const ServiceUnit& u : units) {
    resources += u.part.resourceCount();
    outputs += u.part.outputCount();
  }
  if (resources > kCfnMaxResources || outputs > kCfnMaxOutputs) {
    return nestedStack(app, self, names, std::move(stack));
  }
  for (const ServiceUnit& u : units)
    copyUnit(t, u);
  stack.parent = t.toJson();
  return stack;
}

std::size_t userDataSize(const AppStack& stack) {
  const Json& resources = stack.parent.at("Resources");
  if (!resources.contains("LaunchTemplate")) return 0;
  return resolvedUserDataSize(
      resources["LaunchTemplate"]["Properties"]["LaunchTemplateData"]["UserData"]);
}

} // namespace

tl::expected<AppStack, std::string> renderAppStack(const model::App& app,
                                                   const model::Target& self) {
  const std::vector<ServiceNames> names = serviceNames(app, self.region);
  AppStack stack;
  if (!app.services.empty()) stack.proxy_config = awsProxyConfig(app, self, names);
  stack.proxy_config_inline = stack.proxy_config.size() <= kInlineProxyConfigBytes;
  AppStack built = buildAppStack(app, self, names, stack);
  if (userDataSize(built) > kMaxUserDataBytes && stack.proxy_config_inline) {
    stack.proxy_config_inline = false; // the instances fetch it from the bootstrap bucket
    built = buildAppStack(app, self, names, stack);
  }
  if (const std::size_t size = userDataSize(built); size > kMaxUserDataBytes) {
    return tl::unexpected(fmt::format(
        "the instance start-up data for aws {} comes to about {} bytes, over EC2's {} bytes; "
        "each database adds about 600 bytes, so use fewer database services",
        self.region, size, kMaxUserDataBytes));
  }
  return built;
}

} // namespace exoflow::synth::aws
