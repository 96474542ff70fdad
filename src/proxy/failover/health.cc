#include "proxy/failover/health.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace exoflow::proxy::failover {

using SteadyTime = std::chrono::steady_clock::time_point;

bool isOutage(const Error& error) {
  return error.code == ErrorCode::kUnavailable;
}

ChainHealth::ChainHealth(std::size_t size, HealthPolicy policy, Clock clock)
    : policy_(policy), clock_(std::move(clock)), backends_(size) {
  const SteadyTime now = clock_();
  for (State& s : backends_)
    s.in_service_since = now;
  last_preferred_ = preferredLocked();
  last_active_ = activeLocked(now, last_preferred_);
}

void ChainHealth::prefer(Preference preference) {
  std::lock_guard lock(mutex_);
  preference_ = std::move(preference);
  // The chain starts with this order: no failover.
  last_preferred_ = preferredLocked();
  last_active_ = activeLocked(clock_(), last_preferred_);
}

void ChainHealth::succeeded(std::size_t index) {
  std::lock_guard lock(mutex_);
  const SteadyTime now = clock_();
  State& s = backends_.at(index);
  s.consecutive_failures = 0;
  // An answer from an ejected backend (tried because nothing better was healthy) proves it
  // serves again.
  if (s.ejected_until) {
    s.ejected_until.reset();
    s.in_service_since = now;
  }
  noteActiveLocked(now, "recovered");
}

void ChainHealth::failed(std::size_t index, const std::string& reason) {
  std::lock_guard lock(mutex_);
  const SteadyTime now = clock_();
  State& s = backends_.at(index);
  s.last_error = reason;
  if (s.ejected_until && *s.ejected_until > now) return; // already out; the call was a last try
  if (++s.consecutive_failures >= policy_.failures_to_eject) ejectLocked(index, now);
  noteActiveLocked(now, reason);
}

void ChainHealth::checkPassed(std::size_t index) {
  std::lock_guard lock(mutex_);
  const SteadyTime now = clock_();
  State& s = backends_.at(index);
  s.checks_failed = 0;
  if (++s.checks_passed >= policy_.checks_to_pass && s.check_down) {
    s.check_down = false;
    s.consecutive_failures = 0;
    s.in_service_since = now;
  }
  noteActiveLocked(now, "recovered");
}

void ChainHealth::checkFailed(std::size_t index, const std::string& reason) {
  std::lock_guard lock(mutex_);
  const SteadyTime now = clock_();
  State& s = backends_.at(index);
  s.checks_passed = 0;
  s.last_error = reason;
  if (++s.checks_failed >= policy_.checks_to_fail) s.check_down = true;
  noteActiveLocked(now, "health check failed: " + reason);
}

bool ChainHealth::healthy(std::size_t index) const {
  std::lock_guard lock(mutex_);
  const SteadyTime now = clock_();
  noteActiveLocked(now, "ejection ended");
  return healthyLocked(index, now);
}

std::optional<std::size_t> ChainHealth::active() const {
  std::lock_guard lock(mutex_);
  const SteadyTime now = clock_();
  noteActiveLocked(now, "ejection ended");
  return activeLocked(now, last_preferred_);
}

std::vector<std::size_t> ChainHealth::order() const {
  std::lock_guard lock(mutex_);
  const SteadyTime now = clock_();
  noteActiveLocked(now, "ejection ended");
  std::vector<std::size_t> out;
  for (const std::size_t i : last_preferred_) {
    if (healthyLocked(i, now)) out.push_back(i);
  }
  if (out.empty()) out = last_preferred_;
  return out;
}

std::vector<BackendHealth> ChainHealth::snapshot() const {
  std::lock_guard lock(mutex_);
  const SteadyTime now = clock_();
  noteActiveLocked(now, "ejection ended");
  std::vector<BackendHealth> out;
  for (std::size_t i = 0; i < backends_.size(); ++i) {
    const State& s = backends_[i];
    out.push_back({healthyLocked(i, now), s.ejected_until && *s.ejected_until > now, s.check_down,
                   s.ejections, s.last_error});
  }
  return out;
}

std::vector<FailoverEvent> ChainHealth::failovers() const {
  std::lock_guard lock(mutex_);
  noteActiveLocked(clock_(), "ejection ended");
  return {failovers_.begin(), failovers_.end()};
}

std::uint64_t ChainHealth::failoverCount() const {
  std::lock_guard lock(mutex_);
  noteActiveLocked(clock_(), "ejection ended");
  return failover_count_;
}

bool ChainHealth::healthyLocked(std::size_t index, SteadyTime now) const {
  const State& s = backends_[index];
  return !s.check_down && !(s.ejected_until && *s.ejected_until > now);
}

std::vector<std::size_t> ChainHealth::preferredLocked() const {
  std::vector<std::size_t> out;
  if (preference_) out = preference_();
  if (out.size() != backends_.size()) {
    out.resize(backends_.size());
    std::iota(out.begin(), out.end(), std::size_t{0});
  }
  return out;
}

std::optional<std::size_t>
ChainHealth::activeLocked(SteadyTime now, const std::vector<std::size_t>& preferred) const {
  for (const std::size_t i : preferred) {
    if (healthyLocked(i, now)) return i;
  }
  return std::nullopt;
}

std::size_t ChainHealth::ejectedLocked(SteadyTime now) const {
  return static_cast<std::size_t>(std::count_if(backends_.begin(), backends_.end(), [&](auto& s) {
    return s.ejected_until && *s.ejected_until > now;
  }));
}

