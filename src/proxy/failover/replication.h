#pragma once
// Replication between the backends of an objects or kv binding (DESIGN.md, "Failover
// semantics"). A durable journal in <data_dir>/<binding>/replication.sqlite says, per key,
// which backends still need a copy and from which backend; a replicator drains it to healthy
// backends in the background (`async`), or inline before the write is answered (`sync`).
//
// A write journals its intent before it touches a backend: "key K is being written on backend
// i; every other backend needs K from i". The entry names no value: a copy reads K's current
// state from i and writes it to the target (an absent K is deleted there), so copies are
// idempotent and an entry leaves the journal only after its copy succeeded. A SIGKILL at any
// moment therefore loses nothing: the restarted proxy finds the entries and copies again. An
// intent whose write then failed costs one useless copy of K's unchanged state.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "backend/kv_store.h"
#include "backend/local/sqlite.h"
#include "backend/object_store.h"
#include "proxy/failover/health.h"

namespace exoflow::proxy::failover {

/// One copy the journal still owes: `key` from backend `source` to backend `target`.
struct PendingCopy {
  std::string key;
  std::size_t source = 0;
  std::size_t target = 0;
  std::int64_t seq = 0;           ///< the write that made the entry; newer writes get larger ones
  std::int64_t written_at_ms = 0; ///< wall clock of the oldest write the target still lacks
};

/// What status and metrics show of a journal.
struct ReplicationStatus {
  std::uint64_t pending = 0;
  double lag_seconds = 0; ///< age of the oldest pending entry; 0 when none
};

/// The durable journal of one binding. Thread-safe.
///
/// Durability: the file runs in WAL mode with synchronous=NORMAL (local::Database). A commit
/// is in the WAL before record() returns, so a killed proxy (SIGKILL, crash) loses nothing;
/// only a power loss of the proxy's host could lose the last commits, and synchronous=FULL
/// would put an fsync on the path of every write for that case.
class ReplicationJournal {
public:
  /// Opens or creates the journal in `file` (its directory is created). Entries naming a
  /// backend beyond `chain_size` (the chain got shorter since) are dropped.
  static Result<std::unique_ptr<ReplicationJournal>> open(const std::filesystem::path& file,
                                                          std::size_t chain_size);

  explicit ReplicationJournal(backend::local::Database db, std::size_t chain_size)
      : db_(std::move(db)), chain_size_(chain_size) {}

  /// Records a write of `key` on `source`: `source` no longer needs a copy of it, every other
  /// backend needs one from `source`. Supersedes older entries of `key` (a newer write
  /// decides what every backend must end up with). Returns the write's sequence number.
  Result<std::int64_t> record(const std::string& key, std::size_t source);
  /// Removes the entry of `key` for `target` if no write newer than `seq` replaced it.
  Result<void> settle(const std::string& key, std::size_t target, std::int64_t seq);
  /// Up to `limit` entries, oldest write first, whose source and target are both in `usable`
  /// (bit i: backend i).
  Result<std::vector<PendingCopy>> oldest(std::uint64_t usable, std::size_t limit);
  Result<ReplicationStatus> status();

private:
  std::mutex mutex_;
  backend::local::Database db_;
  std::size_t chain_size_;
  std::int64_t next_seq_ = 1;
};

/// Copies `key` from backend `source` to backend `target` of a chain.
using CopyFn = std::function<void(const std::string& key, std::size_t source, std::size_t target,
                                  backend::Done<void> done)>;

/// Streams an object from one member to another (content type and metadata included); a
/// missing object is deleted at the target. The members outlive the function.
CopyFn objectCopier(std::vector<backend::ObjectStore*> members);
/// Puts an item's value unconditionally; a missing item is deleted at the target.
CopyFn kvCopier(std::vector<backend::KvStore*> members);

struct ReplicatorOptions {
  bool sync = false;
  std::size_t max_in_flight = 8; ///< background copies at once
  std::chrono::milliseconds pump_interval{250};
  std::chrono::milliseconds min_backoff{200}; ///< after a failed copy; doubles per failure
  std::chrono::milliseconds max_backoff{5000};
};

/// Drains a journal and serializes the copies of a key with the client's writes of it.
///
/// The ordering hazard: K written on the secondary during an outage leaves "primary needs K
/// from secondary"; after the failback the client writes K on the primary. If the old copy
/// ran (or was still running) after that write, the primary would end with the older value.
/// Two rules prevent it:
///   1. a newer journal entry of K supersedes the older ones (record()), and a copy settles
///      its entry only if no newer write replaced it;
///   2. copies and writes of the same key never overlap in this process (hold()): a write
///      waits for a copy of its key in flight, and no copy of a key starts while a write of it
///      runs. Writes of a key do not wait for each other.
/// So a copy either ends before the newer write starts (which then overwrites it and
/// journals its own copies), or starts after that write was journaled, and then reads the
/// newer value. Conditional copies (if-match on the version the copy replaces) would also do,
/// but versions differ between clouds and S3 has no conditional PUT on an etag.
/// Copies from other processes sharing the backends are not covered (one proxy per binding
/// and data_dir, as the journal's exclusive lock enforces).
class Replicator {
public:
  /// Held by a client write of one key; released when destroyed.
  class KeyHold;

  /// Starts draining `journal` to the healthy backends of `health` on `scheduler`. `copy`
  /// may be called until the replicator is destroyed; `scheduler` outlives it.
  Replicator(std::string binding, std::unique_ptr<ReplicationJournal> journal,
             std::shared_ptr<ChainHealth> health, backend::Scheduler& scheduler, CopyFn copy,
             ReplicatorOptions options = {});
  ~Replicator();
  Replicator(const Replicator&) = delete;
  Replicator& operator=(const Replicator&) = delete;

  bool sync() const;

  /// Calls `ready` once no copy of `key` is in flight, with a hold that keeps new copies of
  /// `key` from starting until it is destroyed.
  void hold(const std::string& key, std::function<void(std::shared_ptr<KeyHold>)> ready);
  /// Journals a write of `key` that is about to go to `source` (see ReplicationJournal::record).
  /// Journal failures come back as kInternal, never as an outage of a backend.
  Result<std::int64_t> record(const std::string& key, std::size_t source);
  /// `target` already has the write `seq` of `key` (a delete that reached it).
  void settle(const std::string& key, std::size_t target, std::int64_t seq);
  /// After the write `seq` of `key` succeeded on `source`: with `sync`, copies it to every
  /// other healthy backend before `done` (a failed copy stays in the journal); else `done` at
  /// once. `done` never fails: the write itself is durable.
  void written(const std::string& key, std::size_t source, std::int64_t seq,
               backend::Done<void> done);

  ReplicationStatus status() const;

private:
  struct Shared;
  std::shared_ptr<Shared> shared_;
};

} // namespace exoflow::proxy::failover
