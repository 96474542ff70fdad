#include "synth/synth.h"

#include <fmt/format.h>

#include "synth/aws/app_stack.h"
#include "synth/aws/aws.h"
#include "synth/aws/bootstrap.h"
#include "synth/cfn_template.h"
#include "synth/naming.h"
#include "synth/proxy_config.h"

namespace exoflow::synth {

namespace {

bool hasCloud(const model::App& app, model::Cloud cloud) {
  for (const model::Target& t : app.targets) {
    if (t.cloud == cloud) return true;
  }
  return false;
}

/// How CloudFormation takes a template of this size: inline up to 51,200 bytes, else from
/// the bootstrap bucket.
std::string_view deployMode(std::size_t bytes) {
  return bytes <= kCfnMaxInlineBytes ? "inline" : "bucket";
}

Json stackEntry(std::string_view stack, std::string_view region, const std::string& file,
                const std::string& text, const Json& tmpl) {
  return {{"stack", stack},
          {"region", region},
          {"template", file},
          {"bytes", text.size()},
          {"resources", tmpl.at("Resources").size()},
          {"deploy", deployMode(text.size())}};
}

} // namespace

tl::expected<SynthOutput, SynthError> synthesizeAws(const model::App& app) {
  SynthOutput out;
  Json plan = {{"app", app.name}, {"artifact_prefix", aws::artifactPrefix(app)}};
  Json regions = Json::array();
  for (const model::Target& t : app.targets) {
    if (t.cloud == model::Cloud::kAws) regions.push_back(t.region);
  }

  const Json bootstrap = aws::renderBootstrap(app);
  const std::string bootstrap_text = dumpJson(bootstrap);
  out.files.push_back({"aws/bootstrap.json", bootstrap_text});
  Json boot = stackEntry(fitName(NameKind::kAwsStack, {app.name, "bootstrap"}), "",
                         "bootstrap.json", bootstrap_text, bootstrap);
  boot.erase("region");
  boot["regions"] = regions;
  plan["bootstrap"] = std::move(boot);

  Json stacks = Json::array();
  for (const model::Target& t : app.targets) {
    if (t.cloud != model::Cloud::kAws) continue;
    auto rendered = aws::renderAppStack(app, t);
    if (!rendered) return tl::unexpected(SynthError{"services", rendered.error()});
    aws::AppStack stack = std::move(*rendered);
    const std::string dir = "aws/" + t.region + "/";
    if (!stack.proxy_config.empty()) out.files.push_back({dir + "proxy.yaml", stack.proxy_config});
    Json entry;
    if (stack.parent.at("Resources").empty()) {
      out.notes.push_back(fmt::format("aws {}: the manifest asks for nothing to run there; no "
                                      "app stack",
                                      t.region));
    } else {
      const std::string text = dumpJson(stack.parent);
      out.files.push_back({dir + "app.json", text});
      entry = stackEntry(fitName(NameKind::kAwsStack, {app.name, "app"}), t.region,
                         t.region + "/app.json", text, stack.parent);
      if (entry["deploy"] == "bucket") {
        out.notes.push_back(fmt::format("aws {}: app.json is {} bytes, over CloudFormation's {} "
                                        "inline limit: deploy uploads it to the bootstrap bucket",
                                        t.region, text.size(), kCfnMaxInlineBytes));
      }
    }
    Json nested = Json::array();
    for (const auto& [file, tmpl] : stack.nested) {
      const std::string text = dumpJson(tmpl);
      std::string path = dir;
      path += "stacks/";
      path += file;
      out.files.push_back({std::move(path), text});
      nested.push_back({{"template", t.region + "/stacks/" + file},
                        {"key", aws::targetPrefix(app, t) + "stacks/" + file},
                        {"bytes", text.size()},
                        {"resources", tmpl.at("Resources").size()}});
    }
    if (!stack.nested.empty()) {
      out.notes.push_back(fmt::format("aws {}: more than {} resources or {} outputs; the services "
                                      "are split over {} nested stacks",
                                      t.region, kCfnMaxResources, kCfnMaxOutputs,
                                      stack.nested.size()));
    }
    if (entry.is_null()) continue;
    entry["nested"] = std::move(nested);
    if (!stack.proxy_config.empty()) {
      entry["proxy_config"] = {{"file", t.region + "/proxy.yaml"},
                               {"key", aws::targetPrefix(app, t) + "proxy.yaml"},
                               {"in_user_data", stack.proxy_config_inline}};
    }
    stacks.push_back(std::move(entry));
  }
  plan["stacks"] = std::move(stacks);

  if (app.failover && app.failover->dns &&
      app.failover->dns->provider == model::DnsProvider::kRoute53) {
    const Json global = aws::renderGlobal(app);
    const std::string text = dumpJson(global);
    out.files.push_back({"aws/global.json", text});
    plan["global"] = stackEntry(fitName(NameKind::kAwsStack, {app.name, "global"}),
                                aws::globalRegion(app), "global.json", text, global);
  }
  out.files.push_back({"aws/plan.json", dumpJson(plan)});
  return out;
}

tl::expected<SynthOutput, SynthError> synthesize(const model::App& app, TargetSet targets) {
  SynthOutput out;
  const bool aws = targets == TargetSet::kAws || targets == TargetSet::kAll;
  const bool azure = targets == TargetSet::kAzure || targets == TargetSet::kAll;
  const bool local = targets == TargetSet::kLocal || targets == TargetSet::kAll;
  if (targets == TargetSet::kAws && !hasCloud(app, model::Cloud::kAws)) {
    return tl::unexpected(SynthError{"targets", "the manifest has no aws target"});
  }
  if (targets == TargetSet::kAzure && !hasCloud(app, model::Cloud::kAzure)) {
    return tl::unexpected(SynthError{"targets", "the manifest has no azure target"});
  }
  if (aws && hasCloud(app, model::Cloud::kAws)) {
    auto part = synthesizeAws(app);
    if (!part) return tl::unexpected(part.error());
    out.files.insert(out.files.end(), part->files.begin(), part->files.end());
    out.notes.insert(out.notes.end(), part->notes.begin(), part->notes.end());
  }
  if (azure && hasCloud(app, model::Cloud::kAzure)) {
    auto part = synthesizeAzure(app);
    if (!part) return tl::unexpected(part.error());
    out.files.insert(out.files.end(), part->files.begin(), part->files.end());
    out.notes.insert(out.notes.end(), part->notes.begin(), part->notes.end());
  } else if (azure && app.failover && app.failover->dns &&
             app.failover->dns->provider == model::DnsProvider::kTrafficManager) {
    out.notes.emplace_back("failover.dns: trafficmanager needs an azure target to hold its "
                           "profile; no azure/global.json");
  }
  if (local && !app.services.empty()) {
    out.files.push_back({"local/proxy.yaml", renderLocalSynthProxyConfig(app)});
  }
  return out;
}

} // namespace exoflow::synth
