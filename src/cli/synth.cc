#include "synth/synth.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "cli/commands.h"
#include "manifest/manifest.h"

namespace exoflow::cli {

namespace {

namespace fs = std::filesystem;

struct SynthOptions {
  std::string file = "exoflow.yaml";
  std::string target = "all";
  std::string out = "out";
};

synth::TargetSet targetSet(const std::string& name) {
  if (name == "aws") return synth::TargetSet::kAws;
  if (name == "azure") return synth::TargetSet::kAzure;
  if (name == "local") return synth::TargetSet::kLocal;
  return synth::TargetSet::kAll;
}

/// Writes every file; the folders of the clouds written (out/aws, out/azure, out/local) are
/// replaced as a whole so that no file of an earlier run is left behind.
bool writeFiles(const fs::path& root, const std::vector<synth::OutputFile>& files) {
  std::set<std::string> tops;
  for (const auto& f : files)
    tops.insert(f.path.substr(0, f.path.find('/')));
  std::error_code ec;
  for (const std::string& top : tops) {
    fs::remove_all(root / top, ec);
    if (ec) {
      std::fprintf(stderr, "exoflow: error: cannot replace %s: %s\n", (root / top).string().c_str(),
                   ec.message().c_str());
      return false;
    }
  }
  for (const auto& f : files) {
    const fs::path path = root / f.path;
    fs::create_directories(path.parent_path(), ec);
    std::ofstream out(path, std::ios::binary);
    out << f.content;
    out.close();
    if (ec || !out) {
      std::fprintf(stderr, "exoflow: error: cannot write %s\n", path.string().c_str());
      return false;
    }
  }
  return true;
}

int runSynth(const SynthOptions& options) {
  auto loaded = manifest::loadManifestFile(options.file, options.file);
  if (!loaded) {
    std::fprintf(stderr, "exoflow: error: %s\n", loaded.error().message.c_str());
    return kExitUsage;
  }
  std::fputs(manifest::formatText(loaded->diagnostics).c_str(), stderr);
  if (!loaded->app) {
    std::fprintf(stderr, "%s: invalid; run `exoflow validate -f %s`\n", options.file.c_str(),
                 options.file.c_str());
    return kExitInvalid;
  }
  auto result = synth::synthesize(*loaded->app, targetSet(options.target));
  if (!result) {
    std::fprintf(stderr, "%s: error: %s: %s\n", options.file.c_str(), result.error().path.c_str(),
                 result.error().message.c_str());
    return kExitInvalid;
  }
  if (!writeFiles(options.out, result->files)) return kExitUsage;
  for (const auto& f : result->files) {
    std::printf("wrote %s (%zu bytes)\n", (fs::path(options.out) / f.path).string().c_str(),
                f.content.size());
  }
  for (const std::string& note : result->notes)
    std::printf("note: %s\n", note.c_str());
  return kExitOk;
}

} // namespace

void addSynthCommand(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<SynthOptions>();
  CLI::App* cmd = app.add_subcommand(
      "synth", "Write the native templates of each target and one exo-proxy config per target:\n"
               "out/aws/{bootstrap,global,plan}.json, out/aws/<region>/{app.json,proxy.yaml},\n"
               "out/azure/{bootstrap,global,plan}.json, out/azure/<region>/{app.json,proxy.yaml},\n"
               "out/local/proxy.yaml. The same manifest always gives the same bytes.\n"
               "Exit status: 0 written, 1 invalid manifest, 2 usage or I/O error.");
  cmd->add_option("-f,--file", options->file, "The manifest")
      ->capture_default_str()
      ->type_name("FILE");
  cmd->add_option("-t,--target", options->target, "Which targets to write")
      ->capture_default_str()
      ->check(CLI::IsMember({"aws", "azure", "local", "all"}))
      ->type_name("TARGET");
  cmd->add_option("-o,--out", options->out, "The output folder")
      ->capture_default_str()
      ->type_name("DIR");
  cmd->callback([options, &exit_code] { exit_code = runSynth(*options); });
}

} // namespace exoflow::cli
