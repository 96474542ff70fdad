#include "client/proxy_process.h"

#include <csignal>
#include <cstdlib>

#include <unistd.h>

namespace exoflow::client::testing {
namespace {

constexpr int kStartTimeoutMs = 30'000;

// Every binding the integration tests use. `small` has a tiny max_message_size for the 413
// test; the others are independent so tests never see each other's messages.
constexpr const char* kBindings = R"(bindings:
  orders:
    kind: queue
    options: {visibility_timeout: 30s}
    backends: [{type: local.sqlite}]
  jobs:
    kind: queue
    backends: [{type: local.sqlite}]
  small:
    kind: queue
    options: {max_message_size: 1KiB}
    backends: [{type: local.sqlite}]
  assets:
    kind: objects
    backends: [{type: local.sqlite}]
  sessions:
    kind: kv
    backends: [{type: local.sqlite}]
)";

} // namespace

std::string proxyBinary() {
  if (const char* path = std::getenv("EXO_PROXY_BINARY"); path != nullptr && *path != '\0') {
    return path;
  }
#ifdef EXO_PROXY_BINARY
  return EXO_PROXY_BINARY;
#else
  return "";
#endif
}

std::unique_ptr<ProxyProcess> ProxyProcess::start(const std::string& extra_config,
                                                  std::string& error) {
  std::unique_ptr<ProxyProcess> proxy(new ProxyProcess());
  std::string pattern = (std::filesystem::temp_directory_path() / "exoclient-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    error = "mkdtemp failed";
    return nullptr;
  }
  proxy->dir_ = pattern;
  std::string config = "listen: 127.0.0.1:0\nidentity: {cloud: local}\ntoken: ";
  config += kProxyToken;
  config += "\ndata_dir: data\n";
  if (!extra_config.empty()) config += extra_config + "\n";
  config += kBindings;
  proxy->runner_ = std::make_unique<testsupport::ProxyRunner>(
      testsupport::ProxyLaunch{proxyBinary(), proxy->dir_, config, {}, kStartTimeoutMs});
  if (!proxy->runner_->started()) {
    error = "exo-proxy did not start (first line '" + proxy->runner_->firstLine() +
            "'): " + proxy->log();
    return nullptr;
  }
  proxy->endpoint_ = "http://" + proxy->runner_->address();
  return proxy;
}

ProxyProcess::~ProxyProcess() {
  if (runner_) runner_->stop(SIGTERM, 5'000);
  runner_.reset();
  std::error_code ec;
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
}

void ProxyTest::SetUp() {
  if (proxyBinary().empty()) {
    GTEST_SKIP() << "no exo-proxy binary (build the exo-proxy target or set EXO_PROXY_BINARY)";
  }
  std::string error;
  proxy_ = ProxyProcess::start(extraConfig(), error);
  ASSERT_TRUE(proxy_) << error;
}

Client ProxyTest::client(std::optional<std::string> token, ClientOptions options) {
  options.endpoint = proxy_->endpoint();
  options.token = token.value_or(kProxyToken);
  auto created = Client::create(std::move(options));
  EXPECT_TRUE(created) << created.error().message;
  return std::move(*created);
}

} // namespace exoflow::client::testing
