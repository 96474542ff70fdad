#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include "cli/commands.h"
#include "manifest/values.h"

namespace exoflow::cli {

namespace {

struct InitOptions {
  std::string file = "exoflow.yaml";
  std::string app;
};

/// A valid app name made from the current folder's name, or "my-app".
std::string defaultAppName() {
  std::error_code ec;
  std::string folder = std::filesystem::current_path(ec).filename().string();
  std::string name;
  for (char c : folder) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (ok) {
      name += c;
    } else if (!name.empty() && name.back() != '-') {
      name += '-';
    }
  }
  while (!name.empty() && (name.back() == '-' || name.size() > 32))
    name.pop_back();
  if (manifest::parseName(name)) return name;
  return "my-app";
}

int runInit(const InitOptions& options) {
  const std::string name = options.app.empty() ? defaultAppName() : options.app;
  if (auto valid = manifest::parseName(name); !valid) {
    std::fprintf(stderr, "exoflow: error: --app \"%s\" is not a valid app name: %s\n", name.c_str(),
                 valid.error().c_str());
    return kExitUsage;
  }
  // O_EXCL: never overwrite, even if the file appears between a check and the write.
  const int fd = ::open(options.file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    if (errno == EEXIST) {
      std::fprintf(stderr, "exoflow: error: %s already exists; not overwriting it\n",
                   options.file.c_str());
    } else {
      std::fprintf(stderr, "exoflow: error: cannot create %s: %s\n", options.file.c_str(),
                   std::strerror(errno));
    }
    return kExitUsage;
  }
  const std::string text = starterManifest(name);
  std::size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      std::fprintf(stderr, "exoflow: error: cannot write %s: %s\n", options.file.c_str(),
                   std::strerror(errno));
      ::close(fd);
      ::unlink(options.file.c_str());
      return kExitUsage;
    }
    written += static_cast<std::size_t>(n);
  }
  if (::close(fd) != 0) {
    std::fprintf(stderr, "exoflow: error: cannot write %s: %s\n", options.file.c_str(),
                 std::strerror(errno));
    return kExitUsage;
  }
  std::printf("wrote %s for app \"%s\"\nnext: edit it, then run `exoflow validate -f %s`\n",
              options.file.c_str(), name.c_str(), options.file.c_str());
  return kExitOk;
}

} // namespace

void addInitCommand(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<InitOptions>();
  CLI::App* cmd = app.add_subcommand(
      "init", "Write a commented starter manifest. Never overwrites an existing file.");
  cmd->add_option("-f,--file", options->file, "Where to write it")
      ->capture_default_str()
      ->type_name("FILE");
  cmd->add_option("--app", options->app,
                  "The app's name (default: made from the current folder's name)")
      ->type_name("NAME");
  cmd->callback([options, &exit_code] { exit_code = runInit(*options); });
}

} // namespace exoflow::cli
