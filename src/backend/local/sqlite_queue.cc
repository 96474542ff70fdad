// The local.sqlite Queue: QueueDb for the data, plus in-process long polling. A receive that
// finds nothing registers a waiter on the shared store; sends, visibility changes and
// dead-lettering wake the waiters of their queue through the scheduler, and a timer at the
// earliest in-flight message's visibility expiry wakes them when it comes back. No polling.

#include <algorithm>
#include <chrono>
#include <list>
#include <map>
#include <memory>
#include <mutex>

#include <fmt/format.h>

#include "backend/local/codec.h"
#include "backend/local/local_backends.h"
#include "backend/local/queue_db.h"
#include "backend/local/store_dir.h"

namespace exoflow::backend::local {
namespace {

using Messages = std::vector<ReceivedMessage>;

std::int64_t toMillis(std::chrono::seconds s) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(s).count();
}

/// A receive waiting for a message. The scheduler is the one of the Queue that registered
/// it, so its timers never outlive the host that owns them.
struct Waiter {
  std::uint64_t id = 0;
  const void* owner = nullptr;
  QueueConfig config;
  int max = 1;
  std::int64_t visibility_ms = 0;
  Done<Messages> done;
  Scheduler* scheduler = nullptr;
  Scheduler::TimerId deadline_timer = 0;
  std::optional<Scheduler::TimerId> expiry_timer;
  std::int64_t expiry_at = 0;
};

/// Every queue of one store file, shared by all Queue objects opened on it.
class QueueStore : public std::enable_shared_from_this<QueueStore> {
public:
  explicit QueueStore(QueueDb db) : db_(std::move(db)) {}

  static StoreCache<QueueStore>& cache() {
    static StoreCache<QueueStore> instance;
    return instance;
  }

  /// Runs `fn` with the database under the store's lock.
  template <typename Fn> auto withDb(Fn&& fn) {
    std::lock_guard lock(mutex_);
    return fn(db_);
  }

  /// Receives at once, or (wait > 0, nothing visible) registers a waiter.
  void receive(const void* owner, const QueueConfig& config, Scheduler& scheduler,
               const ReceiveRequest& request, Done<Messages> done);
  /// Lets every waiter of `queue` try again, soon, on `scheduler`.
  void wakeSoon(const std::string& queue, Scheduler& scheduler);
  /// Completes the waiters `owner` registered with empty lists (their Queue is closing).
  void dropWaiters(const void* owner);

private:
  void wake(const std::string& queue);
  void onDeadline(const std::string& queue, std::uint64_t waiter_id);
  /// Sets each remaining waiter's timer to the queue's next visibility expiry. Locked.
  void armExpiry(const std::string& queue, std::int64_t now);
  static void cancelTimers(Waiter& waiter);

