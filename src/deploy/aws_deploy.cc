#include "deploy/aws_deploy.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "deploy/peer_files.h"
#include "deploy/process.h"
#include "synth/peer_parameters.h"

namespace exoflow::deploy {

namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

tl::expected<Json, std::string> readJsonFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return tl::unexpected("cannot read " + path.string());
  std::stringstream text;
  text << in.rdbuf();
  Json j = Json::parse(text.str(), nullptr, false);
  if (j.is_discarded()) return tl::unexpected(path.string() + " is not JSON");
  return j;
}

std::string str(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

AwsStack stackOf(const fs::path& aws_dir, const Json& entry, const std::string& region) {
  AwsStack s;
  s.name = str(entry, "stack");
  s.region = region;
  s.template_rel = str(entry, "template");
  s.template_file = aws_dir / s.template_rel;
  s.inline_body = str(entry, "deploy") != "bucket";
  s.entry = entry;
  return s;
}

/// "aws-us-east-1" -> "AwsUsEast1", as the global template names its parameters.
std::string pascal(const std::string& text) {
  std::string out;
  bool upper = true;
  for (const char c : text) {
    if (c == '-') {
      upper = true;
      continue;
    }
    out += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
    upper = false;
  }
  return out;
}

std::string typeOf(const Json& resources, const std::string& id) {
  return str(resources.at(id), "Type");
}

std::string templateKey(const AwsDeployPlan& plan, const AwsStack& s) {
  return plan.artifact_prefix + "templates/" + s.template_rel;
}

std::string templateUrl(const AwsCli& cli, const std::string& bucket, const std::string& region,
                        const std::string& key) {
  const std::string& endpoint = cli.options().endpoint_url;
  if (!endpoint.empty()) return endpoint + "/" + bucket + "/" + key;
  return "https://" + bucket + ".s3." + region + ".amazonaws.com/" + key;
}

void printOutputs(const AwsCli& cli, const AwsStack& s, const StackResult& r) {
  if (r.outputs.empty()) return;
  cli.options().print(s.name + " (" + s.region + ") outputs:");
  for (const auto& [key, value] : r.outputs)
    cli.options().print(fmt::format("  {} = {}", key, value));
}

tl::expected<StackResult, std::string> deployStack(const AwsCli& cli, const AwsStack& stack,
                                                   const std::map<std::string, std::string>& params,
                                                   const std::string& url = {},
                                                   const std::set<std::string>& secrets = {}) {
  StackRequest request;
  request.name = stack.name;
  request.region = stack.region;
  if (url.empty()) {
    request.template_body_file = stack.template_file.string();
  } else {
    request.template_url = url;
  }
  request.parameters = params;
  request.secret_parameters = secrets;
  return cli.deployStack(request);
}

/// The peer files of the app stacks whose templates take them, by region. A missing token is
/// written (a dry run only says it would be): one token for the whole app.
tl::expected<std::map<std::string, PeerFiles>, std::string>
peerFilesOf(const AwsDeployPlan& plan, const DeployOptions& options, const AwsCli& cli) {
  std::map<std::string, PeerFiles> by_region;
  bool noted = false;
  for (const AwsStack& s : plan.apps) {
    auto tmpl = readJsonFile(s.template_file);
    if (!tmpl) return tl::unexpected(tmpl.error());
    if (!tmpl->value("Parameters", Json::object())
             .contains(std::string(synth::kAwsPeerParameters.token)))
      continue;
    auto files = loadPeerFiles(options.certs_dir, "aws-" + s.region, cli.options().dry_run,
                               cli.options().print, noted);
    if (!files) return tl::unexpected(files.error());
    by_region[s.region] = *std::move(files);
  }
  return by_region;
}

} // namespace

