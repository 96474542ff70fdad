#pragma once
// What `exoflow deploy` and `exoflow plan` share: the manifest loaded and synthesized into
// out/aws or out/azure, and the cloud CLIs' options.

#include <filesystem>
#include <string>

#include <tl/expected.hpp>

#include "deploy/aws_cli.h"
#include "deploy/aws_deploy.h"
#include "model/app.h"

namespace exoflow::cli {

struct Prepared {
  model::App app;
  deploy::AwsDeployPlan plan;
  std::filesystem::path manifest_dir;
};

/// Loads and synthesizes the manifest into `out`/aws and reads its plan for `target` ("aws" or
/// "aws:REGION"). Problems are printed; the error is the exit code.
tl::expected<Prepared, int> prepareAws(const std::string& file, const std::string& target,
                                       const std::string& out);

/// Options whose print() writes a line to stdout.
deploy::AwsOptions awsOptions(const std::string& endpoint_url, bool dry_run);

/// --certs as given, else the folder certs beside the manifest.
std::filesystem::path certsDir(const std::string& option,
                               const std::filesystem::path& manifest_dir);

/// exo-proxy beside this exoflow binary, else on PATH; empty when there is none.
std::filesystem::path findProxy();

/// `--target azure` or `azure:REGION`, and what deploy and plan take for it.
struct AzureRequest {
  std::string file;
  std::string target;
  std::string out;
  bool dry_run = false;
  std::string ssh_public_key; ///< empty: ~/.ssh/id_rsa.pub
  std::string certs;          ///< the files of `exoflow certs`; empty: certs beside the manifest
};
bool isAzureTarget(const std::string& target);
/// Synthesizes into out/azure and deploys or plans with the Azure CLI; the exit code.
int runAzureDeploy(const AzureRequest& request);
int runAzurePlan(const AzureRequest& request);

} // namespace exoflow::cli