  std::mutex mutex_;
  QueueDb db_;
  std::map<std::string, std::list<Waiter>> waiters_;
  std::uint64_t next_waiter_id_ = 1;
};

void QueueStore::receive(const void* owner, const QueueConfig& config, Scheduler& scheduler,
                         const ReceiveRequest& request, Done<Messages> done) {
  const std::int64_t visibility_ms =
      toMillis(request.visibility.value_or(config.options.visibility_timeout));
  std::unique_lock lock(mutex_);
  const std::int64_t now = nowMillis();
  Result<ReceiveOutcome> outcome = db_.receive(config, request.max, visibility_ms, now);
  if (!outcome || !outcome->messages.empty() || request.wait.count() <= 0) {
    const bool moved = outcome && outcome->dead_lettered;
    lock.unlock();
    if (moved) wakeSoon(config.options.dead_letter_queue, scheduler);
    if (!outcome) return done(tl::unexpected(outcome.error()));
    return done(std::move(outcome->messages));
  }
  const std::uint64_t id = next_waiter_id_++;
  std::weak_ptr<QueueStore> weak = weak_from_this();
  Waiter waiter;
  waiter.id = id;
  waiter.owner = owner;
  waiter.config = config;
  waiter.max = request.max;
  waiter.visibility_ms = visibility_ms;
  waiter.done = std::move(done);
  waiter.scheduler = &scheduler;
  waiter.deadline_timer = scheduler.after(request.wait, [weak, queue = config.name, id] {
    if (std::shared_ptr<QueueStore> store = weak.lock()) store->onDeadline(queue, id);
  });
  waiters_[config.name].push_back(std::move(waiter));
  armExpiry(config.name, now);
  if (outcome->dead_lettered) {
    lock.unlock();
    wakeSoon(config.options.dead_letter_queue, scheduler);
  }
}

void QueueStore::wakeSoon(const std::string& queue, Scheduler& scheduler) {
  {
    std::lock_guard lock(mutex_);
    if (waiters_.find(queue) == waiters_.end()) return; // nobody to wake
  }
  scheduler.post([weak = weak_from_this(), queue] {
    if (std::shared_ptr<QueueStore> store = weak.lock()) store->wake(queue);
  });
}

void QueueStore::wake(const std::string& queue) {
  std::vector<std::pair<Done<Messages>, Result<Messages>>> completions;
  std::vector<std::pair<std::string, Scheduler*>> dead_letter_wakes;
  {
    std::lock_guard lock(mutex_);
    auto entry = waiters_.find(queue);
    if (entry == waiters_.end()) return;
    const std::int64_t now = nowMillis();
    std::list<Waiter>& list = entry->second;
    for (auto it = list.begin(); it != list.end();) {
      Result<ReceiveOutcome> outcome = db_.receive(it->config, it->max, it->visibility_ms, now);
      if (outcome && outcome->dead_lettered) {
        dead_letter_wakes.emplace_back(it->config.options.dead_letter_queue, it->scheduler);
      }
      if (outcome && outcome->messages.empty()) {
        ++it;
        continue;
      }
      cancelTimers(*it);
      completions.emplace_back(std::move(it->done),
                               outcome ? Result<Messages>(std::move(outcome->messages))
                                       : Result<Messages>(tl::unexpected(outcome.error())));
      it = list.erase(it);
    }
    if (list.empty()) {
      waiters_.erase(entry);
    } else {
      armExpiry(queue, now);
    }
  }
  for (auto& [done, result] : completions)
    done(std::move(result));
  for (auto& [dlq, scheduler] : dead_letter_wakes)
    wakeSoon(dlq, *scheduler);
}

void QueueStore::onDeadline(const std::string& queue, std::uint64_t waiter_id) {
  Done<Messages> done;
  Result<ReceiveOutcome> outcome;
  std::optional<std::pair<std::string, Scheduler*>> dead_letter_wake;
  {
    std::lock_guard lock(mutex_);
    auto entry = waiters_.find(queue);
    if (entry == waiters_.end()) return;
    std::list<Waiter>& list = entry->second;
    auto it =
        std::find_if(list.begin(), list.end(), [&](const Waiter& w) { return w.id == waiter_id; });
    if (it == list.end()) return; // already completed
    if (it->expiry_timer) it->scheduler->cancel(*it->expiry_timer);
    // One last look: a message may have become visible just now.
    outcome = db_.receive(it->config, it->max, it->visibility_ms, nowMillis());
    if (outcome && outcome->dead_lettered) {
      dead_letter_wake.emplace(it->config.options.dead_letter_queue, it->scheduler);
    }
    done = std::move(it->done);
    list.erase(it);
    if (list.empty()) waiters_.erase(entry);
  }
  if (outcome) {
    done(std::move(outcome->messages));
  } else {
    done(tl::unexpected(outcome.error()));
  }
  if (dead_letter_wake) wakeSoon(dead_letter_wake->first, *dead_letter_wake->second);
}

void QueueStore::armExpiry(const std::string& queue, std::int64_t now) {
  auto entry = waiters_.find(queue);
  if (entry == waiters_.end()) return;
  Result<std::optional<std::int64_t>> next = db_.nextVisibleAt(queue, now);
  // On an error the waiters still end at their deadlines; a later event retries.
  const std::int64_t at = next && *next ? **next : 0;
  for (Waiter& waiter : entry->second) {
    if (waiter.expiry_timer && waiter.expiry_at == at) continue;
    if (waiter.expiry_timer) waiter.scheduler->cancel(*waiter.expiry_timer);
    waiter.expiry_timer.reset();
    waiter.expiry_at = at;
    if (at == 0) continue;
    waiter.expiry_timer =
        waiter.scheduler->after(std::chrono::milliseconds(std::max<std::int64_t>(at - now, 1)),
                                [weak = weak_from_this(), queue] {
                                  if (std::shared_ptr<QueueStore> store = weak.lock())
                                    store->wake(queue);
                                });
  }
}

void QueueStore::cancelTimers(Waiter& waiter) {
  waiter.scheduler->cancel(waiter.deadline_timer);
  if (waiter.expiry_timer) waiter.scheduler->cancel(*waiter.expiry_timer);
}

void QueueStore::dropWaiters(const void* owner) {
  std::vector<Done<Messages>> dropped;
  {
    std::lock_guard lock(mutex_);
    for (auto entry = waiters_.begin(); entry != waiters_.end();) {
      std::list<Waiter>& list = entry->second;
      for (auto it = list.begin(); it != list.end();) {
        if (it->owner != owner) {
          ++it;
          continue;
        }
        cancelTimers(*it);
        dropped.push_back(std::move(it->done));
        it = list.erase(it);
      }
      entry = list.empty() ? waiters_.erase(entry) : std::next(entry);
    }
  }
  for (Done<Messages>& done : dropped)
    done(Messages{});
}

class SqliteQueue final : public Queue {
public:
  SqliteQueue(std::shared_ptr<QueueStore> store, QueueConfig config, Scheduler& scheduler)
      : store_(std::move(store)), config_(std::move(config)), scheduler_(scheduler) {}
  ~SqliteQueue() override { store_->dropWaiters(this); }

