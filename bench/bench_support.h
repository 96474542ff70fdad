#pragma once
// What the exo-proxy benchmarks share: temp dirs, the processes under test (exo-proxy and
// nginx, started from generated configs and stopped again), readings from /proc (CPU time and
// resident memory of a process and its children), and small statistics.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace exoflow::bench {

/// A fresh folder under $TMPDIR (default /tmp), removed with everything in it on destruction.
class TempDir {
public:
  explicit TempDir(const std::string& prefix);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

private:
  std::filesystem::path path_;
};

/// CPU seconds (user + system) a process and all its threads have used: utime + stime of
/// /proc/<pid>/stat. With `with_children`, the live processes whose parent is `pid` are added
/// (nginx's workers). 0 when the process is gone.
double cpuSeconds(pid_t pid, bool with_children = false);

/// The user-mode part of cpuSeconds(pid) (utime alone): the process's own code, without the
/// kernel's work for its system calls and wake-ups.
double userCpuSeconds(pid_t pid);

/// Resident memory of a process in KiB (VmRSS of /proc/<pid>/status), with its live children
/// added when asked. 0 when the process is gone.
std::uint64_t rssKiB(pid_t pid, bool with_children = false);

/// Raises RLIMIT_NOFILE of this process (and so of the processes it starts) to `wanted`, or
/// to the hard limit when that is lower. Returns the soft limit now in force.
std::uint64_t raiseFileLimit(std::uint64_t wanted);

/// A port on 127.0.0.1 that was free a moment ago (for nginx, which cannot listen on port 0).
int freePort();

/// Waits until a TCP connection to 127.0.0.1:`port` succeeds; false after `timeout`.
bool waitForPort(int port, std::chrono::milliseconds timeout);

/// The first existing executable among `candidates` (absolute paths or names looked up in
/// $PATH, then /usr/sbin and /sbin); nullopt when none exists.
std::optional<std::string> findProgram(const std::vector<std::string>& candidates);

/// A started child process, stopped with SIGTERM (then SIGKILL after 10 s) on destruction.
class Child {
public:
  /// Starts `argv` with stdout into a pipe readable via readLine() when `capture_stdout`,
  /// else into `log`; stderr always into `log`. Throws std::runtime_error when it cannot start.
  Child(const std::vector<std::string>& argv, const std::filesystem::path& log,
        bool capture_stdout);
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  /// The next line of the child's stdout without its newline; nullopt on EOF or after
  /// `timeout`.
  std::optional<std::string> readLine(std::chrono::milliseconds timeout);
  /// True while the process has not exited.
  bool alive();
  /// SIGTERM, wait up to 10 s, then SIGKILL; returns the exit status as waitpid() gives it.
  int stop();

private:
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::string pending_;
  bool reaped_ = false;
  int status_ = 0;
};

/// exo-proxy on a temp dir: local.sqlite bindings `jobs` (queue), `blobs` (objects) and `kv`
/// (kv), port 0 on 127.0.0.1, room for many long-idle connections.
class ExoProxy {
public:
  static constexpr const char* kToken = "bench-token";
  /// The local bindings below.
  explicit ExoProxy(const std::string& binary);
  /// Other bindings: `bindings` is the YAML of the config from `bindings:` on.
  ExoProxy(const std::string& binary, const std::string& bindings);
  pid_t pid() const { return child_->pid(); }
  int port() const { return port_; }
  std::string endpoint() const;
  /// The folder that holds the proxy's data (the bindings' stores).
  std::filesystem::path dataDir() const { return dir_.path() / "data"; }

private:
  TempDir dir_;
  std::optional<Child> child_;
  int port_ = 0;
};

/// The nginx reference: an upstream instance U that answers `return 200 "ok"` itself, and a
/// hop instance N that proxy_passes everything to U over keep-alive upstream connections. Two
/// instances, so that N's CPU time can be read without U's.
class NginxPair {
public:
  NginxPair(const std::string& binary, int upstream_workers, int hop_workers);
  int upstreamPort() const { return upstream_port_; }
  int hopPort() const { return hop_port_; }
  pid_t upstreamPid() const { return upstream_->pid(); }
  pid_t hopPid() const { return hop_->pid(); }

private:
  void start(std::optional<Child>& child, const std::string& name, const std::string& config,
             int port);
  std::string binary_;
  TempDir dir_;
  int upstream_port_ = 0;
  int hop_port_ = 0;
  std::optional<Child> upstream_;
  std::optional<Child> hop_;
};

