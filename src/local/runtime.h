#pragma once
// `exoflow up`: the whole application on this machine, on the embedded backends. Starts a
// private PostgreSQL and/or MariaDB for database services, exo-proxy with local.sqlite
// bindings, then the app's `run` command; streams every log with a prefix; stops everything on
// Ctrl-C or when the app exits. State lives in .exoflow/ beside the manifest and survives restarts.

#include <filesystem>
#include <string>

namespace exoflow::local {

struct UpOptions {
  std::filesystem::path manifest;     ///< the manifest's path
  std::string display_name;           ///< as the user wrote it, for diagnostics
  std::filesystem::path proxy_binary; ///< exo-proxy
};

/// Runs until the app exits (returns its exit code) or a signal stops it (returns 0); 1 when
/// the manifest is invalid or a part fails to start, 2 when the manifest cannot be read.
int runUp(const UpOptions& options);

/// Finds exo-proxy: $EXO_PROXY, then beside the running exoflow binary, then on PATH.
std::filesystem::path findProxyBinary();

/// `EXO_DB_<NAME>_URL` for a database service: upper-cased, '-' as '_'.
std::string databaseUrlVariable(const std::string& service);

} // namespace exoflow::local
