#pragma once
// `exoflow deploy` and `exoflow plan` on AWS: the synthesized files (out/aws, with plan.json)
// taken to CloudFormation through the AWS CLI.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <tl/expected.hpp>

#include "deploy/aws_cli.h"
#include "model/app.h"

namespace exoflow::deploy {

/// One stack of out/aws/plan.json.
struct AwsStack { // NOLINT(bugprone-exception-escape)
  std::string name;
  std::string region;
  std::filesystem::path template_file; ///< absolute or relative to the working folder
  std::string template_rel;            ///< as plan.json names it, e.g. "us-east-1/app.json"
  bool inline_body = true;             ///< "deploy": "inline" (else "bucket")
  nlohmann::json entry;                ///< the whole plan.json entry
};

/// The stacks of the selected AWS targets, in deploy order.
struct AwsDeployPlan {
  std::string app;
  std::string artifact_prefix;
  std::filesystem::path aws_dir;    ///< out/aws
  std::vector<AwsStack> bootstraps; ///< one per selected region
  std::vector<AwsStack> apps;       ///< one per selected region with something to run
  std::optional<AwsStack> global;   ///< the DNS layer, when the manifest has one
};

/// Reads out/aws/plan.json and keeps the stacks of `region` (every AWS region when empty). The
/// error says what is missing, e.g. a region that is not an AWS target of the manifest.
tl::expected<AwsDeployPlan, std::string> readAwsPlan(const std::filesystem::path& aws_dir,
                                                     const std::string& region);

struct DeployOptions {
  std::filesystem::path manifest_dir; ///< compute.artifact is relative to it
  std::filesystem::path proxy_binary; ///< exo-proxy to upload; empty: none found
  /// The files of `exoflow certs`, which an app whose targets are peers needs (peer_files.h).
  std::filesystem::path certs_dir;
};

/// Deploys the plan: bootstrap stacks, uploads, app stacks, then the global stack. Progress
/// and the outputs go to cli.options().print; the error names what failed.
tl::expected<void, std::string> deployAws(const model::App& app, const AwsDeployPlan& plan,
                                          const DeployOptions& options, const AwsCli& cli);

/// What deploying the plan would change, stack by stack, as lines to print.
tl::expected<std::vector<std::string>, std::string> planAws(const AwsDeployPlan& plan,
                                                            const AwsCli& cli);

/// Which resources differ between two templates: "+ Id (Type)", "- Id (Type)", "~ Id (Type)",
/// sorted by logical id, and one "~ (outputs, parameters or conditions)" line when only the
/// rest of the template differs. Empty when they are the same.
std::vector<std::string> templateDiff(const nlohmann::json& deployed, const nlohmann::json& next);

} // namespace exoflow::deploy
