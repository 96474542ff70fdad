#include <string>

#include "cli/commands.h"
#include "local/runtime.h"

namespace exoflow::cli {

namespace {
struct UpCommandOptions {
  std::string file = "exoflow.yaml";
  std::string proxy;
};
} // namespace

void addUpCommand(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<UpCommandOptions>();
  CLI::App* cmd = app.add_subcommand(
      "up", "Run the app on this machine on the embedded backends: exo-proxy with local\n"
            "storage, a private PostgreSQL for database services, then the app's run command.\n"
            "State lives in .exoflow/ beside the manifest. Ctrl-C stops everything.");
  cmd->add_option("-f,--file", options->file, "The manifest")
      ->capture_default_str()
      ->type_name("FILE");
  cmd->add_option("--proxy", options->proxy,
                  "The exo-proxy binary (default: $EXO_PROXY, beside exoflow, or on PATH)")
      ->type_name("PATH");
  cmd->callback([options, &exit_code] {
    local::UpOptions up;
    up.manifest = options->file;
    up.display_name = options->file;
    up.proxy_binary =
        options->proxy.empty() ? local::findProxyBinary() : std::filesystem::path(options->proxy);
    exit_code = local::runUp(up);
  });
}

} // namespace exoflow::cli
