#pragma once
// Runs the real exo-proxy for the client's integration tests: in a fresh temp dir, with a
// config whose bindings use local.sqlite, on port 0; the address comes from its first stdout
// line (`listening on <address>:<port>`).

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "exoflow/client.h"
#include "support/proxy_runner.h"

namespace exoflow::client::testing {

/// The token every test proxy expects.
inline constexpr const char* kProxyToken = "client-test-token";

/// The exo-proxy binary: $EXO_PROXY_BINARY, else the one CMake built; empty when neither.
std::string proxyBinary();

/// A running exo-proxy; stopped (SIGTERM, then SIGKILL) and its temp dir removed on destruction.
class ProxyProcess {
public:
  /// Starts the proxy with the standard test bindings plus `extra_config` (top-level YAML lines,
  /// e.g. `limits: {idle_timeout: 500ms}`). Empty `error` on success.
  static std::unique_ptr<ProxyProcess> start(const std::string& extra_config, std::string& error);

  ~ProxyProcess();
  ProxyProcess(const ProxyProcess&) = delete;
  ProxyProcess& operator=(const ProxyProcess&) = delete;

  /// `http://<address>:<port>`.
  const std::string& endpoint() const { return endpoint_; }
  /// The proxy's stderr so far (for failure messages).
  std::string log() const { return runner_->errors(); }
  /// The folder the proxy runs in.
  const std::filesystem::path& dir() const { return dir_; }

private:
  ProxyProcess() = default;

  std::filesystem::path dir_;
  std::unique_ptr<testsupport::ProxyRunner> runner_;
  std::string endpoint_;
};

/// A test with its own proxy: started in SetUp (skipped when there is no binary).
class ProxyTest : public ::testing::Test {
protected:
  void SetUp() override;
  /// Top-level YAML added to the proxy's config; override to change limits.
  virtual std::string extraConfig() const { return ""; }

  /// A client for the proxy with the right token, or `token` when given.
  Client client(std::optional<std::string> token = std::nullopt, ClientOptions options = {});

  std::unique_ptr<ProxyProcess> proxy_;
};

} // namespace exoflow::client::testing
