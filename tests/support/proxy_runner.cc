#include "support/proxy_runner.h"

#include <chrono>
#include <csignal>
#include <fstream>
#include <sstream>
#include <thread>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace exoflow::testsupport {

namespace fs = std::filesystem;

std::string slurpFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

ProxyRunner::ProxyRunner(const ProxyLaunch& launch) : dir_(launch.dir) {
  std::ofstream(dir_ / "proxy.yaml", std::ios::binary) << launch.config;
  const std::string out = (dir_ / "stdout.txt").string();
  const std::string err = (dir_ / "stderr.txt").string();
  // A restart in the same folder must not read the previous run's line.
  fs::remove(out);
  fs::remove(err);
  pid_ = ::fork();
  if (pid_ == 0) {
    for (const auto& [name, value] : launch.env)
      ::setenv(name.c_str(), value.c_str(), 1);
    const int out_fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err_fd = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(out_fd, STDOUT_FILENO);
    ::dup2(err_fd, STDERR_FILENO);
    if (::chdir(dir_.c_str()) != 0) ::_exit(126);
    ::execl(launch.binary.c_str(), launch.binary.c_str(), "--config", "proxy.yaml",
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  if (pid_ < 0) return;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(launch.start_timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    const std::string text = slurpFile(out);
    const std::size_t newline = text.find('\n');
    if (newline != std::string::npos) {
      first_line_ = text.substr(0, newline);
      constexpr std::string_view kPrefix = "listening on ";
      const std::size_t colon = first_line_.rfind(':');
      if (first_line_.starts_with(kPrefix) && colon != std::string::npos) {
        address_ = first_line_.substr(kPrefix.size());
        port_ = std::stoi(first_line_.substr(colon + 1));
      }
      return;
    }
    if (wait(0) != -1 || pid_ <= 0) return; // exited before listening
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

ProxyRunner::~ProxyRunner() {
  if (pid_ > 0) stop(SIGKILL, 30'000);
}

std::string ProxyRunner::errors() const {
  return slurpFile(dir_ / "stderr.txt");
}

int ProxyRunner::wait(int timeout_ms) {
  if (pid_ <= 0) return exit_code_;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      pid_ = -1;
      return exit_code_;
    }
    if (std::chrono::steady_clock::now() >= deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

int ProxyRunner::stop(int signal, int timeout_ms) {
  if (pid_ <= 0) return exit_code_;
  ::kill(pid_, signal);
  const int code = wait(timeout_ms);
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
    exit_code_ = -1;
    return -1;
  }
  return code;
}

} // namespace exoflow::testsupport
