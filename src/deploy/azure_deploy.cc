#include "deploy/azure_deploy.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <unistd.h>

#include "deploy/peer_files.h"
#include "deploy/process.h"
#include "synth/peer_parameters.h"

namespace exoflow::deploy {

namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using Outputs = std::map<std::string, std::string>;

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' '))
    s.pop_back();
  const size_t first = s.find_first_not_of(" \n");
  return first == std::string::npos ? std::string() : s.substr(first);
}

std::string str(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

tl::expected<Json, std::string> readJsonFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return tl::unexpected("cannot read " + path.string());
  std::stringstream text;
  text << in.rdbuf();
  Json j = Json::parse(text.str(), nullptr, false);
  if (j.is_discarded()) return tl::unexpected(path.string() + " is not JSON");
  return j;
}

AzureDeployment deploymentOf(const fs::path& dir, const Json& entry) {
  AzureDeployment d;
  d.name = str(entry, "deployment");
  d.region = entry.contains("region") ? str(entry, "region") : str(entry, "location");
  d.resource_group = str(entry, "resource_group");
  d.template_file = dir / str(entry, "template");
  for (const Json& p : entry.value("parameters", Json::array()))
    d.parameters.push_back(p.get<std::string>());
  d.entry = entry;
  return d;
}

/// The outputs of `az deployment ... create` (properties.outputs.<name>.value).
Outputs outputsOf(const std::string& answer) {
  Outputs out;
  Json j = Json::parse(answer, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return out;
  const Json outputs = j.value("properties", Json::object()).value("outputs", Json::object());
  for (const auto& [key, o] : outputs.items()) {
    const Json& v = o.contains("value") ? o["value"] : o;
    out[key] = v.is_string() ? v.get<std::string>() : v.dump();
  }
  return out;
}

std::vector<std::string> createArgs(const AzureDeployment& d,
                                    const std::vector<std::string>& params, bool what_if) {
  std::vector<std::string> args = {"deployment", d.resource_group.empty() ? "sub" : "group",
                                   what_if ? "what-if" : "create", "--name", d.name};
  if (d.resource_group.empty()) {
    args.insert(args.end(), {"--location", d.region});
  } else {
    args.insert(args.end(), {"--resource-group", d.resource_group});
  }
  args.insert(args.end(), {"--template-file", d.template_file.string()});
  if (!params.empty()) {
    args.emplace_back("--parameters");
    args.insert(args.end(), params.begin(), params.end());
  }
  if (what_if) args.emplace_back("--no-pretty-print");
  args.insert(args.end(), {"--output", "json"});
  return args;
}

std::string title(const AzureDeployment& d) {
  return d.resource_group.empty() ? fmt::format("{} (subscription, {})", d.name, d.region)
                                  : fmt::format("{} (resource group {})", d.name, d.resource_group);
}

/// What the app and global templates take, from the bootstrap's outputs and the other
/// deployments; `missing` collects what nobody can give yet.
class ParameterSource {
public:
  ParameterSource(const model::App& app, const AzureDeployPlan& plan,
                  const AzureDeployOptions& options, bool dry)
      : app_(app), plan_(plan), options_(options), dry_(dry) {}

  void setBootstrap(Outputs outputs) { boot_ = std::move(outputs); }
  void setAppOutputs(const std::string& region, Outputs outputs) {
    apps_[region] = std::move(outputs);
  }
  void setPeerFiles(std::map<std::string, PeerFiles> by_region) { peers_ = std::move(by_region); }

  /// `name=value` arguments in the template's order. The peer files' parameters go into
  /// `secrets` (an ARM parameters file) instead, or, on a dry run, are shown masked.
  std::vector<std::string> values(const AzureDeployment& d, std::vector<std::string>& missing,
                                  Json& secrets) {
    std::vector<std::string> out;
    for (const std::string& name : d.parameters) {
      if (const std::string* value = secretValue(d.region, name)) {
        if (dry_) {
          out.push_back(name + "=" + std::string(kMasked));
        } else {
          secrets["parameters"][name] = {{"value", *value}};
        }
        continue;
      }
      // In the template's order; a value nobody knows yet is passed empty.
      std::string value = valueOf(name);
      if (value.empty()) missing.push_back(name);
      std::string entry = name;
      entry += '=';
      entry += value;
      out.push_back(std::move(entry));
    }
    return out;
  }

private:
  /// The value of a peer file parameter of the target in `region`; nullptr for other names.
  const std::string* secretValue(const std::string& region, const std::string& name) const {
    const synth::PeerParameters& p = synth::kAzurePeerParameters;
    auto it = peers_.find(region);
    if (it == peers_.end()) return nullptr;
    const PeerFiles& f = it->second;
    if (name == p.ca_cert) return &f.ca_cert;
    if (name == p.cert) return &f.cert;
    if (name == p.key) return &f.key;
    if (name == p.token) return &f.token;
    return nullptr;
  }

  std::string valueOf(const std::string& name) {
    if (name == "adminSshPublicKey") return "@" + options_.ssh_public_key.string();
    if (boot_.contains(name)) return boot_[name];
    if (dry_ && (name.starts_with("artifact") || name.starts_with("identity")))
      return fmt::format("<{} of {}>", name, plan_.bootstrap.name);
    for (const model::Target& t : app_.targets) {
      const std::string peer = fmt::format("{}-{}", model::cloudName(t.cloud), t.region);
      if (name == "peer" + pascal(peer) + "Url") return peerUrl(t);
      if (name == camel(peer) + "Endpoint") {
        if (dry_) return fmt::format("<LoadBalancerDnsName of {}-app in {}>", app_.name, t.region);
        return "";
      }
    }
    return "";
  }

  std::string peerUrl(const model::Target& t) {
    if (t.cloud == model::Cloud::kAzure && apps_.contains(t.region) &&
        apps_[t.region].contains("peerUrl"))
      return apps_[t.region]["peerUrl"];
    if (dry_) {
      return fmt::format("<peer URL of {} in {}>", app_.name, t.region);
    }
    return "";
  }

  static std::string pascal(const std::string& text) {
    std::string out;
    bool upper = true;
    for (const char c : text) {
      if (c == '-') {
        upper = true;
        continue;
      }
      out += upper && c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
      upper = false;
    }
    return out;
  }
  static std::string camel(const std::string& text) {
    std::string out = pascal(text);
    if (!out.empty()) out[0] = static_cast<char>(out[0] - 'A' + 'a');
    return out;
  }

  const model::App& app_;
  const AzureDeployPlan& plan_;
  const AzureDeployOptions& options_;
  bool dry_;
  Outputs boot_;
  std::map<std::string, Outputs> apps_;
  std::map<std::string, PeerFiles> peers_;
};

/// The peer files of the app deployments whose templates take them, by region.
tl::expected<std::map<std::string, PeerFiles>, std::string>
peerFilesOf(const AzureDeployPlan& plan, const AzureDeployOptions& options, const AzCli& cli,
            bool dry_run) {
  std::map<std::string, PeerFiles> by_region;
  bool noted = false;
  for (const AzureDeployment& d : plan.apps) {
    if (std::find(d.parameters.begin(), d.parameters.end(), synth::kAzurePeerParameters.token) ==
        d.parameters.end())
      continue;
    auto files =
        loadPeerFiles(options.certs_dir, "azure-" + d.region, dry_run, cli.options().print, noted);
    if (!files) return tl::unexpected(files.error());
    by_region[d.region] = *std::move(files);
  }
  return by_region;
}

/// Secret parameters go to az in a file only this user can read: `@file` joins `params`.
tl::expected<std::optional<PrivateFile>, std::string> withSecrets(std::vector<std::string>& params,
                                                                  const Json& secrets) {
  if (secrets.empty()) return std::optional<PrivateFile>();
  Json file = {{"$schema", "https://schema.management.azure.com/schemas/2019-04-01/"
                           "deploymentParameters.json#"},
               {"contentVersion", "1.0.0.0"},
               {"parameters", secrets["parameters"]}};
  auto written = PrivateFile::write("parameters.json", file.dump());
  if (!written) return tl::unexpected(written.error());
  params.push_back("@" + written->path().string());
  return std::optional<PrivateFile>(*std::move(written));
}

void printOutputs(const AzCli& cli, const AzureDeployment& d, const Outputs& outputs) {
  if (outputs.empty()) return;
  cli.options().print(d.name + " outputs:");
  for (const auto& [key, value] : outputs)
    cli.options().print(fmt::format("  {} = {}", key, value));
}

tl::expected<Outputs, std::string> deploy(const AzCli& cli, const AzureDeployment& d,
                                          const std::vector<std::string>& params) {
  if (!cli.options().dry_run) cli.options().print("deploying " + title(d) + " ...");
  auto answer = cli.call(createArgs(d, params, false));
  if (!answer) return tl::unexpected(title(d) + ": " + answer.error());
  if (!cli.options().dry_run) cli.options().print("deployed " + title(d));
  return outputsOf(*answer);
}

tl::expected<void, std::string> package(const model::App& app, const AzureDeployPlan& plan,
                                        const AzureDeployOptions& options, const AzCli& cli) {
  if (!app.compute) return {};
  const fs::path folder = options.manifest_dir / app.compute->artifact;
  const fs::path file = plan.azure_dir / "app.tar.gz";
  const bool dry = cli.options().dry_run;
  std::error_code ec;
  if (!dry && !fs::is_directory(folder, ec))
    return tl::unexpected("compute.artifact " + folder.string() + " is not a folder");
  const std::vector<std::string> tar{"tar", "-czf", file.string(), "-C", folder.string(), "."};
  cli.options().print(dry ? quoteCommand(tar)
                          : "packaging " + folder.string() + " as " + file.string());
  if (dry) return {};
  auto r = runProcess(tar);
  if (!r) return tl::unexpected(r.error());
  if (r->exit_code != 0)
    return tl::unexpected("packaging " + folder.string() + " failed: " + r->err);
  return {};
}

tl::expected<void, std::string> upload(const model::App& app, const AzureDeployPlan& plan,
                                       const AzureDeployOptions& options, const AzCli& cli,
                                       const Outputs& boot) {
  std::vector<std::pair<fs::path, std::string>> files;
  if (app.compute)
    files.emplace_back(plan.azure_dir / "app.tar.gz", plan.artifact_prefix + "app.tar.gz");
  if (!options.proxy_binary.empty())
    files.emplace_back(options.proxy_binary, plan.artifact_prefix + "exo-proxy");
  for (const AzureDeployment& d : plan.apps) {
    if (!d.entry.contains("proxy_config")) continue;
    const Json& pc = d.entry["proxy_config"];
    files.emplace_back(plan.azure_dir / str(pc, "file"), str(pc, "blob"));
  }
  const bool dry = cli.options().dry_run;
  const std::string account = dry ? "<artifactStorageAccount of " + plan.bootstrap.name + ">"
                              : boot.count("artifactStorageAccount") != 0U
                                  ? boot.at("artifactStorageAccount")
                                  : std::string();
  const std::string container = dry || boot.count("artifactContainer") == 0U
                                    ? std::string("artifacts")
                                    : boot.at("artifactContainer");
  if (account.empty())
    return tl::unexpected(plan.bootstrap.name + " has no artifactStorageAccount output");
  for (const auto& [file, blob] : files) {
    if (!dry)
      cli.options().print(
          fmt::format("uploading {} to {}/{}/{}", file.string(), account, container, blob));
    auto r = cli.call({"storage", "blob", "upload", "--auth-mode", "login", "--account-name",
                       account, "--container-name", container, "--name", blob, "--file",
                       file.string(), "--overwrite", "--only-show-errors", "--output", "none"});
    if (!r) return tl::unexpected("uploading " + file.string() + ": " + r.error());
  }
  if (options.proxy_binary.empty()) {
    cli.options().print("note: no exo-proxy binary found beside exoflow; instances fetch " +
                        plan.artifact_prefix + "exo-proxy, upload it before they start");
  }
  return {};
}

std::string listMissing(const std::vector<std::string>& missing) {
  std::string list;
  for (const std::string& m : missing)
    list += (list.empty() ? "" : ", ") + m;
  return list;
}

} // namespace

