#pragma once
// Child processes without a shell: an argv vector started with posix_spawnp, its stdout and
// stderr captured in full. Used by `exoflow deploy` and `exoflow plan` to drive the clouds'
// command-line tools.

#include <string>
#include <vector>

#include <sys/types.h>
#include <tl/expected.hpp>

namespace exoflow::deploy {

struct ProcessResult {
  int exit_code = -1; ///< the child's exit status; 128+N when killed by signal N
  std::string out;
  std::string err;
};

/// A running child. Its output goes to unlinked temporary files, so it never blocks on a full
/// pipe while the parent does something else.
class Process {
public:
  /// Starts argv[0] (looked up in PATH) with the parent's environment. The error names the
  /// program and the reason.
  static tl::expected<Process, std::string> start(const std::vector<std::string>& argv);

  Process(Process&& other) noexcept;
  Process& operator=(Process&& other) noexcept;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  ~Process();

  /// True while the child has not exited (does not block).
  bool running();
  /// Waits for the child and returns what it wrote.
  ProcessResult wait();

private:
  Process() = default;
  void close();

  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  bool exited_ = false;
  int status_ = 0;
};

/// Starts argv and waits for it.
tl::expected<ProcessResult, std::string> runProcess(const std::vector<std::string>& argv);

/// argv as one line a POSIX shell would read back as the same words (for --dry-run and logs).
std::string quoteCommand(const std::vector<std::string>& argv);

} // namespace exoflow::deploy