  SqliteQueue(const SqliteQueue&) = delete;
  SqliteQueue& operator=(const SqliteQueue&) = delete;

  std::string describe() const override { return std::string(kType); }

  QueueFeatures features() const override {
    return {QueueFeature::kLongPolling, QueueFeature::kDeadLetter,       QueueFeature::kDedup,
            QueueFeature::kAttributes,  QueueFeature::kVisibilityChange, QueueFeature::kFifo};
  }

  void send(std::vector<OutgoingMessage> batch, Done<std::vector<std::string>> done) override {
    if (batch.empty() || batch.size() > 10) {
      return done(fail(ErrorCode::kInvalidArgument, "a batch holds 1 to 10 messages"));
    }
    for (const OutgoingMessage& message : batch) {
      if (message.body.empty()) {
        return done(fail(ErrorCode::kInvalidArgument, "a message body holds at least 1 byte"));
      }
      if (message.body.size() > config_.options.max_message_size) {
        return done(
            fail(ErrorCode::kPayloadTooLarge, fmt::format("a message body holds at most {} bytes",
                                                          config_.options.max_message_size)));
      }
    }
    Result<std::vector<std::string>> ids =
        store_->withDb([&](QueueDb& db) { return db.send(config_.name, batch, nowMillis()); });
    if (ids) store_->wakeSoon(config_.name, scheduler_);
    done(std::move(ids));
  }

  void receive(ReceiveRequest request, Done<Messages> done) override {
    if (request.max < 1 || request.max > 10) {
      return done(fail(ErrorCode::kInvalidArgument, "max must be 1..10"));
    }
    if (request.wait.count() < 0 || request.wait.count() > 20) {
      return done(fail(ErrorCode::kInvalidArgument, "wait must be 0..20 seconds"));
    }
    if (request.visibility &&
        (request.visibility->count() < 0 || request.visibility->count() > 43200)) {
      return done(fail(ErrorCode::kInvalidArgument, "visibility must be 0..43200 seconds"));
    }
    store_->receive(this, config_, scheduler_, request, std::move(done));
  }

  void remove(std::string receipt, Done<void> done) override {
    std::optional<Delivery> delivery = decodeReceipt(receipt);
    if (!delivery) return done(fail(ErrorCode::kNotFound, "no such receipt"));
    Result<bool> removed =
        store_->withDb([&](QueueDb& db) { return db.remove(config_.name, *delivery); });
    if (!removed) return done(tl::unexpected(removed.error()));
    if (!*removed) return done(fail(ErrorCode::kNotFound, "no such receipt, or a stale one"));
    done({});
  }

