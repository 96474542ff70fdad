// exoflow: validate, synthesize and run multi-cloud applications described by exoflow.yaml.
#include <cstdio>
#include <exception>

#include "cli/commands.h"

int main(int argc, char** argv) {
  using namespace exoflow::cli;
  int exit_code = kExitOk;
  try {
    CLI::App app{"exoflow: one manifest, several clouds, failover the app never notices.\n"
                 "Describe the app in exoflow.yaml, then validate, synthesize and run it.",
                 "exoflow"};
    app.require_subcommand(1);
    app.set_version_flag("--version", EXOFLOW_VERSION);
    addInitCommand(app, exit_code);
    addValidateCommand(app, exit_code);
    addUpCommand(app, exit_code);
    addSynthCommand(app, exit_code);
    addPlanCommand(app, exit_code);
    addDeployCommand(app, exit_code);
    addCertsCommand(app, exit_code);
    addStatusCommand(app, exit_code);
    addVersionCommand(app, exit_code);
    app.footer("Run `exoflow COMMAND --help` for a command's options. Docs: docs/cli.md");
    try {
      app.parse(argc, argv);
    } catch (const CLI::Success& e) {
      return app.exit(e);
    } catch (const CLI::ParseError& e) {
      app.exit(e);
      return kExitUsage;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "exoflow: internal error: %s\n", e.what());
    return kExitUsage;
  }
  return exit_code;
}
