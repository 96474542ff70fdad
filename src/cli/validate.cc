#include <cstdio>
#include <string>
#include <variant>

#include <fmt/format.h>

#include "cli/commands.h"
#include "manifest/manifest.h"

namespace exoflow::cli {

namespace {

struct ValidateOptions {
  std::string file = "exoflow.yaml";
  std::string output = "text";
};

std::string summary(const model::App& app, const std::vector<manifest::Diagnostic>& diags) {
  std::size_t warnings = diags.size();
  std::string text = fmt::format("app {}: {} service{}, {} target{}", app.name, app.services.size(),
                                 app.services.size() == 1 ? "" : "s", app.targets.size(),
                                 app.targets.size() == 1 ? "" : "s");
  if (warnings > 0) text += fmt::format(", {} warning{}", warnings, warnings == 1 ? "" : "s");
  return text;
}

int runValidate(const ValidateOptions& options) {
  auto loaded = manifest::loadManifestFile(options.file, options.file);
  if (!loaded) {
    std::fprintf(stderr, "exoflow: error: %s\n", loaded.error().message.c_str());
    return kExitUsage;
  }
  const auto& diags = loaded->diagnostics;
  if (options.output == "json") {
    std::fputs(manifest::formatJson(diags).c_str(), stdout);
  } else {
    std::fputs(manifest::formatText(diags).c_str(), stderr);
    if (loaded->app) {
      std::printf("%s: valid (%s)\n", options.file.c_str(), summary(*loaded->app, diags).c_str());
    } else {
      std::size_t errors = 0;
      for (const auto& d : diags)
        errors += d.severity == manifest::Severity::kError ? 1 : 0;
      std::fprintf(stderr, "%s: %zu error%s\n", options.file.c_str(), errors,
                   errors == 1 ? "" : "s");
    }
  }
  return loaded->app ? kExitOk : kExitInvalid;
}

} // namespace

void addValidateCommand(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<ValidateOptions>();
  CLI::App* cmd = app.add_subcommand(
      "validate",
      "Check a manifest and report every problem as file:line:col.\n"
      "Exit status: 0 valid (warnings allowed), 1 invalid, 2 usage or unreadable file.");
  cmd->add_option("-f,--file", options->file, "The manifest to check")
      ->capture_default_str()
      ->type_name("FILE");
  cmd->add_option("-o,--output", options->output, "Diagnostics as text (stderr) or json (stdout)")
      ->capture_default_str()
      ->check(CLI::IsMember({"text", "json"}))
      ->type_name("FORMAT");
  cmd->callback([options, &exit_code] { exit_code = runValidate(*options); });
}

} // namespace exoflow::cli