  void removeBatch(std::vector<std::string> receipts,
                   Done<std::vector<Result<void>>> done) override {
    if (receipts.empty() || receipts.size() > 10) {
      return done(fail(ErrorCode::kInvalidArgument, "a batch holds 1 to 10 receipts"));
    }
    // One transaction for the receipts that can name a delivery; the others are kNotFound.
    std::vector<Delivery> deliveries;
    std::vector<std::optional<std::size_t>> slot(receipts.size());
    for (std::size_t i = 0; i < receipts.size(); ++i) {
      if (std::optional<Delivery> delivery = decodeReceipt(receipts[i])) {
        slot[i] = deliveries.size();
        deliveries.push_back(*delivery);
      }
    }
    Result<std::vector<bool>> removed = std::vector<bool>();
    if (!deliveries.empty()) {
      removed = store_->withDb([&](QueueDb& db) { return db.removeAll(config_.name, deliveries); });
    }
    if (!removed) return done(tl::unexpected(removed.error()));
    std::vector<Result<void>> results;
    results.reserve(receipts.size());
    for (const std::optional<std::size_t>& at : slot) {
      if (!at) {
        results.emplace_back(fail(ErrorCode::kNotFound, "no such receipt"));
      } else if (!(*removed)[*at]) {
        results.emplace_back(fail(ErrorCode::kNotFound, "no such receipt, or a stale one"));
      } else {
        results.emplace_back();
      }
    }
    done(std::move(results));
  }

  void changeVisibility(std::string receipt, std::chrono::seconds visibility,
                        Done<void> done) override {
    if (visibility.count() < 0 || visibility.count() > 43200) {
      return done(fail(ErrorCode::kInvalidArgument, "visibility must be 0..43200 seconds"));
    }
    std::optional<Delivery> delivery = decodeReceipt(receipt);
    if (!delivery) return done(fail(ErrorCode::kNotFound, "no such receipt"));
    Result<bool> changed = store_->withDb([&](QueueDb& db) {
      return db.setVisibleAt(config_.name, *delivery, nowMillis() + toMillis(visibility));
    });
    if (!changed) return done(tl::unexpected(changed.error()));
    if (!*changed) return done(fail(ErrorCode::kNotFound, "no such receipt, or a stale one"));
    // Visible now, or sooner or later than the waiters' timers expect: let them look again.
    store_->wakeSoon(config_.name, scheduler_);
    done({});
  }

  void stats(Done<QueueStats> done) override {
    done(store_->withDb([&](QueueDb& db) { return db.stats(config_, nowMillis()); }));
  }

private:
  std::shared_ptr<QueueStore> store_;
  QueueConfig config_;
  Scheduler& scheduler_;
};

} // namespace

Result<std::unique_ptr<Queue>> openQueue(const BackendSpec& spec, const QueueConfig& config,
                                         const BackendContext& context) {
  if (config.name.empty()) return fail(ErrorCode::kInvalidArgument, "queue name is empty");
  if (context.scheduler == nullptr) {
    return fail(ErrorCode::kInternal, "backend context without a scheduler");
  }
  QueueConfig effective = config;
  if (effective.options.dead_letter_after) {
    if (*effective.options.dead_letter_after < 1) {
      return fail(ErrorCode::kInvalidArgument, "dead_letter_after must be at least 1");
    }
    if (effective.options.dead_letter_queue.empty()) {
      effective.options.dead_letter_queue = effective.name + "-dlq";
    }
    if (effective.options.dead_letter_queue == effective.name) {
      return fail(ErrorCode::kInvalidArgument, "a queue cannot be its own dead-letter queue");
    }
  }
  Result<std::filesystem::path> dir = resolveStoreDir(spec, context);
  if (!dir) return tl::unexpected(dir.error());
  Result<std::shared_ptr<QueueStore>> store = QueueStore::cache().get(
      *dir, [](const std::filesystem::path& path) -> Result<std::shared_ptr<QueueStore>> {
        Result<QueueDb> db = QueueDb::open(path / "queue.sqlite");
        if (!db) return tl::unexpected(db.error());
        return std::make_shared<QueueStore>(std::move(*db));
      });
  if (!store) return tl::unexpected(store.error());
  return std::make_unique<SqliteQueue>(std::move(*store), std::move(effective), *context.scheduler);
}

} // namespace exoflow::backend::local
