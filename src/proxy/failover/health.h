#pragma once
// The health of each backend of one binding's chain (DESIGN.md, "Data flow"): passive outlier
// detection from the answers of real calls, active checks on a timer, and the record of the
// binding's failovers. Like Envoy's, health checking only sets flags here; the failover
// composites read them to choose a backend. Thread-safe.

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "backend/backend.h"

namespace exoflow::proxy::failover {

struct HealthPolicy {
  /// Consecutive kUnavailable answers that eject a backend.
  int failures_to_eject = 3;
  /// The first ejection lasts `base_ejection`; each further one twice the one before, up to
  /// `max_ejection`. A backend that stayed in service for `max_ejection` starts again at base.
  std::chrono::milliseconds base_ejection{2000};
  std::chrono::milliseconds max_ejection{30000};
  /// Passive evidence ejects at most this share of the chain (rounded down), so that a burst of
  /// errors from a shared cause never empties a chain on its own. A single backend is never
  /// ejected passively; active checks may still mark every backend down.
  double max_ejected_share = 0.5;
  std::chrono::milliseconds check_interval{1000};
  /// A check that has not answered within this counts as failed (the proxy uses its
  /// backend_timeout).
  std::chrono::milliseconds check_timeout{1500};
  int checks_to_fail = 2; ///< consecutive failed checks that mark a backend down
  int checks_to_pass = 1; ///< consecutive passed checks that bring it back
  /// How many failovers status keeps.
  std::size_t kept_failovers = 20;
};

/// One change of the serving backend.
struct FailoverEvent {
  std::chrono::system_clock::time_point at;
  std::size_t from = 0;
  std::size_t to = 0;
  std::string reason;
};

/// One backend's state as status shows it.
struct BackendHealth {
  bool healthy = true;
  bool ejected = false;    ///< by passive outlier detection
  bool check_down = false; ///< by active checks
  int ejections = 0;
  std::string last_error;
};

/// Whether an answer says something about a backend's health: only kUnavailable (connection
/// failures and timeouts) does; any other answer shows that it serves.
bool isOutage(const Error& error);

class ChainHealth {
public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  /// The order in which the chain prefers its backends, best first: a permutation of
  /// 0..size-1 that may change over time (peers ordered by round-trip time, peer_set.h). It is
  /// called with the chain's lock held, so it must not call back into the chain.
  using Preference = std::function<std::vector<std::size_t>()>;

  /// `size` backends, all healthy until evidence says otherwise.
  ChainHealth(std::size_t size, HealthPolicy policy, Clock clock = std::chrono::steady_clock::now);

  std::size_t size() const { return backends_.size(); }
  const HealthPolicy& policy() const { return policy_; }
  /// Replaces chain order (the default) by `preference`, before the chain serves. A change of the
  /// serving backend that only the preference caused is recorded as a failover for the reason
  /// "nearer peer".
  void prefer(Preference preference);

  /// Passive evidence: a call answered (anything but an outage) or failed with an outage.
  void succeeded(std::size_t index);
  void failed(std::size_t index, const std::string& reason);
  /// Active evidence: one health check passed or failed.
  void checkPassed(std::size_t index);
  void checkFailed(std::size_t index, const std::string& reason);

  bool healthy(std::size_t index) const;
  /// The first healthy backend in preferred order; none when every one is unhealthy.
  std::optional<std::size_t> active() const;
  /// The backends to try, in preferred order: the healthy ones; when none is healthy, every
  /// one (a chain that has nothing better still tries, and answers its errors).
  std::vector<std::size_t> order() const;

  std::vector<BackendHealth> snapshot() const;
  std::vector<FailoverEvent> failovers() const;
  std::uint64_t failoverCount() const;

private:
  struct State {
    int consecutive_failures = 0;
    int ejections = 0;
    std::optional<std::chrono::steady_clock::time_point> ejected_until;
    std::chrono::steady_clock::time_point in_service_since{};
    int checks_failed = 0;
    int checks_passed = 0;
    bool check_down = false;
    std::string last_error;
  };

  bool healthyLocked(std::size_t index, std::chrono::steady_clock::time_point now) const;
  /// The preferred order now: chain order without a preference.
  std::vector<std::size_t> preferredLocked() const;
  std::optional<std::size_t> activeLocked(std::chrono::steady_clock::time_point now,
                                          const std::vector<std::size_t>& preferred) const;
  std::size_t ejectedLocked(std::chrono::steady_clock::time_point now) const;
  void ejectLocked(std::size_t index, std::chrono::steady_clock::time_point now);
  /// Records a failover when the serving backend changed since the last look.
  void noteActiveLocked(std::chrono::steady_clock::time_point now, const std::string& reason) const;

  const HealthPolicy policy_;
  const Clock clock_;
  mutable std::mutex mutex_;
  std::vector<State> backends_;
  Preference preference_;
  /// The preferred order at the last look, to tell a change of order from a change of health.
  mutable std::vector<std::size_t> last_preferred_;
  /// The serving backend as last seen; ejections that end by time change it lazily, so a
  /// reader notices the change (failback) on its next look.
  mutable std::optional<std::size_t> last_active_;
  mutable std::deque<FailoverEvent> failovers_;
  mutable std::uint64_t failover_count_ = 0;
};

/// Calls a probe for each of `size` members every `interval` on a Scheduler and reports each
/// probe's outcome exactly once, with the time it took: its answer or, once `timeout` passed
/// without one, a timeout (kUnavailable). A probe still running when the next round comes is
/// not started again.
class ProbeLoop {
public:
  using Probe = std::function<void(std::size_t index, backend::Done<void> done)>;
  using Report = std::function<void(std::size_t index, std::chrono::steady_clock::duration took,
                                    const Result<void>& outcome)>;

  /// Starts the first round at once. `scheduler` must outlive the loop; `probe` is called until
  /// the loop is destroyed, never after. `report` may still hear of a probe that answers late,
  /// so it must hold what it uses (shared pointers), not borrow it.
  ProbeLoop(std::size_t size, backend::Scheduler& scheduler, std::chrono::milliseconds interval,
            std::chrono::milliseconds timeout, Probe probe, Report report);
  ~ProbeLoop();
  ProbeLoop(const ProbeLoop&) = delete;
  ProbeLoop& operator=(const ProbeLoop&) = delete;

private:
  struct Shared;
  std::shared_ptr<Shared> shared_;
};

/// Runs a health check of every backend of a chain every check_interval on a Scheduler and
/// reports the outcomes to a ChainHealth. A probe is a cheap call that completes exactly once.
class HealthChecker {
public:
  using Probe = ProbeLoop::Probe;

  /// Starts checking at once. `health` and `scheduler` must outlive the checker; the probe may
  /// be called until the checker is destroyed.
  HealthChecker(std::shared_ptr<ChainHealth> health, backend::Scheduler& scheduler, Probe probe);

private:
  ProbeLoop loop_;
};

} // namespace exoflow::proxy::failover