tl::expected<AwsDeployPlan, std::string> readAwsPlan(const fs::path& aws_dir,
                                                     const std::string& region) {
  auto plan_json = readJsonFile(aws_dir / "plan.json");
  if (!plan_json) return tl::unexpected(plan_json.error());
  const Json& p = *plan_json;
  AwsDeployPlan plan;
  plan.app = str(p, "app");
  plan.artifact_prefix = str(p, "artifact_prefix");
  plan.aws_dir = aws_dir;
  if (!p.contains("bootstrap")) {
    return tl::unexpected(std::string("the manifest has no aws target; add one under targets"));
  }
  std::vector<std::string> regions;
  for (const Json& r : p.at("bootstrap").value("regions", Json::array()))
    regions.push_back(r.get<std::string>());
  if (!region.empty()) {
    if (std::find(regions.begin(), regions.end(), region) == regions.end()) {
      std::string known;
      for (const std::string& r : regions)
        known += (known.empty() ? "" : ", ") + r;
      return tl::unexpected("aws " + region +
                            " is not a target of the manifest (its aws regions: " + known + ")");
    }
    regions = {region};
  }
  for (const std::string& r : regions)
    plan.bootstraps.push_back(stackOf(aws_dir, p.at("bootstrap"), r));
  for (const Json& entry : p.value("stacks", Json::array())) {
    const std::string r = str(entry, "region");
    if (std::find(regions.begin(), regions.end(), r) != regions.end())
      plan.apps.push_back(stackOf(aws_dir, entry, r));
  }
  if (p.contains("global") && p.at("global").is_object()) {
    const std::string r = str(p.at("global"), "region");
    if (region.empty() || region == r) plan.global = stackOf(aws_dir, p.at("global"), r);
  }
  return plan;
}

