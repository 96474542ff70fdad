#include "local/process.h"

#include <array>
#include <cerrno>
#include <cstring>
#include <deque>
#include <memory>
#include <thread>

#include <fcntl.h>
#include <fmt/format.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "local/log_pump.h"

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

namespace {

namespace fs = std::filesystem;

/// Everything a child writes until its output ends; the child is reaped meanwhile, which also
/// ends what it left running in its group.
std::string readAll(Process& process) {
  std::string out;
  std::array<char, 4096> buffer{};
  int idle_after_exit = 0;
  while (true) {
    pollfd p{process.outputFd(), POLLIN, 0};
    const int ready = ::poll(&p, 1, 100);
    if (ready > 0) {
      const ssize_t n = ::read(p.fd, buffer.data(), buffer.size());
      if (n > 0) {
        out.append(buffer.data(), static_cast<std::size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      return out;
    }
    // A child that exited may have left a process outside its group holding the pipe.
    if (process.tryReap() && ++idle_after_exit > 2) return out;
  }
}

bool succeeded(int status) {
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

} // namespace

Result<RunAs> serverUser(const std::string& user, const std::string& server) {
  if (::geteuid() != 0) return RunAs{};
  const passwd* pw = ::getpwnam(user.c_str());
  if (pw == nullptr) {
    return fail(
        ErrorCode::kUnavailable,
        fmt::format("running as root, and there is no `{}` user to run {} as", user, server));
  }
  return RunAs{user, pw->pw_uid, pw->pw_gid};
}

Result<void> checkReachable(const fs::path& dir, const RunAs& as, const std::string& server) {
  if (!as.uid) return {};
  for (fs::path p = dir.parent_path(); !p.empty(); p = p.parent_path()) {
    struct stat st {};
    if (::stat(p.c_str(), &st) == 0) {
      const bool owner = st.st_uid == *as.uid && (st.st_mode & S_IXUSR) != 0;
      const bool other = (st.st_mode & S_IXOTH) != 0;
      if (!owner && !other) {
        return fail(ErrorCode::kPermissionDenied,
                    fmt::format("{} runs as the `{}` user, which cannot enter {}; "
                                "run `chmod o+x {}` or keep the project elsewhere",
                                server, as.user, p.string(), p.string()));
      }
    }
    if (p == p.root_path()) break;
  }
  return {};
}

Result<void> chownTo(const fs::path& path, const RunAs& as) {
  if (!as.uid) return {};
  if (::chown(path.c_str(), *as.uid, *as.gid) != 0) {
    return fail(ErrorCode::kInternal,
                fmt::format("chown {}: {}", path.string(), std::strerror(errno)));
  }
  return {};
}

int freePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

fs::path socketFolder(const fs::path& preferred, std::string_view socket_name,
                      std::string_view tag) {
  // sun_path holds 108 bytes with its NUL; stay well below so a server's own suffixes fit.
  if (preferred.string().size() + 1 + socket_name.size() < 100) return preferred;
  return fs::path("/tmp") /
         fmt::format("exoflow-{}-{:016x}", tag, std::hash<std::string>{}(preferred.string()));
}

Result<std::string> runForOutput(const ProcessSpec& spec) {
  auto process = Process::start(spec);
  if (!process) return tl::unexpected(process.error());
  std::string output = readAll(*process);
  while (!process->waitFor(std::chrono::seconds(1))) {
  }
  const int status = *process->exitStatus();
  if (succeeded(status)) return output;
  return fail(ErrorCode::kInternal,
              fmt::format("{} {}: {}", spec.argv[0], describeWaitStatus(status), output));
}

Result<void> runToEnd(const ProcessSpec& spec, LogPump& pump) {
  auto process = Process::start(spec);
  if (!process) return tl::unexpected(process.error());
  pump.add(*process);
  while (process->running()) {
    pump.pumpOnce(100);
    process->tryReap();
  }
  pump.drain(*process);
  const int status = *process->exitStatus();
  if (succeeded(status)) return {};
  return fail(ErrorCode::kInternal, fmt::format("{} {}", spec.argv[0], describeWaitStatus(status)));
}

Result<void> waitForLine(Process& process, LogPump& pump,
                         std::function<bool(const std::string&)> ready,
                         std::chrono::seconds timeout, const std::string& what) {
  constexpr std::size_t kTailLines = 10;
  // The watcher outlives this call when the process goes on printing; it shares its state and
  // stops calling `ready` once `done` is set.
  struct State {
    std::function<bool(const std::string&)> ready;
    std::deque<std::string> tail;
    bool done = false;
  };
  auto state = std::make_shared<State>();
  state->ready = std::move(ready);
  pump.watch(process, [state](const std::string& line) {
    if (state->done) return true;
    state->tail.push_back(line);
    if (state->tail.size() > kTailLines) state->tail.pop_front();
    state->done = state->ready(line);
    return state->done;
  });
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string failure;
  while (!state->done) {
    pump.pumpOnce(100);
    if (state->done) break;
    if (process.tryReap()) {
      pump.drain(process);
      failure =
          fmt::format("{} {} while starting", what, describeWaitStatus(*process.exitStatus()));
      break;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      failure = fmt::format("{} did not start within {} s", what, timeout.count());
      break;
    }
  }
  state->done = true;
  if (failure.empty()) return {};
  if (!state->tail.empty()) failure += "; the last lines of its log:";
  for (const std::string& line : state->tail)
    failure += "\n  " + line;
  return fail(ErrorCode::kUnavailable, failure);
}

} // namespace exoflow::local
