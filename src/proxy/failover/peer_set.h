#pragma once
// The proxy's peers as one set (DESIGN.md, "Data flow": "then peers ordered by priority and
// measured round-trip time"): each peer's health from active checks of its peer listener, the
// round-trip time of those checks, and from both the order in which a binding's chain tries
// its peers. Thread-safe; the chains read it through the Preference it gives them.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "proxy/failover/health.h"

namespace exoflow::proxy::failover {

/// A peer as the set starts with it: its name and configured priority (lower is preferred).
struct PeerSpec {
  std::string name;
  int priority = 0;
};

/// One peer's state as status shows it.
struct PeerStatus {
  std::string name;
  int priority = 0;
  std::optional<bool> healthy;       ///< unknown until checks decide
  std::optional<double> rtt_ms;      ///< moving average of the passed checks' round trips
  std::optional<double> last_rtt_ms; ///< the latest passed check's round trip
  std::string last_error;
  std::uint64_t checks = 0; ///< checks answered, passed or failed
};

class PeerSet {
public:
  /// How much the newest round trip weighs in the moving average.
  static constexpr double kRttWeight = 0.3;
  /// Peers of one priority whose round trips are within kNearRatio × the nearest one's plus
  /// kNearSlack count as equally near, and keep their chain order: two peers at the same
  /// distance must not trade places with every jitter of the network.
  static constexpr double kNearRatio = 1.5;
  static constexpr double kNearSlackMs = 5.0;

  PeerSet(std::vector<PeerSpec> peers, HealthPolicy policy);

  std::size_t size() const { return shared_->specs.size(); }
  const HealthPolicy& policy() const { return policy_; }
  /// The index of the peer named `name`, or none.
  std::optional<std::size_t> find(const std::string& name) const;

  /// Active evidence: a check answered after `rtt`, or failed.
  void checkPassed(std::size_t index, std::chrono::microseconds rtt);
  void checkFailed(std::size_t index, const std::string& reason);

  std::vector<PeerStatus> snapshot() const;

  /// The order in which a chain tries its backends: its non-peer backends first, in chain
  /// order, then its peers by priority, then by distance (equally near ones, see kNearRatio,
  /// in chain order), peers whose distance is unknown or that are down last. `chain_peers`
  /// has one entry per backend of the chain: the index of its peer here, or none.
  ChainHealth::Preference preference(std::vector<std::optional<std::size_t>> chain_peers) const;

private:
  struct State {
    int consecutive_failures = 0;
    int consecutive_passes = 0;
    std::optional<bool> healthy;
    std::optional<double> rtt_ms;
    std::optional<double> last_rtt_ms;
    std::string last_error;
    std::uint64_t checks = 0;
  };
  struct Shared {
    std::vector<PeerSpec> specs; ///< as configured; never changes
    mutable std::mutex mutex;
    std::vector<State> states;
    /// Per peer: how near it is among the peers of its priority, 0 the nearest group;
    /// kUnknownTier when its distance is unknown or it is down. Recomputed on every check.
    std::vector<int> tiers;
  };
  static constexpr int kUnknownTier = 1 << 30;
  static void retierLocked(Shared& shared);

  const HealthPolicy policy_;
  /// Shared with the chains' preferences, which may outlive the set.
  std::shared_ptr<Shared> shared_;
};

/// Checks every peer of a set every check_interval on a Scheduler, times the checks and reports
/// them to the set. A probe is a cheap call to the peer that completes exactly once; a probe
/// still running when the next round comes is not started again, one that outlasts
/// check_timeout fails.
class PeerProber {
public:
  using Probe = ProbeLoop::Probe;

  /// Starts checking at once. `scheduler` must outlive the prober; the probe may be called
  /// until the prober is destroyed.
  PeerProber(const std::shared_ptr<PeerSet>& peers, backend::Scheduler& scheduler, Probe probe);

private:
  ProbeLoop loop_;
};

} // namespace exoflow::proxy::failover
