#pragma once
// backend::Scheduler over an Asio io_context: steady_timer for after(), post() for post().

#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "backend/backend.h"

namespace boost::asio {
class io_context;
} // namespace boost::asio

namespace exoflow::proxy {

class AsioScheduler final : public backend::Scheduler {
public:
  /// `context` must outlive the scheduler.
  explicit AsioScheduler(boost::asio::io_context& context);
  ~AsioScheduler() override;
  AsioScheduler(const AsioScheduler&) = delete;
  AsioScheduler& operator=(const AsioScheduler&) = delete;

  /// Runs `fn` on a thread of the io_context once `delay` has passed, unless cancelled first.
  TimerId after(std::chrono::milliseconds delay, std::function<void()> fn) override;
  /// Cancels a pending timer; an id that already ran, was cancelled or is unknown is ignored.
  void cancel(TimerId id) override;
  /// Runs `fn` soon on a thread of the io_context, never inline.
  void post(std::function<void()> fn) override;

private:
  struct Timer;
  boost::asio::io_context& context_;
  std::mutex mutex_;
  std::unordered_map<TimerId, std::shared_ptr<Timer>> timers_;
  TimerId next_id_ = 1;
};

} // namespace exoflow::proxy
