#include "client/proxy_process.h"

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
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

// Reads the first line of `fd` within the deadline; false on EOF or timeout.
bool readFirstLine(int fd, std::string& line) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(kStartTimeoutMs);
  char c = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd pfd{fd, POLLIN, 0};
    if (::poll(&pfd, 1, 100) <= 0) continue;
    const ssize_t n = ::read(fd, &c, 1);
    if (n <= 0) return false;
    if (c == '\n') return true;
    line += c;
  }
  return false;
}

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
  const std::string binary = proxyBinary();
  std::unique_ptr<ProxyProcess> proxy(new ProxyProcess());
  std::string pattern = (std::filesystem::temp_directory_path() / "exoclient-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    error = "mkdtemp failed";
    return nullptr;
  }
  proxy->dir_ = pattern;
  {
    std::ofstream config(proxy->dir_ / "proxy.yaml");
    config << "listen: 127.0.0.1:0\nidentity: {cloud: local}\ntoken: " << kProxyToken
           << "\ndata_dir: data\n"
           << extra_config << (extra_config.empty() ? "" : "\n") << kBindings;
  }
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) {
    error = "pipe failed";
    return nullptr;
  }
  const std::string config_path = (proxy->dir_ / "proxy.yaml").string();
  const std::string log_path = (proxy->dir_ / "proxy.log").string();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out[1], STDOUT_FILENO);
    const int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (log >= 0) ::dup2(log, STDERR_FILENO);
    if (::chdir(proxy->dir_.c_str()) != 0) ::_exit(126);
    ::execl(binary.c_str(), binary.c_str(), "--config", config_path.c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(out[1]);
  proxy->pid_ = pid;
  proxy->stdout_fd_ = out[0];
  std::string line;
  if (pid < 0 || !readFirstLine(out[0], line)) {
    error = "exo-proxy did not print its address: " + proxy->log();
    return nullptr;
  }
  constexpr std::string_view kPrefix = "listening on ";
  if (line.rfind(kPrefix, 0) != 0) {
    error = "unexpected first line '" + line + "': " + proxy->log();
    return nullptr;
  }
  proxy->endpoint_ = "http://" + line.substr(kPrefix.size());
  // Keep reading stdout so the proxy never blocks on a full pipe.
  proxy->drain_ = std::thread([fd = out[0]] {
    char buffer[4096];
    while (::read(fd, buffer, sizeof buffer) > 0) {
    }
  });
  return proxy;
}

ProxyProcess::~ProxyProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    int status = 0;
    bool exited = false;
    for (int i = 0; i < 100 && !exited; ++i) {
      exited = ::waitpid(pid_, &status, WNOHANG) == pid_;
      if (!exited) ::usleep(50'000);
    }
    if (!exited) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
    }
  }
  if (drain_.joinable()) drain_.join();
  if (stdout_fd_ >= 0) ::close(stdout_fd_);
  std::error_code ec;
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
}

std::string ProxyProcess::log() const {
  std::ifstream in(dir_ / "proxy.log");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
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
