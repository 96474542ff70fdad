#pragma once
// Starts the real exo-proxy binary on port 0 in a temporary folder, as a user would, and stops
// it. Tests talk to it over HTTP (http_client.h) and with curl.

#include <filesystem>
#include <map>
#include <string>

#include <sys/types.h>

#include "proxy/http_client.h"
#include "support/proxy_runner.h"

namespace exoflow::proxy::testing {

/// The token every test config uses.
inline constexpr const char* kToken = "test-token-0123456789";

/// A config with a queue "orders" (dead letters after 2 receives, 30s visibility), a queue
/// "events", objects "assets", kv "sessions" and a database "db", all on local.sqlite.
std::string defaultConfig(const std::string& limits = "");

class ProxyProcess {
public:
  /// Writes `config` to <dir>/proxy.yaml and starts exo-proxy --config on it.
  ProxyProcess(std::filesystem::path dir, const std::string& config,
               const std::map<std::string, std::string>& env = {});
  /// Stops the proxy with SIGTERM and expects a clean exit (0).
  ~ProxyProcess();
  ProxyProcess(const ProxyProcess&) = delete;
  ProxyProcess& operator=(const ProxyProcess&) = delete;

  /// True once it printed "listening on"; port() is then the port it chose.
  bool started() const { return runner_.started(); }
  int port() const { return runner_.port(); }
  pid_t pid() const { return runner_.pid(); }
  const std::filesystem::path& dir() const { return runner_.dir(); }
  /// The first line it printed on stdout.
  const std::string& firstLine() const { return runner_.firstLine(); }
  /// What it wrote to stderr so far.
  std::string errors() const { return runner_.errors(); }
  /// Sends `signal` and waits for the exit; returns the exit code (-1 if killed by a signal or
  /// still running after `timeout_ms`, in which case it is killed).
  int stop(int signal, int timeout_ms = 30'000) { return runner_.stop(signal, timeout_ms); }
  /// Waits for an exit without signalling; -1 if still running after `timeout_ms`.
  int wait(int timeout_ms) { return runner_.wait(timeout_ms); }

  /// Headers with the bearer token, plus `extra`.
  static Headers auth(Headers extra = {});
  /// One request with the token.
  HttpResponse call(std::string_view method, std::string_view target, std::string_view body = {},
                    Headers extra = {}) const;

private:
  testsupport::ProxyRunner runner_;
};

/// A fresh temporary folder named after the running test; removed by the destructor.
class TempDir {
public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

private:
  std::filesystem::path path_;
};

/// Runs a shell command; returns its exit code and fills `out` with its stdout.
int runCommand(const std::string& command, std::string* out = nullptr);

/// The curl command line prefix for the proxy: `curl -sS` plus the token header.
std::string curlPrefix();

} // namespace exoflow::proxy::testing
