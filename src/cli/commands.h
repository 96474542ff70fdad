#pragma once
// The exoflow subcommands. Each registers itself on the CLI11 app and returns its exit code
// through the callback's `exit_code`: 0 success, 1 the input is invalid, 2 usage or I/O error.

#include <CLI/CLI.hpp>

namespace exoflow::cli {

constexpr int kExitOk = 0;
constexpr int kExitInvalid = 1;
constexpr int kExitUsage = 2;

void addInitCommand(CLI::App& app, int& exit_code);
void addValidateCommand(CLI::App& app, int& exit_code);
void addVersionCommand(CLI::App& app, int& exit_code);
void addUpCommand(CLI::App& app, int& exit_code);
void addSynthCommand(CLI::App& app, int& exit_code);
void addDeployCommand(CLI::App& app, int& exit_code);
void addPlanCommand(CLI::App& app, int& exit_code);
void addCertsCommand(CLI::App& app, int& exit_code);
void addStatusCommand(CLI::App& app, int& exit_code);

/// The starter manifest `exoflow init` writes, for an app called `name`.
std::string starterManifest(std::string_view name);

} // namespace exoflow::cli
