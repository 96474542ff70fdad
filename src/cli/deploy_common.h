#pragma once
// What `exoflow deploy` and `exoflow plan` share: the manifest loaded and synthesized into
// out/aws, and the AWS CLI options.

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

} // namespace exoflow::cli
