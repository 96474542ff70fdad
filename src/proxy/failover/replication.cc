// The replicator: drains a binding's journal to its healthy backends, and keeps copies and
// writes of one key apart (replication.h says why).
#include "proxy/failover/replication.h"

#include <bit>
#include <deque>
#include <map>
#include <set>
#include <unordered_map>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace exoflow::proxy::failover {

namespace {

using SteadyTime = std::chrono::steady_clock::time_point;

/// A failing copy (or link) is not tried again before `until`.
struct Backoff {
  SteadyTime until{};
  std::chrono::milliseconds delay{0};
};

void backOff(Backoff& b, const ReplicatorOptions& options, SteadyTime now) {
  b.delay = b.delay.count() == 0 ? options.min_backoff : std::min(b.delay * 2, options.max_backoff);
  b.until = now + b.delay;
}

} // namespace

struct Replicator::Shared : std::enable_shared_from_this<Shared> {
  std::string binding;
  std::unique_ptr<ReplicationJournal> journal;
  std::shared_ptr<ChainHealth> health;
  backend::Scheduler* scheduler = nullptr;
  CopyFn copy;
  ReplicatorOptions options;

  /// Held while copies start and while the replicator stops, so that no copy starts on a
  /// backend that is being destroyed.
  std::mutex run_mutex;
  bool stopped = false;

  /// The writes and copies of one key under way, and the writes waiting for them.
  struct KeyState {
    int writers = 0;
    int copies = 0;
    std::deque<std::function<void()>> waiting;
  };
  std::mutex mutex; ///< guards the rest; never held while calling out
  backend::Scheduler::TimerId timer = 0;
  bool pump_posted = false;
  std::unordered_map<std::string, KeyState> keys;
  std::set<std::pair<std::string, std::size_t>> in_flight; ///< (key, target)
  std::size_t running = 0;
  std::map<std::pair<std::string, std::size_t>, Backoff> entry_backoff;
  std::map<std::pair<std::size_t, std::size_t>, Backoff> link_backoff; ///< (source, target)

  /// Moves the waiting writes of `key` that may start now into `ready`. With sync, writes
  /// of one key also wait for each other: their inline copies must not cross (an older copy
  /// landing after a newer one would leave the target behind with its entry settled).
  void admitLocked(const std::string& key, KeyState& k, std::vector<std::function<void()>>& ready) {
    while (!k.waiting.empty() && k.copies == 0 && (!options.sync || k.writers == 0)) {
      ++k.writers;
      ready.push_back(std::move(k.waiting.front()));
      k.waiting.pop_front();
    }
    if (k.writers == 0 && k.copies == 0 && k.waiting.empty()) keys.erase(key);
  }

  void hold(const std::string& key, std::function<void()> ready) {
    {
      std::lock_guard lock(mutex);
      KeyState& k = keys[key];
      if (k.copies > 0 || !k.waiting.empty() || (options.sync && k.writers > 0)) {
        k.waiting.push_back(std::move(ready));
        return;
      }
      ++k.writers;
    }
    ready();
  }

  void release(const std::string& key) {
    std::vector<std::function<void()>> ready;
    {
      std::lock_guard lock(mutex);
      auto it = keys.find(key);
      if (it == keys.end()) return;
      --it->second.writers;
      admitLocked(key, it->second, ready);
    }
    for (auto& fn : ready)
      fn();
    schedulePump();
  }

  void schedulePump() {
    {
      std::lock_guard lock(mutex);
      if (pump_posted) return;
      pump_posted = true;
    }
    std::weak_ptr<Shared> weak = shared_from_this();
    scheduler->post([weak] {
      if (auto self = weak.lock()) self->pump();
    });
  }

  void tick() {
    pump();
    std::lock_guard run(run_mutex);
    if (stopped) return;
    std::weak_ptr<Shared> weak = shared_from_this();
    std::lock_guard lock(mutex);
    timer = scheduler->after(options.pump_interval, [weak] {
      if (auto self = weak.lock()) self->tick();
    });
  }

