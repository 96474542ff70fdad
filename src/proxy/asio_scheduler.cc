#include "proxy/asio_scheduler.h"

#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

namespace exoflow::proxy {

struct AsioScheduler::Timer {
  explicit Timer(boost::asio::io_context& context) : timer(context) {}
  boost::asio::steady_timer timer;
  std::function<void()> fn;
};

AsioScheduler::AsioScheduler(boost::asio::io_context& context) : context_(context) {}

AsioScheduler::~AsioScheduler() {
  try {
    std::lock_guard lock(mutex_);
    for (auto& [id, timer] : timers_) {
      timer->timer.cancel();
    }
  } catch (const std::exception&) { // NOLINT(bugprone-empty-catch): nothing to do at the end
  }
}

backend::Scheduler::TimerId AsioScheduler::after(std::chrono::milliseconds delay,
                                                 std::function<void()> fn) {
  auto timer = std::make_shared<Timer>(context_);
  timer->fn = std::move(fn);
  TimerId id = 0;
  {
    std::lock_guard lock(mutex_);
    id = next_id_++;
    timers_.emplace(id, timer);
  }
  timer->timer.expires_after(delay);
  // The handler owns the timer; the map only lets cancel() find it.
  timer->timer.async_wait([this, id, timer](const boost::system::error_code& ec) {
    bool pending = false;
    {
      std::lock_guard lock(mutex_);
      pending = timers_.erase(id) > 0;
    }
    // A timer cancelled after it fired but before this ran has left the map: skip it too.
    if (!ec && pending && timer->fn) timer->fn();
  });
  return id;
}

void AsioScheduler::cancel(TimerId id) {
  std::shared_ptr<Timer> timer;
  {
    std::lock_guard lock(mutex_);
    auto it = timers_.find(id);
    if (it == timers_.end()) return;
    timer = std::move(it->second);
    timers_.erase(it);
  }
  timer->timer.cancel();
}

void AsioScheduler::post(std::function<void()> fn) {
  boost::asio::post(context_, std::move(fn));
}

} // namespace exoflow::proxy
