#include <cstdio>

#include "cli/commands.h"

namespace exoflow::cli {

void addVersionCommand(CLI::App& app, int& exit_code) {
  CLI::App* cmd = app.add_subcommand("version", "Print the exoflow version and manifest format.");
  cmd->callback([&exit_code] {
    std::printf("exoflow %s (manifest format 1, API v1)\n", EXOFLOW_VERSION);
    exit_code = kExitOk;
  });
}

} // namespace exoflow::cli
