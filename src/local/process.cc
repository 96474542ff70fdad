#include "local/process.h"

#include <cerrno>
#include <cstring>
#include <thread>

#include <fcntl.h>
#include <fmt/format.h>
#include <grp.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace exoflow::local {

namespace {

/// Everything the child needs, prepared before fork(): after it only async-signal-safe calls.
struct Prepared {
  std::vector<std::string> argv_storage;
  std::vector<char*> argv;
  std::vector<std::string> env_storage;
  std::vector<char*> envp;
};

Prepared prepare(const ProcessSpec& spec) {
  Prepared p;
  p.argv_storage = spec.argv;
  for (auto& a : p.argv_storage)
    p.argv.push_back(a.data());
  p.argv.push_back(nullptr);
  std::map<std::string, std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry(*e);
    const auto eq = entry.find('=');
    if (eq != std::string::npos) env[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  for (const auto& [k, v] : spec.env)
    env[k] = v;
  for (const auto& [k, v] : env) {
    std::string entry = k;
    entry += '=';
    entry += v;
    p.env_storage.push_back(std::move(entry));
  }
  for (auto& e : p.env_storage)
    p.envp.push_back(e.data());
  p.envp.push_back(nullptr);
  return p;
}

/// Resolves argv[0] on PATH before fork, so the child can use execve.
std::string resolve(const std::string& program) {
  if (program.find('/') != std::string::npos) return program;
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    const std::size_t end = std::min(dirs.find(':', start), dirs.size());
    std::string candidate = dirs.substr(start, end - start) + "/" + program;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return program;
}

[[noreturn]] void childFail(int fd, const char* what) {
  // Only async-signal-safe calls here.
  const int err = errno;
  (void)!::write(fd, what, std::strlen(what));
  (void)!::write(fd, ": ", 2);
  const char* msg = std::strerror(err);
  (void)!::write(fd, msg, std::strlen(msg));
  (void)!::write(fd, "\n", 1);
  ::_exit(127);
}

} // namespace

Result<Process> Process::start(const ProcessSpec& spec) {
  if (spec.argv.empty()) return fail(ErrorCode::kInvalidArgument, spec.name + ": nothing to run");
  Prepared p = prepare(spec);
  const std::string program = resolve(spec.argv[0]);
  const std::string cwd = spec.cwd.string();
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return fail(ErrorCode::kInternal, fmt::format("{}: pipe: {}", spec.name, std::strerror(errno)));
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return fail(ErrorCode::kInternal, fmt::format("{}: fork: {}", spec.name, std::strerror(errno)));
  }
  if (pid == 0) {
    // The child: own process group, default signals, output to the pipe, then exec.
    ::setpgid(0, 0);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
    ::signal(SIGPIPE, SIG_DFL);
    ::dup2(fds[1], STDOUT_FILENO);
    ::dup2(fds[1], STDERR_FILENO);
    const int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
    if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) childFail(STDERR_FILENO, "chdir");
    if (spec.gid && (::setgroups(0, nullptr) != 0 || ::setgid(*spec.gid) != 0)) {
      childFail(STDERR_FILENO, "setgid");
    }
    if (spec.uid && ::setuid(*spec.uid) != 0) childFail(STDERR_FILENO, "setuid");
    ::execve(program.c_str(), p.argv.data(), p.envp.data());
    childFail(STDERR_FILENO, program.c_str());
  }
  ::setpgid(pid, pid); // also from the parent, so a signal sent right away finds the group
  ::close(fds[1]);
  Process process;
  process.name_ = spec.name;
  process.pid_ = pid;
  process.output_fd_ = fds[0];
  return process;
}

Process::Process(Process&& other) noexcept
    : name_(std::move(other.name_)), pid_(other.pid_), output_fd_(other.output_fd_),
      exit_status_(other.exit_status_) {
  other.pid_ = -1;
  other.output_fd_ = -1;
}

Process& Process::operator=(Process&& other) noexcept {
  if (this != &other) {
    if (pid_ > 0 && running()) stop(SIGKILL, std::chrono::milliseconds(0));
    closeOutput();
    name_ = std::move(other.name_);
    pid_ = other.pid_;
    output_fd_ = other.output_fd_;
    exit_status_ = other.exit_status_;
    other.pid_ = -1;
    other.output_fd_ = -1;
  }
  return *this;
}

Process::~Process() {
  if (pid_ > 0 && running()) stop(SIGKILL, std::chrono::milliseconds(0));
  closeOutput();
}

void Process::signal(int sig) const {
  if (pid_ > 0 && !exit_status_) ::kill(-pid_, sig);
}

bool Process::tryReap() {
  if (exit_status_ || pid_ <= 0) return true;
  int status = 0;
  const pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    exit_status_ = status;
    // Whatever the child left running in its group goes with it.
    ::kill(-pid_, SIGKILL);
    return true;
  }
  return false;
}

bool Process::waitFor(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!tryReap()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

void Process::stop(int sig, std::chrono::milliseconds grace) {
  if (!running()) return;
  signal(sig);
  if (!waitFor(grace)) {
    signal(SIGKILL);
    waitFor(std::chrono::seconds(10));
  }
}

void Process::closeOutput() {
  if (output_fd_ >= 0) ::close(output_fd_);
  output_fd_ = -1;
}

std::string describeWaitStatus(int status) {
  if (WIFEXITED(status)) return fmt::format("exited with status {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    return fmt::format("killed by signal {} ({})", WTERMSIG(status), ::strsignal(WTERMSIG(status)));
  }
  return fmt::format("ended with wait status {}", status);
}

} // namespace exoflow::local
