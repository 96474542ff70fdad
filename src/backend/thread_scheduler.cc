#include "backend/thread_scheduler.h"

#include <algorithm>

namespace exoflow::backend {

ThreadScheduler::ThreadScheduler() : thread_([this] { run(); }) {}

ThreadScheduler::~ThreadScheduler() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

Scheduler::TimerId ThreadScheduler::after(std::chrono::milliseconds delay,
                                          std::function<void()> fn) {
  const Clock::time_point deadline = Clock::now() + std::max(delay, std::chrono::milliseconds(0));
  TimerId id = 0;
  bool earliest = false;
  {
    std::lock_guard lock(mutex_);
    id = next_id_++;
    auto it = timers_.emplace(Slot{deadline, id}, std::move(fn)).first;
    deadlines_.emplace(id, deadline);
    earliest = it == timers_.begin();
  }
  // Only a new earliest deadline changes how long the thread must sleep.
  if (earliest) changed_.notify_one();
  return id;
}

void ThreadScheduler::cancel(TimerId id) {
  std::function<void()> dropped; // destroyed outside the lock: it may own anything
  std::lock_guard lock(mutex_);
  auto it = deadlines_.find(id);
  if (it == deadlines_.end()) return;
  auto timer = timers_.find(Slot{it->second, id});
  dropped = std::move(timer->second);
  timers_.erase(timer);
  deadlines_.erase(it);
}

void ThreadScheduler::post(std::function<void()> fn) {
  after(std::chrono::milliseconds(0), std::move(fn));
}

void ThreadScheduler::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    if (timers_.empty()) {
      changed_.wait(lock);
      continue;
    }
    auto first = timers_.begin();
    // A copy: cancel() may erase the node while this thread waits.
    const Clock::time_point deadline = first->first.first;
    if (deadline > Clock::now()) {
      changed_.wait_until(lock, deadline);
      continue;
    }
    std::function<void()> fn = std::move(first->second);
    deadlines_.erase(first->first.second);
    timers_.erase(first);
    lock.unlock();
    fn();
    fn = nullptr; // release what it captured before taking the lock again
    lock.lock();
  }
  // Dropped callbacks are destroyed outside the lock, as cancel() does.
  auto pending = std::move(timers_);
  deadlines_.clear();
  lock.unlock();
  pending.clear();
}

} // namespace exoflow::backend
