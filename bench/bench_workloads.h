#pragma once
// The workloads of the exo-proxy benchmarks that go through libexoclient (queues, objects) and
// their references in the same process: the same queue operations on the local.sqlite backend
// called directly, and plain file copies in the proxy's data folder.

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>

#include <sys/types.h>

namespace exoflow::bench {

/// What one timed run did.
struct RunResult {
  std::uint64_t operations = 0; ///< messages deleted, objects stored or read, files copied
  std::uint64_t bytes = 0;      ///< body bytes moved (objects and copies)
  double seconds = 0;           ///< wall time of the run
  double own_cpu = 0;           ///< CPU seconds of this process during the run
  double server_cpu = 0;        ///< CPU seconds of the exo-proxy process (0 in process)
  /// The queue in process only: CPU seconds spent in send, receive and delete calls.
  std::array<double, 3> phase_cpu = {0, 0, 0};
};

/// `threads` threads each loop for `seconds`: send a batch of 10 messages, receive up to 10,
/// delete what was received: in one batch delete, or (`batch_delete` false) one request per
/// message. Over HTTP with libexoclient (one Client per thread).
RunResult queueOverProxy(const std::string& endpoint, const std::string& token, pid_t proxy_pid,
                         int threads, double seconds, bool batch_delete);

/// The same loop on the local.sqlite queue opened in this process from `data_dir` (no HTTP).
RunResult queueInProcess(const std::filesystem::path& data_dir, int threads, double seconds,
                         bool batch_delete);

/// 1 MiB object PUTs (from memory) over a rotating set of 32 keys, one at a time, through the
/// proxy; `put` false: GETs of those objects, streamed into a sink that drops the bytes.
RunResult objectsOverProxy(const std::string& endpoint, const std::string& token, pid_t proxy_pid,
                           bool put, double seconds);

/// The same PUTs and GETs with the benchmark's own minimal HTTP client (one keep-alive
/// connection, 256 KiB reads, no Expect: 100-continue): what exo-proxy sustains when the client
/// costs little.
RunResult objectsRaw(int port, const std::string& token, pid_t proxy_pid, bool put, double seconds);

/// Copies of a 1 MiB file into a rotating set of 32 files in `dir` (read and write in 128 KiB
/// pieces, as the proxy streams), each fsync()ed before close when `sync`.
RunResult fileCopies(const std::filesystem::path& dir, bool sync, double seconds);

} // namespace exoflow::bench
