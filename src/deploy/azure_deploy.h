#pragma once
// `exoflow deploy` and `exoflow plan` on Azure: the synthesized files (out/azure, with
// plan.json) taken to Azure Resource Manager through the Azure CLI (`az`), one process per
// call, without a shell.

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <tl/expected.hpp>

#include "model/app.h"

namespace exoflow::deploy {

struct AzOptions {
  std::string program = "az";
  bool dry_run = false; ///< print every command, run none
  /// Where progress lines and, with dry_run, the commands go.
  std::function<void(const std::string&)> print;
};

/// The Azure CLI: `az <args> --output json`, its stdout parsed by the caller.
class AzCli {
public:
  explicit AzCli(AzOptions options);
  [[nodiscard]] std::vector<std::string> command(const std::vector<std::string>& args) const;
  /// Runs the command and returns its stdout; the error is az's message (its stderr, trimmed)
  /// or, when az is not installed, says so. With dry_run, prints the command and returns "".
  [[nodiscard]] tl::expected<std::string, std::string>
  call(const std::vector<std::string>& args) const;
  /// An error when `az` cannot be found on PATH (dry runs need none).
  [[nodiscard]] tl::expected<void, std::string> checkInstalled() const;
  [[nodiscard]] const AzOptions& options() const { return options_; }

private:
  AzOptions options_;
};

/// One deployment of out/azure/plan.json.
struct AzureDeployment {      // NOLINT(bugprone-exception-escape)
  std::string name;           ///< the deployment's name, e.g. "webshop-app"
  std::string region;         ///< its location (subscription scope) or target region
  std::string resource_group; ///< empty for the subscription-scope bootstrap
  std::filesystem::path template_file;
  std::vector<std::string> parameters; ///< the parameters without a default
  nlohmann::json entry;                ///< the whole plan.json entry
};

// nlohmann::json's special members are not noexcept; nothing here throws while moving.
struct AzureDeployPlan { // NOLINT(bugprone-exception-escape)
  std::string app;
  std::string artifact_prefix;
  std::filesystem::path azure_dir;
  AzureDeployment bootstrap;
  std::vector<AzureDeployment> apps; ///< one per selected region with something to run
  std::optional<AzureDeployment> global;
};

/// Reads out/azure/plan.json and keeps the deployments of `region` (every Azure region when
/// empty). The error says what is missing, e.g. a region that is not an Azure target.
tl::expected<AzureDeployPlan, std::string> readAzurePlan(const std::filesystem::path& azure_dir,
                                                         const std::string& region);

struct AzureDeployOptions {
  std::filesystem::path manifest_dir;   ///< compute.artifact is relative to it
  std::filesystem::path proxy_binary;   ///< exo-proxy to upload; empty: none found
  std::filesystem::path ssh_public_key; ///< passed as adminSshPublicKey
  /// The files of `exoflow certs`, which an app whose targets are peers needs (peer_files.h).
  std::filesystem::path certs_dir;
};

/// Deploys the bootstrap, uploads the artifacts to its storage account, deploys each app
/// template, then the global one. Progress goes to cli.options().print; the error names what
/// failed.
tl::expected<void, std::string> deployAzure(const model::App& app, const AzureDeployPlan& plan,
                                            const AzureDeployOptions& options, const AzCli& cli);

/// What deploying would change, from `az deployment ... what-if`, as lines to print.
tl::expected<std::vector<std::string>, std::string> planAzure(const model::App& app,
                                                              const AzureDeployPlan& plan,
                                                              const AzureDeployOptions& options,
                                                              const AzCli& cli);

} // namespace exoflow::deploy
