#include "proxy/proxy_process.h"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

namespace exoflow::proxy::testing {

namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

} // namespace

std::string defaultConfig(const std::string& limits) {
  std::string config = "listen: 127.0.0.1:0\n"
                       "token: ${EXO_TEST_TOKEN}\n"
                       "data_dir: data\n";
  if (!limits.empty()) config += "limits: " + limits + "\n";
  config += R"(bindings:
  orders:
    kind: queue
    options: {visibility_timeout: 30s, dead_letter_after: 2, max_message_size: 256KiB}
    backends: [{type: local.sqlite}]
  events:
    kind: queue
    options: {max_message_size: 1KiB}
    backends: [{type: local.sqlite}]
  assets:
    kind: objects
    backends: [{type: local.sqlite}]
  sessions:
    kind: kv
    backends: [{type: local.sqlite}]
  db:
    kind: database
    backends: [{type: local.postgres, port: 5432, database: shop, user: app, password: "p@ss"}]
)";
  return config;
}

ProxyProcess::ProxyProcess(fs::path dir, const std::string& config,
                           const std::map<std::string, std::string>& env)
    : dir_(std::move(dir)) {
  std::ofstream(dir_ / "proxy.yaml", std::ios::binary) << config;
  const std::string out = (dir_ / "stdout.txt").string();
  const std::string err = (dir_ / "stderr.txt").string();
  // A restart in the same folder must not read the previous run's line.
  fs::remove(out);
  fs::remove(err);
  pid_ = ::fork();
  if (pid_ == 0) {
    ::setenv("EXO_TEST_TOKEN", kToken, 1);
    for (const auto& [name, value] : env)
      ::setenv(name.c_str(), value.c_str(), 1);
    const int out_fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err_fd = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(out_fd, 1);
    ::dup2(err_fd, 2);
    if (::chdir(dir_.c_str()) != 0) ::_exit(126);
    ::execl(EXO_PROXY_BINARY, EXO_PROXY_BINARY, "--config", "proxy.yaml", nullptr);
    ::_exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    const std::string text = slurp(out);
    const std::size_t newline = text.find('\n');
    if (newline != std::string::npos) {
      first_line_ = text.substr(0, newline);
      const std::size_t colon = first_line_.rfind(':');
      if (first_line_.starts_with("listening on ") && colon != std::string::npos) {
        port_ = std::stoi(first_line_.substr(colon + 1));
      }
      return;
    }
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

ProxyProcess::~ProxyProcess() {
  if (pid_ <= 0) return;
  // Every test ends with a drain, so a crash or a sanitizer report at exit fails the test.
  const int code = stop(SIGTERM, 30'000);
  EXPECT_EQ(code, 0) << "exo-proxy did not stop cleanly; its stderr:\n" << errors();
}

std::string ProxyProcess::errors() const {
  return slurp(dir_ / "stderr.txt");
}

int ProxyProcess::wait(int timeout_ms) {
  if (pid_ <= 0) return exit_code_;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      pid_ = -1;
      return exit_code_;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return -1;
}

int ProxyProcess::stop(int signal, int timeout_ms) {
  if (pid_ <= 0) return exit_code_;
  ::kill(pid_, signal);
  const int code = wait(timeout_ms);
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
    return -1;
  }
  return code;
}

Headers ProxyProcess::auth(Headers extra) {
  extra.emplace_back("Authorization", std::string("Bearer ") + kToken);
  return extra;
}

HttpResponse ProxyProcess::call(std::string_view method, std::string_view target,
                                std::string_view body, Headers extra) const {
  return httpRequest(port_, method, target, auth(std::move(extra)), body);
}

TempDir::TempDir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = info != nullptr ? std::string(info->test_suite_name()) + "-" + info->name()
                                     : std::string("proxy");
  for (char& c : name) {
    if (c == '/') c = '_';
  }
  path_ = fs::temp_directory_path() / ("exo-proxy-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(path_);
  fs::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

int runCommand(const std::string& command, std::string* out) {
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return -1;
  std::string text;
  char buffer[4096];
  std::size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0)
    text.append(buffer, n);
  const int status = ::pclose(pipe);
  if (out != nullptr) *out = std::move(text);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string curlPrefix() {
  return std::string("curl -sS --max-time 120 -H 'Authorization: Bearer ") + kToken + "' ";
}

} // namespace exoflow::proxy::testing
