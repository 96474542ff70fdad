#pragma once
// Child processes for the local runtime: started with their output on a pipe, in their own
// process group (so a signal reaches a shell and everything it started), optionally as another
// user (PostgreSQL and MariaDB refuse to run as root). Below them, the helpers that the private
// database servers share: whom to run as, a free port, a socket folder, running a tool.

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <sys/types.h>

#include "common/error.h"

namespace exoflow::local {

struct ProcessSpec {
  std::string name;                       ///< for logs and errors: "proxy", "app", "postgres"
  std::vector<std::string> argv;          ///< argv[0] is looked up on PATH unless it has a '/'
  std::map<std::string, std::string> env; ///< set on top of this process's environment
  std::filesystem::path cwd;              ///< empty: the current directory
  std::optional<uid_t> uid;               ///< run as this user (and `gid`) when set
  std::optional<gid_t> gid;
};

/// A started child. Its stdout and stderr arrive, merged, on outputFd().
class Process {
public:
  static Result<Process> start(const ProcessSpec& spec);

  /// An empty Process that runs nothing.
  Process() = default;
  Process(Process&& other) noexcept;
  Process& operator=(Process&& other) noexcept;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  /// Kills a child that is still running and reaps it: no orphan outlives its Process.
  ~Process();

  const std::string& name() const { return name_; }
  pid_t pid() const { return pid_; }
  int outputFd() const { return output_fd_; }
  bool running() const { return pid_ > 0 && !exit_status_.has_value(); }
  /// The wait status once reaped (see tryReap / waitFor).
  std::optional<int> exitStatus() const { return exit_status_; }

  /// Sends `signal` to the child's whole process group.
  void signal(int signal) const;
  /// Reaps the child if it has exited; true when it has.
  bool tryReap();
  /// Waits up to `timeout` for the child to exit; true when it did.
  bool waitFor(std::chrono::milliseconds timeout);
  /// SIGTERM (or `signal`), then SIGKILL after `grace`: the child is gone when this returns.
  void stop(int signal, std::chrono::milliseconds grace);
  /// Closes our end of the output pipe (after it has been drained).
  void closeOutput();

private:
  std::string name_;
  pid_t pid_ = -1;
  int output_fd_ = -1;
  std::optional<int> exit_status_;
};

/// "exited with status 3", "killed by signal 9 (Killed)".
std::string describeWaitStatus(int status);

class LogPump;

/// Whom a database server runs as: ourselves, or (when we are root) an unprivileged system user.
struct RunAs {
  std::string user;         ///< the user's name; empty when we run it as ourselves
  std::optional<uid_t> uid; ///< set only when we are root
  std::optional<gid_t> gid;
};

/// Ourselves when we are not root; as root, the system `user`, or an error naming `server` when
/// there is no such user.
Result<RunAs> serverUser(const std::string& user, const std::string& server);

/// The server's user must reach `dir`: every folder above it must let that user pass. The
/// error names `server` and the folder, with the `chmod` that fixes it.
Result<void> checkReachable(const std::filesystem::path& dir, const RunAs& as,
                            const std::string& server);

/// Gives `path` (not what is below it) to the server's user; nothing when we run as ourselves.
Result<void> chownTo(const std::filesystem::path& path, const RunAs& as);

/// A TCP port on 127.0.0.1 that was free a moment ago; 0 when none could be found.
int freePort();

/// Where a server's Unix socket `socket_name` goes: `preferred` when the socket's path fits the
/// 107 bytes the kernel allows (with room to spare), else a short folder of its own,
/// /tmp/exoflow-<tag>-<hash of preferred>, the same for the same `preferred` on every run.
std::filesystem::path socketFolder(const std::filesystem::path& preferred,
                                   std::string_view socket_name, std::string_view tag);

/// Runs a short tool to completion and returns what it printed; an error, with that output,
/// unless it exits with 0.
Result<std::string> runForOutput(const ProcessSpec& spec);

/// Runs a short tool (initdb, mariadb-install-db, psql) to completion, its output through
/// `pump`; an error unless it exits with 0.
Result<void> runToEnd(const ProcessSpec& spec, LogPump& pump);

/// Waits up to `timeout` until `process`, whose output `pump` streams, prints a line for which
/// `ready` returns true; `ready` is not called once this returns. When the process exits first
/// or the time runs out, the error names it `what` and quotes the last lines of its log; a
/// process that is still running is left to the caller to stop.
Result<void> waitForLine(Process& process, LogPump& pump,
                         std::function<bool(const std::string&)> ready,
                         std::chrono::seconds timeout, const std::string& what);

} // namespace exoflow::local
