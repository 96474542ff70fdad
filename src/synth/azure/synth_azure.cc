// synthesizeAzure(): the Azure files of an app and the plan that says how to deploy them.
#include <fmt/format.h>

#include "synth/azure/app_template.h"
#include "synth/azure/azure.h"
#include "synth/azure/bootstrap.h"
#include "synth/azure/global.h"
#include "synth/sizes.h"
#include "synth/synth.h"

namespace exoflow::synth {

namespace {

Json entry(std::string_view deployment, const std::string& file, const std::string& text,
           const Json& tmpl) {
  return {{"deployment", deployment},
          {"template", file},
          {"bytes", text.size()},
          {"resources", tmpl.at("resources").size()}};
}

Json parameterNames(const Json& tmpl) {
  Json names = Json::array();
  if (!tmpl.contains("parameters")) return names;
  for (const auto& [name, spec] : tmpl.at("parameters").items()) {
    if (!spec.contains("defaultValue")) names.push_back(name);
  }
  return names;
}

/// A database version Azure does not offer fails at its manifest field.
std::optional<SynthError> unsupported(const model::App& app, const std::string& region) {
  for (const model::Service& s : app.services) {
    const auto* db = std::get_if<model::DatabaseSpec>(&s.spec);
    if (db == nullptr || !engineVersion(db->engine, db->version)->azure_version.empty()) continue;
    std::string offered;
    for (const EngineVersion& v : engineVersions()) {
      if (v.engine != db->engine || v.azure_version.empty()) continue;
      offered += offered.empty() ? "" : ", ";
      offered += v.version;
    }
    return SynthError{fmt::format("services.{}.version", s.name),
                      fmt::format("{} {} is not offered by Azure's flexible servers (azure {} is a "
                                  "target); Azure offers {}",
                                  model::engineName(db->engine), db->version, region, offered)};
  }
  return std::nullopt;
}

} // namespace

tl::expected<SynthOutput, SynthError> synthesizeAzure(const model::App& app) {
  SynthOutput out;
  const std::vector<std::string> regions = azure::azureRegions(app);
  if (regions.empty())
    return tl::unexpected(SynthError{"targets", "the manifest has no azure target"});
  if (auto error = unsupported(app, regions.front())) return tl::unexpected(*error);
  Json plan = {{"app", app.name},
               {"artifact_prefix", azure::artifactPrefix(app)},
               {"artifact_container", azure::kArtifactContainer}};

  const Json bootstrap = azure::renderBootstrap(app);
  const std::string bootstrap_text = dumpJson(bootstrap);
  out.files.push_back({"azure/bootstrap.json", bootstrap_text});
  Json boot = entry(app.name + "-bootstrap", "bootstrap.json", bootstrap_text, bootstrap);
  boot["location"] = regions.front();
  boot["regions"] = regions;
  plan["bootstrap"] = std::move(boot);

  Json deployments = Json::array();
  for (const model::Target& t : app.targets) {
    if (t.cloud != model::Cloud::kAzure) continue;
    auto rendered = azure::renderAppTemplate(app, t);
    if (!rendered) return tl::unexpected(SynthError{"services", rendered.error()});
    const std::string dir = "azure/" + t.region + "/";
    if (!rendered->proxy_config.empty())
      out.files.push_back({dir + "proxy.yaml", rendered->proxy_config});
    out.notes.insert(out.notes.end(), rendered->notes.begin(), rendered->notes.end());
    if (rendered->tmpl.is_null()) {
      out.notes.push_back(fmt::format("azure {}: the manifest asks for nothing to run there; no "
                                      "app template",
                                      t.region));
      continue;
    }
    const std::string text = dumpJson(rendered->tmpl);
    if (text.size() > kArmMaxTemplateBytes) {
      return tl::unexpected(SynthError{
          "services", fmt::format("the app template for azure {} is {} bytes, over ARM's {}; use "
                                  "fewer services",
                                  t.region, text.size(), kArmMaxTemplateBytes)});
    }
    out.files.push_back({dir + "app.json", text});
    Json e = entry(app.name + "-app", t.region + "/app.json", text, rendered->tmpl);
    e["region"] = t.region;
    e["resource_group"] = azure::resourceGroupName(app, t.region);
    e["parameters"] = parameterNames(rendered->tmpl);
    if (!rendered->proxy_config.empty()) {
      e["proxy_config"] = {{"file", t.region + "/proxy.yaml"},
                           {"blob", azure::targetPrefix(app, t) + "proxy.yaml"},
                           {"in_custom_data", rendered->proxy_config_inline}};
    }
    deployments.push_back(std::move(e));
  }
  plan["deployments"] = std::move(deployments);

  const bool traffic_manager = app.failover && app.failover->dns &&
                               app.failover->dns->provider == model::DnsProvider::kTrafficManager;
  if (traffic_manager && (!app.compute || app.routes.empty())) {
    out.notes.emplace_back("failover.dns: trafficmanager needs routes (its endpoints are each "
                           "target's application gateway or load balancer); no azure/global.json");
  } else if (traffic_manager) {
    const Json global = azure::renderGlobal(app);
    const std::string text = dumpJson(global);
    out.files.push_back({"azure/global.json", text});
    Json g = entry(app.name + "-global", "global.json", text, global);
    g["resource_group"] = azure::resourceGroupName(app, regions.front());
    g["parameters"] = parameterNames(global);
    plan["global"] = std::move(g);
  }
  out.files.push_back({"azure/plan.json", dumpJson(plan)});
  return out;
}

} // namespace exoflow::synth