AzCli::AzCli(AzOptions options) : options_(std::move(options)) {}

std::vector<std::string> AzCli::command(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {options_.program};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

tl::expected<void, std::string> AzCli::checkInstalled() const {
  if (options_.dry_run) return {};
  if (options_.program.find('/') != std::string::npos) {
    if (::access(options_.program.c_str(), X_OK) == 0) return {};
  } else {
    const char* path = std::getenv("PATH");
    std::stringstream dirs(path != nullptr ? path : "");
    for (std::string dir; std::getline(dirs, dir, ':');) {
      if (!dir.empty() && ::access((fs::path(dir) / options_.program).c_str(), X_OK) == 0)
        return {};
    }
  }
  return tl::unexpected(fmt::format(
      "the Azure CLI ({}) is not installed or not on PATH; install it "
      "(https://learn.microsoft.com/cli/azure/install-azure-cli) and sign in with `az login`",
      options_.program));
}

tl::expected<std::string, std::string> AzCli::call(const std::vector<std::string>& args) const {
  const std::vector<std::string> argv = command(args);
  if (options_.dry_run) {
    options_.print(quoteCommand(argv));
    return std::string();
  }
  auto r = runProcess(argv);
  if (!r) return tl::unexpected(r.error());
  if (r->exit_code != 0) {
    const std::string err = trim(r->err);
    return tl::unexpected(err.empty() ? fmt::format("az exited with status {}", r->exit_code)
                                      : err);
  }
  return r->out;
}

tl::expected<AzureDeployPlan, std::string> readAzurePlan(const fs::path& azure_dir,
                                                         const std::string& region) {
  auto p = readJsonFile(azure_dir / "plan.json");
  if (!p) return tl::unexpected(p.error());
  AzureDeployPlan plan;
  plan.app = str(*p, "app");
  plan.artifact_prefix = str(*p, "artifact_prefix");
  plan.azure_dir = azure_dir;
  plan.bootstrap = deploymentOf(azure_dir, p->at("bootstrap"));
  std::vector<std::string> regions;
  for (const Json& r : p->at("bootstrap").value("regions", Json::array()))
    regions.push_back(r.get<std::string>());
  if (!region.empty() && std::find(regions.begin(), regions.end(), region) == regions.end()) {
    std::string known;
    for (const std::string& r : regions)
      known += (known.empty() ? "" : ", ") + r;
    return tl::unexpected("azure " + region +
                          " is not a target of the manifest (its azure regions: " + known + ")");
  }
  for (const Json& entry : p->value("deployments", Json::array())) {
    if (region.empty() || str(entry, "region") == region)
      plan.apps.push_back(deploymentOf(azure_dir, entry));
  }
  if (p->contains("global") && region.empty())
    plan.global = deploymentOf(azure_dir, p->at("global"));
  return plan;
}

tl::expected<void, std::string> deployAzure(const model::App& app, const AzureDeployPlan& plan,
                                            const AzureDeployOptions& options, const AzCli& cli) {
  if (auto installed = cli.checkInstalled(); !installed) return installed;
  const bool dry = cli.options().dry_run;
  ParameterSource source(app, plan, options, dry);
  std::error_code ec;
  if (!dry && app.compute && !fs::is_regular_file(options.ssh_public_key, ec)) {
    return tl::unexpected("--ssh-public-key " + options.ssh_public_key.string() +
                          " is not a file (the instances' exoflow user needs a public key)");
  }
  // Before anything changes: an app whose targets are peers cannot start without these.
  auto peer_files = peerFilesOf(plan, options, cli, dry);
  if (!peer_files) return tl::unexpected(peer_files.error());
  source.setPeerFiles(*std::move(peer_files));
  if (auto packed = package(app, plan, options, cli); !packed) return packed;
  auto boot = deploy(cli, plan.bootstrap, {});
  if (!boot) return tl::unexpected(boot.error());
  printOutputs(cli, plan.bootstrap, *boot);
  source.setBootstrap(*boot);
  if (auto up = upload(app, plan, options, cli, *boot); !up) return up;
  for (const AzureDeployment& d : plan.apps) {
    std::vector<std::string> missing;
    Json secrets = Json::object();
    std::vector<std::string> params = source.values(d, missing, secrets);
    auto secrets_file = withSecrets(params, secrets);
    if (!secrets_file) return tl::unexpected(secrets_file.error());
    for (const std::string& m : missing) {
      // A peer not deployed yet: this target starts without it until the next deploy.
      cli.options().print("note: " + d.name + " in " + d.region + ": no value for " + m +
                          " yet; deploy again once that target is up");
    }
    auto outputs = deploy(cli, d, params);
    if (!outputs) return tl::unexpected(outputs.error());
    printOutputs(cli, d, *outputs);
    source.setAppOutputs(d.region, *outputs);
  }
  if (plan.global) {
    std::vector<std::string> missing;
    Json no_secrets = Json::object();
    const std::vector<std::string> params = source.values(*plan.global, missing, no_secrets);
    if (!missing.empty()) {
      cli.options().print("note: " + plan.global->name + " not deployed: it needs " +
                          listMissing(missing) +
                          " (the other clouds' load balancer names; "
                          "deploy those targets first)");
      return {};
    }
    auto outputs = deploy(cli, *plan.global, params);
    if (!outputs) return tl::unexpected(outputs.error());
    printOutputs(cli, *plan.global, *outputs);
  }
  return {};
}

namespace {

/// `az ... what-if --no-pretty-print` JSON as "+ id", "- id", "~ id" lines.
std::vector<std::string> whatIfLines(const std::string& answer) {
  std::vector<std::string> lines;
  Json j = Json::parse(answer, nullptr, false);
  if (j.is_discarded()) return {"  (az what-if gave no JSON)"};
  for (const Json& c : j.value("changes", Json::array())) {
    const std::string type = str(c, "changeType");
    const std::string mark = type == "Create"                       ? "+"
                             : type == "Delete"                     ? "-"
                             : type == "Modify" || type == "Deploy" ? "~"
                                                                    : "";
    if (!mark.empty()) lines.push_back("  " + mark + " " + str(c, "resourceId"));
  }
  return lines;
}

std::vector<std::string> createLines(const AzureDeployment& d, const std::string& why) {
  std::vector<std::string> lines;
  auto t = readJsonFile(d.template_file);
  const Json resources = t ? t->value("resources", Json::array()) : Json::array();
  lines.push_back(title(d) + ": create, " + std::to_string(resources.size()) + " resources" + why);
  for (const Json& r : resources)
    lines.push_back("  + " + str(r, "type") + " " + str(r, "name"));
  return lines;
}

} // namespace

tl::expected<std::vector<std::string>, std::string> planAzure(const model::App& app,
                                                              const AzureDeployPlan& plan,
                                                              const AzureDeployOptions& options,
                                                              const AzCli& cli) {
  if (auto installed = cli.checkInstalled(); !installed) return tl::unexpected(installed.error());
  std::vector<std::string> lines;
  auto boot_changes = cli.call(createArgs(plan.bootstrap, {}, true));
  if (!boot_changes) return tl::unexpected(title(plan.bootstrap) + ": " + boot_changes.error());
  const std::vector<std::string> changes = whatIfLines(*boot_changes);
  lines.push_back(title(plan.bootstrap) + (changes.empty() ? ": no change" : ":"));
  lines.insert(lines.end(), changes.begin(), changes.end());
  auto deployed =
      cli.call({"deployment", "sub", "show", "--name", plan.bootstrap.name, "--output", "json"});
  ParameterSource source(app, plan, options, false);
  if (!deployed) {
    for (const AzureDeployment& d : plan.apps) {
      const std::vector<std::string> more = createLines(d, " (after the bootstrap)");
      lines.insert(lines.end(), more.begin(), more.end());
    }
    return lines;
  }
  source.setBootstrap(outputsOf(*deployed));
  // what-if takes the same parameters; a missing token is not written by a plan.
  auto peer_files = peerFilesOf(plan, options, cli, true);
  if (!peer_files) return tl::unexpected(peer_files.error());
  source.setPeerFiles(*std::move(peer_files));
  for (const AzureDeployment& d : plan.apps) {
    std::vector<std::string> missing;
    Json secrets = Json::object();
    std::vector<std::string> params = source.values(d, missing, secrets);
    auto secrets_file = withSecrets(params, secrets);
    if (!secrets_file) return tl::unexpected(secrets_file.error());
    auto answer = cli.call(createArgs(d, params, true));
    if (!answer) {
      // The resource group does not exist until the bootstrap's next run.
      const std::vector<std::string> more = createLines(d, "");
      lines.insert(lines.end(), more.begin(), more.end());
      continue;
    }
    const std::vector<std::string> app_changes = whatIfLines(*answer);
    lines.push_back(title(d) + (app_changes.empty() ? ": no change" : ":"));
    lines.insert(lines.end(), app_changes.begin(), app_changes.end());
  }
  return lines;
}

} // namespace exoflow::deploy