  /// Starts copies of the oldest entries whose source and target are healthy, up to
  /// max_in_flight, skipping keys that a client write holds and entries backing off.
  void pump() {
    std::lock_guard run(run_mutex);
    if (stopped) return;
    std::uint64_t usable = 0;
    for (std::size_t i = 0; i < health->size() && i < 64; ++i) {
      if (health->healthy(i)) usable |= std::uint64_t{1} << i;
    }
    std::vector<PendingCopy> start;
    {
      std::lock_guard lock(mutex);
      pump_posted = false;
      // With fewer than two usable backends nothing can be copied: spare the journal a scan.
      if (running >= options.max_in_flight || std::popcount(usable) < 2) return;
      // Read under `mutex`: a write of a key either still holds it (and the entry is skipped)
      // or was journaled before this read, so no entry read here is older than a finished
      // write of its key.
      // Past the entries in flight or backing off, so that failing entries at the head of
      // the journal do not hold back the ones behind them.
      Result<std::vector<PendingCopy>> rows = journal->oldest(
          usable, options.max_in_flight * 4 + 64 + in_flight.size() + entry_backoff.size());
      if (!rows) {
        spdlog::error("binding {}: replication journal: {}", binding, rows.error().message);
        return;
      }
      const SteadyTime now = std::chrono::steady_clock::now();
      // Entries that left the journal another way (a newer write, a delete) leave their
      // back-off behind; it is forgotten once long expired.
      std::erase_if(entry_backoff,
                    [&](const auto& e) { return e.second.until + options.max_backoff < now; });
      for (PendingCopy& row : *rows) {
        if (running + start.size() >= options.max_in_flight) break;
        if (in_flight.contains({row.key, row.target})) continue;
        if (auto b = link_backoff.find({row.source, row.target});
            b != link_backoff.end() && b->second.until > now) {
          continue;
        }
        if (auto b = entry_backoff.find({row.key, row.target});
            b != entry_backoff.end() && b->second.until > now) {
          continue;
        }
        if (auto k = keys.find(row.key);
            k != keys.end() && (k->second.writers > 0 || !k->second.waiting.empty())) {
          continue;
        }
        ++keys[row.key].copies;
        in_flight.emplace(row.key, row.target);
        start.push_back(std::move(row));
      }
      running += start.size();
    }
    auto self = shared_from_this();
    for (const PendingCopy& row : start) {
      copy(row.key, row.source, row.target,
           [self, row](Result<void> r) { self->finished(row, r); });
    }
  }

  void finished(const PendingCopy& row, const Result<void>& r) {
    if (r) {
      if (auto ok = journal->settle(row.key, row.target, row.seq); !ok) {
        spdlog::error("binding {}: replication journal: {}", binding, ok.error().message);
      }
    }
    std::vector<std::function<void()>> ready;
    bool first_failure = false;
    {
      std::lock_guard lock(mutex);
      in_flight.erase({row.key, row.target});
      --running;
      const SteadyTime now = std::chrono::steady_clock::now();
      if (r) {
        entry_backoff.erase({row.key, row.target});
        link_backoff.erase({row.source, row.target});
      } else {
        // An outage holds back every copy over the link; any other failure only this one.
        if (isOutage(r.error())) {
          Backoff& b = link_backoff[{row.source, row.target}];
          first_failure = b.delay.count() == 0;
          backOff(b, options, now);
        }
        backOff(entry_backoff[{row.key, row.target}], options, now);
      }
      auto it = keys.find(row.key);
      if (it != keys.end()) {
        --it->second.copies;
        admitLocked(row.key, it->second, ready);
      }
    }
    if (!r && (first_failure || !isOutage(r.error()))) {
      spdlog::warn("binding {}: copying {} from backend {} to backend {} failed (will retry): {}",
                   binding, row.key, row.source, row.target, r.error().message);
    }
    for (auto& fn : ready)
      fn();
    schedulePump();
  }