void ChainHealth::ejectLocked(std::size_t index, SteadyTime now) {
  const auto allowed = static_cast<std::size_t>(
      std::floor(policy_.max_ejected_share * static_cast<double>(backends_.size())));
  if (ejectedLocked(now) + 1 > allowed) return;
  State& s = backends_[index];
  s.consecutive_failures = 0;
  // A backend that served well for a while starts its back-off again.
  if (now - s.in_service_since >= policy_.max_ejection) s.ejections = 0;
  const int doublings = std::min(s.ejections, 16);
  ++s.ejections;
  const auto ejection = std::min(policy_.base_ejection * (std::int64_t{1} << doublings),
                                 std::chrono::milliseconds(policy_.max_ejection));
  s.ejected_until = now + ejection;
  s.in_service_since = *s.ejected_until;
}

void ChainHealth::noteActiveLocked(SteadyTime now, const std::string& reason) const {
  // Without a preference the order never changes (and this runs on every call: no copies).
  bool reordered = false;
  if (preference_) {
    std::vector<std::size_t> preferred = preferredLocked();
    // The health that chose the backend before, applied to the order before: when it still
    // chooses the same one, only the order changed.
    reordered = preferred != last_preferred_ && activeLocked(now, last_preferred_) == last_active_;
    last_preferred_ = std::move(preferred);
  }
  const std::optional<std::size_t> active = activeLocked(now, last_preferred_);
  // A chain with nothing healthy keeps serving from its last choice (see order()); the change
  // that counts is to another healthy backend.
  if (!active || active == last_active_) return;
  if (last_active_) {
    failovers_.push_back({std::chrono::system_clock::now(), *last_active_, *active,
                          reordered ? std::string("nearer peer") : reason});
    while (failovers_.size() > policy_.kept_failovers)
      failovers_.pop_front();
    ++failover_count_;
  }
  last_active_ = active;
}

// ---- ProbeLoop ----

struct ProbeLoop::Shared : std::enable_shared_from_this<Shared> {
  backend::Scheduler* scheduler = nullptr;
  std::chrono::milliseconds interval{};
  std::chrono::milliseconds timeout{};
  Probe probe;
  Report report;
  /// Held while probes start and while the loop stops, so that no probe starts once the owner
  /// of what it calls is going away.
  std::mutex run_mutex;
  bool stopped = false;
  std::mutex mutex; ///< guards the rest; never held while calling out
  backend::Scheduler::TimerId timer = 0;
  std::vector<std::uint64_t> pending; ///< the probe each member waits for; 0: none
  std::uint64_t next_probe = 1;

  void round() {
    std::lock_guard run(run_mutex);
    if (stopped) return;
    std::vector<std::pair<std::size_t, std::uint64_t>> start;
    {
      std::lock_guard lock(mutex);
      for (std::size_t i = 0; i < pending.size(); ++i) {
        if (pending[i] != 0) continue;
        pending[i] = next_probe++;
        start.emplace_back(i, pending[i]);
      }
    }
    auto self = shared_from_this();
    for (auto [index, id] : start) {
      const auto started = std::chrono::steady_clock::now();
      scheduler->after(timeout, [self, index = index, id = id, started] {
        self->answer(index, id, started,
                     fail(ErrorCode::kUnavailable, "the health check timed out"));
      });
      probe(index, [self, index = index, id = id, started](Result<void> r) {
        self->answer(index, id, started, r);
      });
    }
    std::lock_guard lock(mutex);
    timer = scheduler->after(interval, [self] { self->round(); });
  }

  /// The first of a probe's answer and its timeout counts; the other is ignored.
  void answer(std::size_t index, std::uint64_t id, std::chrono::steady_clock::time_point started,
              const Result<void>& r) {
    {
      std::lock_guard lock(mutex);
      if (pending[index] != id) return;
      pending[index] = 0;
    }
    report(index, std::chrono::steady_clock::now() - started, r);
  }
};

ProbeLoop::ProbeLoop(std::size_t size, backend::Scheduler& scheduler,
                     std::chrono::milliseconds interval, std::chrono::milliseconds timeout,
                     Probe probe, Report report)
    : shared_(std::make_shared<Shared>()) {
  shared_->pending.assign(size, 0);
  shared_->scheduler = &scheduler;
  shared_->interval = interval;
  shared_->timeout = timeout;
  shared_->probe = std::move(probe);
  shared_->report = std::move(report);
  std::weak_ptr<Shared> weak = shared_;
  scheduler.post([weak] {
    if (auto self = weak.lock()) self->round();
  });
}

ProbeLoop::~ProbeLoop() {
  std::lock_guard run(shared_->run_mutex);
  shared_->stopped = true;
  std::lock_guard lock(shared_->mutex);
  shared_->scheduler->cancel(shared_->timer);
}

// ---- HealthChecker ----

HealthChecker::HealthChecker(std::shared_ptr<ChainHealth> health, backend::Scheduler& scheduler,
                             Probe probe)
    : loop_(health->size(), scheduler, health->policy().check_interval,
            health->policy().check_timeout, std::move(probe),
            [health](std::size_t index, std::chrono::steady_clock::duration /*took*/,
                     const Result<void>& r) {
              if (r || !isOutage(r.error())) {
                health->checkPassed(index);
              } else {
                health->checkFailed(index, r.error().message);
              }
            }) {}

} // namespace exoflow::proxy::failover
