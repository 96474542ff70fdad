#pragma once
// Child processes for the local runtime: started with their output on a pipe, in their own
// process group (so a signal reaches a shell and everything it started), optionally as another
// user (PostgreSQL refuses to run as root).

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
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

} // namespace exoflow::local
