// `exoflow certs`: the private CA and the per-target certificates of the proxies' peer listener
// (mutual TLS between exo-proxy instances, API.md "Proxy configuration v1").
#include "net/certs.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli/commands.h"
#include "deploy/peer_files.h"
#include "manifest/manifest.h"
#include "synth/proxy_config.h"

namespace exoflow::cli {

namespace {

namespace fs = std::filesystem;

constexpr auto kCertPerms =
    fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read;
constexpr auto kKeyPerms = fs::perms::owner_read | fs::perms::owner_write; // 0600

struct CertsOptions {
  std::string file = "exoflow.yaml";
  std::string out = "certs";
  std::vector<std::string> targets;
  bool force = false;
};

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

/// The names to make certificates for: --targets as given, else every target of the manifest
/// by its peer name ("aws-us-east-1"). An empty result means the manifest did not load.
std::vector<std::string> targetNames(const CertsOptions& options) {
  if (!options.targets.empty()) return options.targets;
  auto loaded = manifest::loadManifestFile(options.file, options.file);
  if (!loaded) {
    std::fprintf(stderr, "exoflow: error: %s\n", loaded.error().message.c_str());
    return {};
  }
  if (!loaded->app) {
    std::fputs(manifest::formatText(loaded->diagnostics).c_str(), stderr);
    std::fprintf(stderr, "exoflow: %s is not valid; see `exoflow validate`\n",
                 options.file.c_str());
    return {};
  }
  std::vector<std::string> names;
  for (const model::Target& target : loaded->app->targets)
    names.push_back(synth::peerName(target));
  return names;
}

bool validName(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (const char c : name) {
    if (std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '-' && c != '.') return false;
  }
  return true;
}

bool write(const fs::path& path, const std::string& text, fs::perms perms) {
  auto written = net::writePemFile(path, text, perms);
  if (!written) std::fprintf(stderr, "exoflow: %s\n", written.error().message.c_str());
  return written.has_value();
}

int runCerts(const CertsOptions& options) {
  const std::vector<std::string> names = targetNames(options);
  if (names.empty()) return kExitInvalid;
  for (const std::string& name : names) {
    if (!validName(name) || name == "ca") {
      std::fprintf(stderr,
                   "exoflow: \"%s\" is not a usable target name (letters, digits, '-', '.'; not "
                   "\"ca\")\n",
                   name.c_str());
      return kExitUsage;
    }
  }
  const fs::path dir(options.out);
  const fs::path ca_cert = dir / "ca.crt";
  const fs::path ca_key = dir / "ca.key";
  // Without -f an existing CA is kept (new targets join it), but no certificate is replaced.
  const bool reuse_ca = !options.force && fs::exists(ca_cert) && fs::exists(ca_key);
  std::vector<std::string> existing;
  for (const std::string& name : names) {
    for (const char* ext : {".crt", ".key"}) {
      if (fs::exists(dir / (name + ext))) existing.push_back((dir / (name + ext)).string());
    }
  }
  if (!reuse_ca && (fs::exists(ca_cert) || fs::exists(ca_key)) && !options.force) {
    existing.push_back(fs::exists(ca_cert) ? ca_cert.string() : ca_key.string());
  }
  if (!options.force && !existing.empty()) {
    std::fprintf(stderr, "exoflow: refusing to overwrite %s (use -f to replace)\n",
                 fmt::format("{}", fmt::join(existing, ", ")).c_str());
    return kExitUsage;
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    std::fprintf(stderr, "exoflow: cannot create %s: %s\n", dir.c_str(), ec.message().c_str());
    return kExitUsage;
  }
  net::PemPair ca;
  if (reuse_ca) {
    ca = {slurp(ca_cert), slurp(ca_key)};
  } else {
    auto made = net::makeCa("exoflow peer CA");
    if (!made) {
      std::fprintf(stderr, "exoflow: %s\n", made.error().message.c_str());
      return kExitUsage;
    }
    ca = *made;
    if (!write(ca_key, ca.key, kKeyPerms) || !write(ca_cert, ca.cert, kCertPerms)) {
      return kExitUsage;
    }
    std::printf("wrote %s and %s\n", ca_cert.c_str(), ca_key.c_str());
  }
  for (const std::string& name : names) {
    // localhost and the loopback addresses too, so that the same files serve local tests.
    auto leaf = net::makeLeaf(ca, name, {name, "localhost"}, {"127.0.0.1", "::1"});
    if (!leaf) {
      std::fprintf(stderr, "exoflow: %s\n", leaf.error().message.c_str());
      return kExitUsage;
    }
    const fs::path cert = dir / (name + ".crt");
    const fs::path key = dir / (name + ".key");
    if (!write(key, leaf->key, kKeyPerms) || !write(cert, leaf->cert, kCertPerms)) {
      return kExitUsage;
    }
    std::printf("wrote %s and %s\n", cert.c_str(), key.c_str());
  }
  // One token for the whole app, which every target's proxies present to each other; an
  // existing one is kept (the targets already deployed have it) unless -f.
  auto token = deploy::ensurePeerToken(dir, options.force);
  if (!token) {
    std::fprintf(stderr, "exoflow: %s\n", token.error().c_str());
    return kExitUsage;
  }
  if (*token) std::printf("wrote %s\n", (dir / deploy::kPeerTokenFile).c_str());
  return kExitOk;
}

} // namespace

void addCertsCommand(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<CertsOptions>();
  CLI::App* cmd = app.add_subcommand(
      "certs",
      "Make the certificates of the proxies' peer listener (mutual TLS): a private CA\n"
      "(DIR/ca.crt, ca.key) and per target a certificate that is both its server and its\n"
      "client certificate (DIR/<target>.crt, .key; EC P-256, valid 825 days, SANs: the\n"
      "target's name, localhost, 127.0.0.1, ::1). Targets are the manifest's, named as\n"
      "peers are (aws-us-east-1, azure-eastus), or the names given with --targets. An\n"
      "existing CA in DIR is kept; nothing is overwritten without -f. Also DIR/peer-token,\n"
      "the app's peer token (kept when it exists, unless -f); `exoflow deploy --certs DIR`\n"
      "hands all of these to the templates. Keys and the token are written 0600.\n"
      "Exit status: 0 written, 1 invalid manifest, 2 usage, existing files or I/O error.");
  cmd->add_option("--file", options->file, "The manifest")
      ->capture_default_str()
      ->type_name("FILE");
  cmd->add_option("-o,--out", options->out, "Where the files are written")
      ->capture_default_str()
      ->type_name("DIR");
  cmd->add_option("--targets", options->targets, "Names to make certificates for instead")
      ->type_name("NAME...");
  cmd->add_flag("-f,--force", options->force, "Replace existing files, the CA included");
  cmd->callback([options, &exit_code] { exit_code = runCerts(*options); });
}

} // namespace exoflow::cli