/// nginx in front of a server that closes every connection (moto): clients keep their
/// connections to it alive, and it alone pays for a new upstream connection per request.
class NginxFront {
public:
  NginxFront(const std::string& binary, int upstream_port);
  int port() const { return port_; }
  pid_t pid() const { return child_->pid(); }

private:
  TempDir dir_;
  int port_ = 0;
  std::optional<Child> child_;
};

/// nginx answering every request with 200, `content_type` and `body` (a stand-in for a service
/// whose own cost would drown what a benchmark measures; `body` must not contain a ').
class NginxCanned {
public:
  NginxCanned(const std::string& binary, const std::string& content_type, const std::string& body);
  int port() const { return port_; }
  pid_t pid() const { return child_->pid(); }

private:
  TempDir dir_;
  int port_ = 0;
  std::optional<Child> child_;
};

/// This process's CPU seconds so far, all threads, user and system.
double ownCpu();
/// The user-mode part of ownCpu().
double ownUserCpu();

/// "median (min–max)" of per-round values, with `digits` decimals.
std::string spread(const std::vector<double>& values, int digits);

/// The median of `values` (the mean of the middle two for an even count); 0 when empty.
double median(std::vector<double> values);
/// The `p`-th percentile (0..100) by nearest rank; 0 when empty.
double percentile(std::vector<double> values, double p);

/// The load averages (as `uptime` shows them) and the number of cores, in one line.
std::string loadAverage();

/// What one timed run of requests measured.
struct TimedRun {
  double requests = 0;
  double subject_cpu = 0; ///< CPU seconds of the process under test (or of this one)
  double server_cpu = 0;  ///< CPU seconds of the emulator the requests reach
  std::vector<double> latency_us;
};

/// Calls `request()` one after another for `seconds`. The subject's CPU is read from /proc for
/// `subject`, or with getrusage for this process when `subject` is 0; the server's from /proc.
template <typename Request>
TimedRun timedRun(double seconds, pid_t subject, pid_t server, Request request) {
  using Clock = std::chrono::steady_clock;
  TimedRun run;
  const double subject_before = subject > 0 ? cpuSeconds(subject) : ownCpu();
  const double server_before = cpuSeconds(server);
  const auto end = Clock::now() + std::chrono::duration<double>(seconds);
  while (Clock::now() < end) {
    const auto start = Clock::now();
    request();
    run.latency_us.push_back(
        std::chrono::duration<double, std::micro>(Clock::now() - start).count());
    ++run.requests;
  }
  run.subject_cpu = (subject > 0 ? cpuSeconds(subject) : ownCpu()) - subject_before;
  run.server_cpu = cpuSeconds(server) - server_before;
  return run;
}

/// A translation path through exo-proxy against the same request sent directly by a tight
/// client in this process, per request and round by round.
struct PathComparison {
  std::vector<double> proxy_cpu;     ///< exo-proxy's CPU µs
  std::vector<double> proxy_server;  ///< the server's CPU µs on that path
  std::vector<double> proxy_p50;     ///< µs
  std::vector<double> direct_cpu;    ///< this process's CPU µs
  std::vector<double> direct_server; ///< the server's CPU µs on the direct path
  std::vector<double> direct_p50;    ///< µs
  std::vector<double> ratio;         ///< proxy_cpu / direct_cpu

  /// Runs both paths, the proxy first in even rounds and the direct client first in odd ones,
  /// and records the round.
  void round(int index, const std::function<TimedRun()>& through,
             const std::function<TimedRun()>& direct);
  /// The markdown table of both paths: `unit` names a request ("send"), `server` the emulator.
  void printTable(const std::string& unit, const std::string& server,
                  const std::string& direct_label, const std::string& proxy_label) const;
};

} // namespace exoflow::bench
