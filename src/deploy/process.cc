#include "deploy/process.h"

#include <utility>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ; // NOLINT(readability-redundant-declaration)

namespace exoflow::deploy {

namespace {

/// An unlinked read-write temporary file.
int tempFile() {
  const char* dir = std::getenv("TMPDIR");
  std::string pattern =
      std::string(dir != nullptr && *dir != '\0' ? dir : "/tmp") + "/exoflow-child-XXXXXX";
  const int fd = ::mkstemp(pattern.data());
  if (fd >= 0) ::unlink(pattern.c_str());
  return fd;
}

std::string readAll(int fd) {
  std::string text;
  if (fd < 0 || ::lseek(fd, 0, SEEK_SET) < 0) return text;
  char buf[8192];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  return text;
}

int exitCode(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

} // namespace

tl::expected<Process, std::string> Process::start(const std::vector<std::string>& argv) {
  if (argv.empty()) return tl::unexpected(std::string("no program to run"));
  Process p;
  p.out_fd_ = tempFile();
  p.err_fd_ = tempFile();
  if (p.out_fd_ < 0 || p.err_fd_ < 0) {
    return tl::unexpected("cannot create a temporary file for the output of " + argv[0] + ": " +
                          std::strerror(errno));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, p.out_fd_, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, p.err_fd_, STDERR_FILENO);
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const std::string& a : argv)
    args.push_back(const_cast<char*>(a.c_str())); // NOLINT(cppcoreguidelines-pro-type-const-cast)
  args.push_back(nullptr);
  const int rc = ::posix_spawnp(&p.pid_, argv[0].c_str(), &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    p.pid_ = -1;
    return tl::unexpected("cannot run " + argv[0] + ": " + std::strerror(rc));
  }
  return p;
}

Process::Process(Process&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)), out_fd_(std::exchange(other.out_fd_, -1)),
      err_fd_(std::exchange(other.err_fd_, -1)), exited_(other.exited_), status_(other.status_) {}

Process& Process::operator=(Process&& other) noexcept {
  if (this != &other) {
    close();
    pid_ = std::exchange(other.pid_, -1);
    out_fd_ = std::exchange(other.out_fd_, -1);
    err_fd_ = std::exchange(other.err_fd_, -1);
    exited_ = other.exited_;
    status_ = other.status_;
  }
  return *this;
}

Process::~Process() {
  close();
}

void Process::close() {
  if (pid_ > 0 && !exited_) {
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, &status_, 0);
    exited_ = true;
  }
  if (out_fd_ >= 0) ::close(out_fd_);
  if (err_fd_ >= 0) ::close(err_fd_);
  out_fd_ = err_fd_ = -1;
}

bool Process::running() {
  if (pid_ <= 0 || exited_) return false;
  const pid_t r = ::waitpid(pid_, &status_, WNOHANG);
  if (r == pid_) exited_ = true;
  return !exited_;
}

ProcessResult Process::wait() {
  while (pid_ > 0 && !exited_) {
    const pid_t r = ::waitpid(pid_, &status_, 0);
    if (r == pid_ || (r < 0 && errno != EINTR)) exited_ = true;
  }
  ProcessResult result;
  result.exit_code = exitCode(status_);
  result.out = readAll(out_fd_);
  result.err = readAll(err_fd_);
  return result;
}

tl::expected<ProcessResult, std::string> runProcess(const std::vector<std::string>& argv) {
  auto p = Process::start(argv);
  if (!p) return tl::unexpected(p.error());
  return p->wait();
}

std::string quoteCommand(const std::vector<std::string>& argv) {
  std::string line;
  for (const std::string& a : argv) {
    if (!line.empty()) line += ' ';
    const bool plain =
        !a.empty() && a.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                          "0123456789-_./:=,@+%") == std::string::npos;
    if (plain) {
      line += a;
      continue;
    }
    line += '\'';
    for (const char c : a) {
      if (c == '\'') {
        line += "'\\''";
      } else {
        line += c;
      }
    }
    line += '\'';
  }
  return line;
}

} // namespace exoflow::deploy
