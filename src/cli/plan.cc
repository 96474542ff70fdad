// `exoflow plan`: what `exoflow deploy` would change, stack by stack.
#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/deploy_common.h"
#include "deploy/aws_deploy.h"

namespace exoflow::cli {

namespace {

struct PlanOptions {
  std::string file = "exoflow.yaml";
  std::string target = "aws";
  std::string out = "out";
  std::string endpoint_url;
  std::string ssh_public_key;
};

int runPlan(const PlanOptions& options) {
  if (isAzureTarget(options.target)) {
    return runAzurePlan(
        {options.file, options.target, options.out, false, options.ssh_public_key, {}});
  }
  auto prepared = prepareAws(options.file, options.target, options.out);
  if (!prepared) return prepared.error();
  const deploy::AwsCli cli(awsOptions(options.endpoint_url, false));
  auto lines = deploy::planAws(prepared->plan, cli);
  if (!lines) {
    std::fprintf(stderr, "exoflow: plan failed: %s\n", lines.error().c_str());
    return kExitInvalid;
  }
  for (const std::string& line : *lines)
    std::printf("%s\n", line.c_str());
  return kExitOk;
}

} // namespace

void addPlanCommand(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<PlanOptions>();
  CLI::App* cmd = app.add_subcommand(
      "plan", "Show what `exoflow deploy` would change: for each stack, create (with its\n"
              "resources), or the resources added, removed and changed against the deployed\n"
              "template, or no change. --target azure shows az deployment what-if. Changes\n"
              "nothing.\n"
              "Exit status: 0 shown, 1 invalid manifest or a failed AWS call, 2 usage.");
  cmd->add_option("-f,--file", options->file, "The manifest")
      ->capture_default_str()
      ->type_name("FILE");
  cmd->add_option("-t,--target", options->target,
                  "aws or azure, or aws:REGION / azure:REGION for one region")
      ->capture_default_str()
      ->type_name("TARGET");
  cmd->add_option("-o,--out", options->out, "Where the templates are written")
      ->capture_default_str()
      ->type_name("DIR");
  cmd->add_option("--endpoint-url", options->endpoint_url,
                  "Passed to every aws call (an emulator such as moto)")
      ->type_name("URL");
  cmd->add_option("--ssh-public-key", options->ssh_public_key,
                  "azure: the instances' SSH public key (default ~/.ssh/id_rsa.pub)")
      ->type_name("FILE");
  cmd->callback([options, &exit_code] { exit_code = runPlan(*options); });
}

} // namespace exoflow::cli
