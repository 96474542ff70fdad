#pragma once
// Runs the real exo-proxy binary for a test, as a user would: a config file in a folder of the
// test's, `exo-proxy --config proxy.yaml` started in that folder, its address read from the
// first line it prints (`listening on <address>:<port>`), stdout and stderr kept in files there.
// Shared by the proxy's route tests, the client's integration tests and the durability tests.

#include <filesystem>
#include <map>
#include <string>

#include <sys/types.h>

namespace exoflow::testsupport {

struct ProxyLaunch {
  std::string binary;                     ///< the exo-proxy executable
  std::filesystem::path dir;              ///< where proxy.yaml, stdout.txt and stderr.txt go
  std::string config;                     ///< written to <dir>/proxy.yaml
  std::map<std::string, std::string> env; ///< added to the inherited environment
  int start_timeout_ms = 30'000;
};

class ProxyRunner {
public:
  /// Starts the proxy and waits for its first line. started() tells whether it is listening;
  /// when not, errors() says why (a refused config, a port in use...).
  explicit ProxyRunner(const ProxyLaunch& launch);
  /// Kills a proxy still running (SIGKILL); tests that care stop it themselves first.
  ~ProxyRunner();
  ProxyRunner(const ProxyRunner&) = delete;
  ProxyRunner& operator=(const ProxyRunner&) = delete;

  bool started() const { return port_ > 0; }
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  int port() const { return port_; }
  /// `<address>:<port>` as printed.
  const std::string& address() const { return address_; }
  const std::string& firstLine() const { return first_line_; }
  const std::filesystem::path& dir() const { return dir_; }
  /// What the proxy wrote to stderr so far.
  std::string errors() const;

  /// Waits for an exit without signalling: the exit code, or -1 if it was killed by a signal
  /// or is still running after `timeout_ms`.
  int wait(int timeout_ms);
  /// Sends `signal` and waits; a proxy still running after `timeout_ms` is killed and -1
  /// returned.
  int stop(int signal, int timeout_ms = 30'000);

private:
  std::filesystem::path dir_;
  pid_t pid_ = -1;
  int port_ = 0;
  int exit_code_ = -2;
  std::string address_;
  std::string first_line_;
};

/// The whole of a file, or "" when it cannot be read.
std::string slurpFile(const std::filesystem::path& path);

} // namespace exoflow::testsupport