tl::expected<void, std::string> deployAws(const model::App& app, const AwsDeployPlan& plan,
                                          const DeployOptions& options, const AwsCli& cli) {
  const auto& print = cli.options().print;
  const bool dry = cli.options().dry_run;
  // Before anything changes: an app whose targets are peers cannot start without these.
  auto peer_files = peerFilesOf(plan, options, cli);
  if (!peer_files) return tl::unexpected(peer_files.error());

  // 1. The app artifact.
  const fs::path artifact_file = plan.aws_dir / "app.tar.gz";
  if (app.compute) {
    const fs::path folder = options.manifest_dir / app.compute->artifact;
    std::error_code ec;
    if (!dry && !fs::is_directory(folder, ec)) {
      return tl::unexpected("compute.artifact " + folder.string() + " is not a folder");
    }
    const std::vector<std::string> tar{"tar", "-czf",          artifact_file.string(),
                                       "-C",  folder.string(), "."};
    print(dry ? quoteCommand(tar)
              : "packaging " + folder.string() + " as " + artifact_file.string());
    if (!dry) {
      auto r = runProcess(tar);
      if (!r) return tl::unexpected(r.error());
      if (r->exit_code != 0) {
        return tl::unexpected("packaging " + folder.string() + " failed: " + r->err);
      }
    }
  }

  // 2. Bootstrap, then uploads and the app stack, region by region.
  std::map<std::string, StackResult> app_results;
  for (const AwsStack& boot : plan.bootstraps) {
    auto booted = deployStack(cli, boot, {});
    if (!booted) return tl::unexpected(booted.error());
    auto bucket_output = booted->outputs.find("ArtifactBucketName");
    std::string bucket = bucket_output != booted->outputs.end() ? bucket_output->second : "";
    if (dry) bucket = "<ArtifactBucketName of " + boot.name + ">";
    if (bucket.empty()) {
      return tl::unexpected("stack " + boot.name + " in " + boot.region +
                            " has no ArtifactBucketName output");
    }
    printOutputs(cli, boot, *booted);

    const AwsStack* app_stack = nullptr;
    for (const AwsStack& s : plan.apps) {
      if (s.region == boot.region) app_stack = &s;
    }
    if (app_stack == nullptr) continue;
    const std::string& region = boot.region;
    std::vector<std::pair<fs::path, std::string>> uploads;
    if (app.compute) uploads.emplace_back(artifact_file, plan.artifact_prefix + "app.tar.gz");
    if (!options.proxy_binary.empty())
      uploads.emplace_back(options.proxy_binary, plan.artifact_prefix + "exo-proxy");
    if (app_stack->entry.contains("proxy_config")) {
      const Json& pc = app_stack->entry.at("proxy_config");
      uploads.emplace_back(plan.aws_dir / str(pc, "file"), str(pc, "key"));
    }
    for (const Json& n : app_stack->entry.value("nested", Json::array()))
      uploads.emplace_back(plan.aws_dir / str(n, "template"), str(n, "key"));
    if (!app_stack->inline_body)
      uploads.emplace_back(app_stack->template_file, templateKey(plan, *app_stack));
    for (const auto& [file, key] : uploads) {
      if (!dry) print(fmt::format("uploading {} to s3://{}/{}", file.string(), bucket, key));
      auto up = cli.upload(region, file.string(), bucket, key);
      if (!up) return tl::unexpected(up.error());
    }
    if (options.proxy_binary.empty()) {
      print("note: no exo-proxy binary found beside exoflow; instances fetch " +
            plan.artifact_prefix + "exo-proxy, upload it before they start");
    }
    AwsStack to_deploy = *app_stack;
    std::string url;
    if (!to_deploy.inline_body)
      url = templateUrl(cli, bucket, region, templateKey(plan, to_deploy));
    std::map<std::string, std::string> params{{"ArtifactBucket", bucket}};
    std::set<std::string> secrets;
    if (auto it = peer_files->find(region); it != peer_files->end()) {
      const synth::PeerParameters& names = synth::kAwsPeerParameters;
      params[std::string(names.ca_cert)] = base64(it->second.ca_cert);
      params[std::string(names.cert)] = base64(it->second.cert);
      params[std::string(names.key)] = base64(it->second.key);
      params[std::string(names.token)] = it->second.token;
      secrets = {std::string(names.ca_cert), std::string(names.cert), std::string(names.key),
                 std::string(names.token)};
    }
    auto deployed = deployStack(cli, to_deploy, params, url, secrets);
    if (!deployed) return tl::unexpected(deployed.error());
    app_results[region] = *deployed;
  }

  // 3. The DNS layer over every target's endpoint.
  if (plan.global) {
    const AwsStack& g = *plan.global;
    auto tmpl = readJsonFile(g.template_file);
    if (!tmpl) return tl::unexpected(tmpl.error());
    std::map<std::string, std::string> params;
    std::vector<std::string> missing;
    const Json parameters = tmpl->value("Parameters", Json::object());
    for (const auto& [key, spec] : parameters.items()) {
      if (spec.contains("Default")) continue;
      if (key == "HostedZoneId" && app.failover && app.failover->dns) {
        const std::string domain = app.failover->dns->domain;
        if (dry) {
          params[key] = "<hosted zone of " + domain + ">";
          continue;
        }
        auto zones = cli.call(g.region, {"route53", "list-hosted-zones-by-name", "--dns-name",
                                         domain + ".", "--max-items", "1"});
        if (!zones)
          return tl::unexpected("looking up the hosted zone of " + domain + ": " + zones.error());
        Json z = Json::parse(*zones, nullptr, false);
        if (!z.is_discarded()) {
          for (const Json& zone : z.value("HostedZones", Json::array())) {
            if (str(zone, "Name") == domain + ".") {
              std::string id = str(zone, "Id");
              if (id.rfind("/hostedzone/", 0) == 0) id = id.substr(12);
              params[key] = id;
            }
          }
        }
        if (params.count(key) == 0) missing.push_back("a Route 53 hosted zone for " + domain);
        continue;
      }
      for (const model::Target& t : app.targets) {
        const std::string peer = std::string(model::cloudName(t.cloud)) + "-" + t.region;
        if (key != pascal(peer) + "Endpoint") continue;
        if (t.cloud != model::Cloud::kAws) break;
        if (dry) {
          params[key] = "<LoadBalancerDnsName of " + plan.app + "-app in " + t.region + ">";
        } else if (auto it = app_results.find(t.region); it != app_results.end()) {
          params[key] = it->second.outputs["LoadBalancerDnsName"];
        } else {
          // A region not deployed by this run: its stack's output, when it exists.
          auto other = cli.describeStack(t.region, plan.app + "-app");
          if (other && *other) params[key] = stackOutputs(**other)["LoadBalancerDnsName"];
        }
      }
      if (params.count(key) == 0 || params[key].empty()) {
        params.erase(key);
        missing.push_back(key);
      }
    }
    if (!missing.empty()) {
      std::string list;
      for (const std::string& m : missing)
        list += (list.empty() ? "" : ", ") + m;
      print("note: " + g.name + " (" + g.region + ") not deployed: it needs " + list +
            " (deploy the other targets first)");
    } else {
      auto deployed = deployStack(cli, g, params);
      if (!deployed) return tl::unexpected(deployed.error());
      printOutputs(cli, g, *deployed);
    }
  }
  for (const AwsStack& s : plan.apps) {
    if (auto it = app_results.find(s.region); it != app_results.end())
      printOutputs(cli, s, it->second);
  }
  return {};
}