  /// The inline copies of a sync write: to every other healthy backend at once.
  void copyInline(const std::string& key, std::size_t source, std::int64_t seq,
                  backend::Done<void> done) {
    std::vector<std::size_t> targets;
    {
      std::lock_guard run(run_mutex);
      if (!stopped) {
        for (std::size_t i = 0; i < health->size(); ++i) {
          if (i != source && health->healthy(i)) targets.push_back(i);
        }
      }
    }
    if (targets.empty()) {
      done({});
      return;
    }
    struct Join {
      std::mutex mutex;
      std::size_t left = 0;
      backend::Done<void> done;
    };
    auto join = std::make_shared<Join>();
    join->left = targets.size();
    join->done = std::move(done);
    auto self = shared_from_this();
    for (std::size_t target : targets) {
      copy(key, source, target, [self, join, key, target, seq](Result<void> r) {
        if (r) {
          if (auto ok = self->journal->settle(key, target, seq); !ok) {
            spdlog::error("binding {}: replication journal: {}", self->binding, ok.error().message);
          }
        } else {
          spdlog::warn("binding {}: sync copy of {} to backend {} failed (left to the journal): {}",
                       self->binding, key, target, r.error().message);
        }
        bool last = false;
        {
          std::lock_guard lock(join->mutex);
          last = --join->left == 0;
        }
        if (last) join->done({});
      });
    }
  }
};

class Replicator::KeyHold {
public:
  KeyHold(std::shared_ptr<Shared> shared, std::string key)
      : shared_(std::move(shared)), key_(std::move(key)) {}
  ~KeyHold() { shared_->release(key_); }
  KeyHold(const KeyHold&) = delete;
  KeyHold& operator=(const KeyHold&) = delete;

private:
  std::shared_ptr<Shared> shared_;
  std::string key_;
};

Replicator::Replicator(std::string binding, std::unique_ptr<ReplicationJournal> journal,
                       std::shared_ptr<ChainHealth> health, backend::Scheduler& scheduler,
                       CopyFn copy, ReplicatorOptions options)
    : shared_(std::make_shared<Shared>()) {
  shared_->binding = std::move(binding);
  shared_->journal = std::move(journal);
  shared_->health = std::move(health);
  shared_->scheduler = &scheduler;
  shared_->copy = std::move(copy);
  shared_->options = options;
  // Entries left by an earlier run are drained from the first tick on.
  std::weak_ptr<Shared> weak = shared_;
  scheduler.post([weak] {
    if (auto self = weak.lock()) self->tick();
  });
}

Replicator::~Replicator() {
  std::lock_guard run(shared_->run_mutex);
  shared_->stopped = true;
  std::lock_guard lock(shared_->mutex);
  shared_->scheduler->cancel(shared_->timer);
}

bool Replicator::sync() const {
  return shared_->options.sync;
}

void Replicator::hold(const std::string& key, std::function<void(std::shared_ptr<KeyHold>)> ready) {
  std::shared_ptr<Shared> shared = shared_;
  shared->hold(key, [shared, key, ready = std::move(ready)] {
    ready(std::make_shared<KeyHold>(shared, key));
  });
}

Result<std::int64_t> Replicator::record(const std::string& key, std::size_t source) {
  Result<std::int64_t> seq = shared_->journal->record(key, source);
  if (!seq) {
    // A busy journal is this proxy's problem, not the backend's: never report it as an outage.
    return fail(ErrorCode::kInternal, fmt::format("binding {}: replication journal: {}",
                                                  shared_->binding, seq.error().message));
  }
  return seq;
}

void Replicator::settle(const std::string& key, std::size_t target, std::int64_t seq) {
  if (auto ok = shared_->journal->settle(key, target, seq); !ok) {
    spdlog::error("binding {}: replication journal: {}", shared_->binding, ok.error().message);
  }
}

void Replicator::written(const std::string& key, std::size_t source, std::int64_t seq,
                         backend::Done<void> done) {
  if (!shared_->options.sync) {
    done({});
    return;
  }
  shared_->copyInline(key, source, seq, std::move(done));
}

ReplicationStatus Replicator::status() const {
  Result<ReplicationStatus> s = shared_->journal->status();
  return s ? *s : ReplicationStatus{};
}

} // namespace exoflow::proxy::failover
