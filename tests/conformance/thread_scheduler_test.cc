// The ThreadScheduler that tests and tools use as their host event loop.

#include <atomic>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "backend/thread_scheduler.h"

namespace exoflow::backend {
namespace {

using namespace std::chrono_literals;

TEST(ThreadSchedulerTest, RunsPostedWorkOnItsOwnThreadInOrder) {
  ThreadScheduler scheduler;
  std::mutex mutex;
  std::vector<int> order;
  std::promise<std::thread::id> ran_on;
  for (int i = 0; i < 5; ++i) {
    scheduler.post([&, i] {
      std::lock_guard lock(mutex);
      order.push_back(i);
    });
  }
  scheduler.post([&] { ran_on.set_value(std::this_thread::get_id()); });
  EXPECT_NE(ran_on.get_future().get(), std::this_thread::get_id());
  std::lock_guard lock(mutex);
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
}

TEST(ThreadSchedulerTest, RunsTimersInDeadlineOrder) {
  ThreadScheduler scheduler;
  std::mutex mutex;
  std::vector<int> order;
  std::promise<void> last;
  scheduler.after(300ms, [&] {
    std::lock_guard lock(mutex);
    order.push_back(3);
    last.set_value();
  });
  scheduler.after(100ms, [&] {
    std::lock_guard lock(mutex);
    order.push_back(1);
  });
  scheduler.after(200ms, [&] {
    std::lock_guard lock(mutex);
    order.push_back(2);
  });
  last.get_future().wait();
  std::lock_guard lock(mutex);
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

TEST(ThreadSchedulerTest, ATimerDoesNotRunBeforeItsDelay) {
  ThreadScheduler scheduler;
  std::promise<std::chrono::steady_clock::time_point> fired;
  const auto start = std::chrono::steady_clock::now();
  scheduler.after(150ms, [&] { fired.set_value(std::chrono::steady_clock::now()); });
  EXPECT_GE(fired.get_future().get() - start, 150ms);
}

TEST(ThreadSchedulerTest, CancelledTimersNeverRun) {
  ThreadScheduler scheduler;
  std::atomic<int> runs{0};
  const Scheduler::TimerId id = scheduler.after(100ms, [&] { ++runs; });
  std::this_thread::sleep_for(20ms); // the thread now sleeps until this timer's deadline
  scheduler.cancel(id);
  scheduler.cancel(id);     // twice: nothing happens
  scheduler.cancel(987654); // unknown: nothing happens
  std::promise<void> later;
  scheduler.after(200ms, [&] { later.set_value(); });
  later.get_future().wait();
  EXPECT_EQ(runs.load(), 0);
}

TEST(ThreadSchedulerTest, CallbacksMayScheduleAndCancelMore) {
  ThreadScheduler scheduler;
  std::promise<int> result;
  scheduler.post([&] {
    const Scheduler::TimerId doomed = scheduler.after(50ms, [&] { result.set_value(-1); });
    scheduler.cancel(doomed);
    scheduler.after(100ms, [&] { result.set_value(42); });
  });
  EXPECT_EQ(result.get_future().get(), 42);
}

TEST(ThreadSchedulerTest, DestructionDropsPendingCallbacksUnrun) {
  auto runs = std::make_shared<std::atomic<int>>(0);
  auto owned = std::make_shared<int>(7);
  {
    ThreadScheduler scheduler;
    scheduler.after(10s, [runs, owned] { ++*runs; });
  }
  EXPECT_EQ(runs->load(), 0);
  EXPECT_EQ(owned.use_count(), 1) << "the dropped callback was not destroyed";
}

} // namespace
} // namespace exoflow::backend
