#pragma once
// A Scheduler on one dedicated thread with a timer queue, for tests and tools (the proxy has
// its own over Asio). Callbacks run one at a time on that thread, in deadline order; callbacks
// with the same deadline run in the order they were scheduled.

#include <utility>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "backend/backend.h"

namespace exoflow::backend {

class ThreadScheduler final : public Scheduler {
public:
  /// Starts the thread.
  ThreadScheduler();
  /// Stops the thread: a callback that is running finishes, pending ones are dropped unrun.
  /// Must not be called from one of the scheduler's own callbacks.
  ~ThreadScheduler() override;

  ThreadScheduler(const ThreadScheduler&) = delete;
  ThreadScheduler& operator=(const ThreadScheduler&) = delete;

  /// Runs `fn` on the scheduler thread once `delay` has passed, unless cancelled first.
  TimerId after(std::chrono::milliseconds delay, std::function<void()> fn) override;
  /// Cancels a pending timer; an id that already ran, was cancelled or is unknown is ignored.
  void cancel(TimerId id) override;
  /// Runs `fn` on the scheduler thread as soon as the callbacks before it have run.
  void post(std::function<void()> fn) override;

private:
  using Clock = std::chrono::steady_clock;
  using Slot = std::pair<Clock::time_point, TimerId>; ///< deadline, then id: FIFO on ties

  void run();

  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<Slot, std::function<void()>> timers_;
  std::unordered_map<TimerId, Clock::time_point> deadlines_; ///< pending ids, for cancel()
  TimerId next_id_ = 1;
  bool stopping_ = false;
  std::thread thread_; ///< last: starts once everything above exists
};

} // namespace exoflow::backend
