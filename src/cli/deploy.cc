// `exoflow deploy` and `exoflow plan`: synthesize, then take the templates to the cloud.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <string>

#include <unistd.h>

#include "cli/commands.h"
#include "cli/deploy_common.h"
#include "deploy/aws_deploy.h"
#include "manifest/manifest.h"
#include "synth/synth.h"

namespace exoflow::cli {

namespace fs = std::filesystem;

tl::expected<Prepared, int> prepareAws(const std::string& file, const std::string& target,
                                       const std::string& out) {
  std::string region;
  if (target.rfind("aws:", 0) == 0) {
    region = target.substr(4);
  } else if (target != "aws") {
    std::fprintf(stderr,
                 "exoflow: error: --target %s: the targets are aws, aws:REGION, azure and "
                 "azure:REGION\n",
                 target.c_str());
    return tl::unexpected(kExitUsage);
  }
  auto loaded = manifest::loadManifestFile(file, file);
  if (!loaded) {
    std::fprintf(stderr, "exoflow: error: %s\n", loaded.error().message.c_str());
    return tl::unexpected(kExitUsage);
  }
  std::fputs(manifest::formatText(loaded->diagnostics).c_str(), stderr);
  if (!loaded->app) {
    std::fprintf(stderr, "%s: invalid; run `exoflow validate -f %s`\n", file.c_str(), file.c_str());
    return tl::unexpected(kExitInvalid);
  }
  auto result = synth::synthesizeAws(*loaded->app);
  if (!result) {
    std::fprintf(stderr, "%s: error: %s: %s\n", file.c_str(), result.error().path.c_str(),
                 result.error().message.c_str());
    return tl::unexpected(kExitInvalid);
  }
  // Replace out/aws as a whole, as `exoflow synth` does.
  const fs::path aws_dir = fs::path(out) / "aws";
  std::error_code ec;
  fs::remove_all(aws_dir, ec);
  for (const auto& f : result->files) {
    const fs::path path = fs::path(out) / f.path;
    fs::create_directories(path.parent_path(), ec);
    std::ofstream stream(path, std::ios::binary);
    stream << f.content;
    stream.close();
    if (ec || !stream) {
      std::fprintf(stderr, "exoflow: error: cannot write %s\n", path.string().c_str());
      return tl::unexpected(kExitUsage);
    }
  }
  auto plan = deploy::readAwsPlan(aws_dir, region);
  if (!plan) {
    std::fprintf(stderr, "%s: error: %s\n", file.c_str(), plan.error().c_str());
    return tl::unexpected(kExitInvalid);
  }
  Prepared prepared{*std::move(loaded->app), *std::move(plan),
                    fs::absolute(fs::path(file)).parent_path()};
  return prepared;
}

deploy::AwsOptions awsOptions(const std::string& endpoint_url, bool dry_run) {
  deploy::AwsOptions options;
  options.endpoint_url = endpoint_url;
  options.dry_run = dry_run;
  options.print = [](const std::string& line) {
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  };
  return options;
}

fs::path certsDir(const std::string& option, const fs::path& manifest_dir) {
  return option.empty() ? manifest_dir / "certs" : fs::path(option);
}

fs::path findProxy() {
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    fs::path beside = self.parent_path() / "exo-proxy";
    if (fs::is_regular_file(beside, ec)) return beside;
  }
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "";
  size_t start = 0;
  while (start <= dirs.size()) {
    const size_t end = dirs.find(':', start);
    const std::string dir =
        dirs.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (!dir.empty()) {
      fs::path candidate = fs::path(dir) / "exo-proxy";
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return {};
}

namespace {

struct DeployCliOptions {
  std::string file = "exoflow.yaml";
  std::string target = "aws";
  std::string out = "out";
  std::string endpoint_url;
  std::string ssh_public_key;
  std::string certs;
  bool dry_run = false;
};

int runDeploy(const DeployCliOptions& options) {
  if (isAzureTarget(options.target)) {
    return runAzureDeploy({options.file, options.target, options.out, options.dry_run,
                           options.ssh_public_key, options.certs});
  }
  auto prepared = prepareAws(options.file, options.target, options.out);
  if (!prepared) return prepared.error();
  const deploy::AwsCli cli(awsOptions(options.endpoint_url, options.dry_run));
  deploy::DeployOptions deploy_options;
  deploy_options.manifest_dir = prepared->manifest_dir;
  deploy_options.proxy_binary = findProxy();
  deploy_options.certs_dir = certsDir(options.certs, prepared->manifest_dir);
  auto done = deploy::deployAws(prepared->app, prepared->plan, deploy_options, cli);
  if (!done) {
    std::fprintf(stderr, "exoflow: deploy failed: %s\n", done.error().c_str());
    return kExitInvalid;
  }
  if (!options.dry_run) std::printf("deployed %s to aws\n", prepared->plan.app.c_str());
  return kExitOk;
}

} // namespace

void addDeployCommand(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<DeployCliOptions>();
  CLI::App* cmd = app.add_subcommand(
      "deploy", "Synthesize (into --out), package compute.artifact, then create or update the\n"
                "bootstrap stack, upload the artifacts, and create or update each app stack and\n"
                "the global stack with the AWS CLI, showing the stack events as they arrive.\n"
                "--target azure does the same with the Azure CLI (az deployment sub/group\n"
                "create, az storage blob upload).\n"
                "Exit status: 0 deployed, 1 invalid manifest or a failed deploy, 2 usage.");
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
  cmd->add_option("--certs", options->certs,
                  "The files of `exoflow certs` (default: certs beside the manifest); an app\n"
                  "whose targets are peers (several targets and failover) needs ca.crt,\n"
                  "<target>.crt and .key, and peer-token (written here when missing)")
      ->type_name("DIR");
  cmd->add_flag("--dry-run", options->dry_run,
                "Print the commands, run none (secret values masked)");
  cmd->callback([options, &exit_code] { exit_code = runDeploy(*options); });
}

} // namespace exoflow::cli
