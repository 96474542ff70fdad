#pragma once
// Streams the output of every child to our stdout, line by line, each line prefixed with the
// child's name, so `exoflow up` shows one interleaved, readable log.

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "local/process.h"

namespace exoflow::local {

class LogPump {
public:
  LogPump(const LogPump&) = delete;
  LogPump& operator=(const LogPump&) = delete;
  ~LogPump();
  /// `width` pads the prefixes so the logs line up.
  explicit LogPump(std::size_t width = 8) : width_(width) {}

  /// Starts streaming a process's output, by its name (names are unique among the streams).
  /// The pump reads a duplicate of the output descriptor, so the Process may move freely.
  void add(const Process& process);
  /// Calls `fn` with each complete line of `process` (before it is printed); a watcher that
  /// returns true is removed after that line.
  void watch(const Process& process, std::function<bool(const std::string&)> fn);

  /// Waits up to `timeout_ms` for output on any child or on `extra_fd` (e.g. a signalfd);
  /// prints every complete line. Returns true when `extra_fd` became readable.
  bool pumpOnce(int timeout_ms, int extra_fd = -1);

  /// Prints whatever a finished process left in its pipe, then forgets it.
  void drain(const Process& process);

  /// Prints a line of our own, with the given prefix.
  void say(const std::string& prefix, const std::string& line) const;

private:
  struct Stream {
    int fd = -1; ///< our own duplicate of the child's output
    std::string partial;
    std::vector<std::function<bool(const std::string&)>> watchers;
  };
  /// Reads what is there; false once the stream ended (and was closed and removed).
  bool readFrom(const std::string& name);
  void emit(const std::string& name, Stream& stream, const std::string& line);
  void remove(const std::string& name);

  std::size_t width_;
  std::map<std::string, Stream> streams_; ///< by process name
};

} // namespace exoflow::local