std::vector<std::string> templateDiff(const Json& deployed, const Json& next) {
  std::vector<std::string> lines;
  const Json before = deployed.value("Resources", Json::object());
  const Json after = next.value("Resources", Json::object());
  std::set<std::string> ids;
  for (const auto& [id, r] : before.items())
    ids.insert(id);
  for (const auto& [id, r] : after.items())
    ids.insert(id);
  for (const std::string& id : ids) {
    const bool was = before.contains(id);
    const bool is = after.contains(id);
    if (!was) {
      lines.push_back("+ " + id + " (" + typeOf(after, id) + ")");
    } else if (!is) {
      lines.push_back("- " + id + " (" + typeOf(before, id) + ")");
    } else if (before.at(id) != after.at(id)) {
      lines.push_back("~ " + id + " (" + typeOf(after, id) + ")");
    }
  }
  if (lines.empty()) {
    Json rest_before = deployed;
    Json rest_after = next;
    rest_before.erase("Resources");
    rest_after.erase("Resources");
    if (rest_before != rest_after) lines.emplace_back("~ (outputs, parameters or conditions)");
  }
  return lines;
}

tl::expected<std::vector<std::string>, std::string> planAws(const AwsDeployPlan& plan,
                                                            const AwsCli& cli) {
  std::vector<std::string> lines;
  std::vector<const AwsStack*> stacks;
  for (const AwsStack& s : plan.bootstraps)
    stacks.push_back(&s);
  for (const AwsStack& s : plan.apps)
    stacks.push_back(&s);
  if (plan.global) stacks.push_back(&*plan.global);
  for (const AwsStack* s : stacks) {
    auto next = readJsonFile(s->template_file);
    if (!next) return tl::unexpected(next.error());
    const std::string title = s->name + " (" + s->region + ")";
    auto existing = cli.describeStack(s->region, s->name);
    if (!existing) return tl::unexpected(existing.error());
    const std::string status = *existing ? str(**existing, "StackStatus") : std::string();
    if (status.empty() || status == "ROLLBACK_COMPLETE") {
      const Json resources = next->value("Resources", Json::object());
      lines.push_back(title + ": create, " + std::to_string(resources.size()) + " resources" +
                      (status.empty() ? "" : " (replaces the stack whose creation failed)"));
      for (const auto& [id, r] : resources.items())
        lines.push_back("  + " + id + " (" + str(r, "Type") + ")");
      continue;
    }
    auto deployed = cli.deployedTemplate(s->region, s->name);
    if (!deployed) return tl::unexpected(deployed.error());
    const std::vector<std::string> diff = templateDiff(*deployed, *next);
    if (diff.empty()) {
      lines.push_back(title + ": no change");
      continue;
    }
    size_t added = 0;
    size_t removed = 0;
    size_t changed = 0;
    for (const std::string& d : diff) {
      if (d[0] == '+') ++added;
      if (d[0] == '-') ++removed;
      if (d[0] == '~' && d.find(" (outputs,") == std::string::npos) ++changed;
    }
    lines.push_back(title + ": update, " + std::to_string(added) + " added, " +
                    std::to_string(removed) + " removed, " + std::to_string(changed) + " changed");
    for (const std::string& d : diff)
      lines.push_back("  " + d);
  }
  return lines;
}

} // namespace exoflow::deploy
