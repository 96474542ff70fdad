// `exoflow deploy --target azure` and `exoflow plan --target azure`: synthesize into
// out/azure, then drive the Azure CLI.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "cli/commands.h"
#include "cli/deploy_common.h"
#include "deploy/azure_deploy.h"
#include "manifest/manifest.h"
#include "synth/synth.h"

namespace exoflow::cli {

namespace {

namespace fs = std::filesystem;

struct PreparedAzure {
  model::App app;
  deploy::AzureDeployPlan plan;
  fs::path manifest_dir;
};

tl::expected<PreparedAzure, int> prepareAzure(const AzureRequest& request) {
  std::string region;
  if (request.target.rfind("azure:", 0) == 0) region = request.target.substr(6);
  auto loaded = manifest::loadManifestFile(request.file, request.file);
  if (!loaded) {
    std::fprintf(stderr, "exoflow: error: %s\n", loaded.error().message.c_str());
    return tl::unexpected(kExitUsage);
  }
  std::fputs(manifest::formatText(loaded->diagnostics).c_str(), stderr);
  if (!loaded->app) {
    std::fprintf(stderr, "%s: invalid; run `exoflow validate -f %s`\n", request.file.c_str(),
                 request.file.c_str());
    return tl::unexpected(kExitInvalid);
  }
  auto result = synth::synthesize(*loaded->app, synth::TargetSet::kAzure);
  if (!result) {
    std::fprintf(stderr, "%s: error: %s: %s\n", request.file.c_str(), result.error().path.c_str(),
                 result.error().message.c_str());
    return tl::unexpected(kExitInvalid);
  }
  // Replace out/azure as a whole, as `exoflow synth` does.
  const fs::path azure_dir = fs::path(request.out) / "azure";
  std::error_code ec;
  fs::remove_all(azure_dir, ec);
  for (const auto& f : result->files) {
    const fs::path path = fs::path(request.out) / f.path;
    fs::create_directories(path.parent_path(), ec);
    std::ofstream stream(path, std::ios::binary);
    stream << f.content;
    stream.close();
    if (ec || !stream) {
      std::fprintf(stderr, "exoflow: error: cannot write %s\n", path.string().c_str());
      return tl::unexpected(kExitUsage);
    }
  }
  auto plan = deploy::readAzurePlan(azure_dir, region);
  if (!plan) {
    std::fprintf(stderr, "%s: error: %s\n", request.file.c_str(), plan.error().c_str());
    return tl::unexpected(kExitInvalid);
  }
  return PreparedAzure{*std::move(loaded->app), *std::move(plan),
                       fs::absolute(fs::path(request.file)).parent_path()};
}

deploy::AzCli azCli(bool dry_run) {
  deploy::AzOptions options;
  options.dry_run = dry_run;
  options.print = [](const std::string& line) {
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  };
  return deploy::AzCli(std::move(options));
}

deploy::AzureDeployOptions deployOptions(const AzureRequest& request, const fs::path& dir) {
  deploy::AzureDeployOptions options;
  options.manifest_dir = dir;
  options.proxy_binary = findProxy();
  options.ssh_public_key = request.ssh_public_key;
  options.certs_dir = certsDir(request.certs, dir);
  if (options.ssh_public_key.empty()) {
    const char* home = std::getenv("HOME");
    options.ssh_public_key = fs::path(home != nullptr ? home : "") / ".ssh" / "id_rsa.pub";
  }
  return options;
}

} // namespace

bool isAzureTarget(const std::string& target) {
  return target == "azure" || target.rfind("azure:", 0) == 0;
}

int runAzureDeploy(const AzureRequest& request) {
  auto prepared = prepareAzure(request);
  if (!prepared) return prepared.error();
  const deploy::AzCli cli = azCli(request.dry_run);
  auto done = deploy::deployAzure(prepared->app, prepared->plan,
                                  deployOptions(request, prepared->manifest_dir), cli);
  if (!done) {
    std::fprintf(stderr, "exoflow: deploy failed: %s\n", done.error().c_str());
    return kExitInvalid;
  }
  if (!request.dry_run) std::printf("deployed %s to azure\n", prepared->plan.app.c_str());
  return kExitOk;
}

int runAzurePlan(const AzureRequest& request) {
  auto prepared = prepareAzure(request);
  if (!prepared) return prepared.error();
  const deploy::AzCli cli = azCli(false);
  auto lines = deploy::planAzure(prepared->app, prepared->plan,
                                 deployOptions(request, prepared->manifest_dir), cli);
  if (!lines) {
    std::fprintf(stderr, "exoflow: plan failed: %s\n", lines.error().c_str());
    return kExitInvalid;
  }
  for (const std::string& line : *lines)
    std::printf("%s\n", line.c_str());
  return kExitOk;
}

} // namespace exoflow::cli
