#include "proxy/failover/peer_set.h"

#include <algorithm>
#include <numeric>
#include <tuple>

#include <spdlog/spdlog.h>

namespace exoflow::proxy::failover {

PeerSet::PeerSet(std::vector<PeerSpec> peers, HealthPolicy policy)
    : policy_(policy), shared_(std::make_shared<Shared>()) {
  shared_->specs = std::move(peers);
  shared_->states.resize(shared_->specs.size());
  shared_->tiers.assign(shared_->specs.size(), kUnknownTier);
}

std::optional<std::size_t> PeerSet::find(const std::string& name) const {
  for (std::size_t i = 0; i < shared_->specs.size(); ++i) {
    if (shared_->specs[i].name == name) return i;
  }
  return std::nullopt;
}

void PeerSet::checkPassed(std::size_t index, std::chrono::microseconds rtt) {
  std::lock_guard lock(shared_->mutex);
  State& s = shared_->states.at(index);
  const double ms = static_cast<double>(rtt.count()) / 1000.0;
  s.last_rtt_ms = ms;
  s.rtt_ms = s.rtt_ms ? *s.rtt_ms + kRttWeight * (ms - *s.rtt_ms) : ms;
  ++s.checks;
  s.consecutive_failures = 0;
  if (++s.consecutive_passes >= policy_.checks_to_pass && s.healthy != true) {
    spdlog::info("peer {}: up (round trip {:.1f} ms)", shared_->specs[index].name, ms);
    s.healthy = true;
  }
  retierLocked(*shared_);
}

void PeerSet::checkFailed(std::size_t index, const std::string& reason) {
  std::lock_guard lock(shared_->mutex);
  State& s = shared_->states.at(index);
  s.last_error = reason;
  ++s.checks;
  s.consecutive_passes = 0;
  if (++s.consecutive_failures >= policy_.checks_to_fail) {
    if (s.healthy != false) {
      spdlog::warn("peer {}: down after {} failed checks: {}", shared_->specs[index].name,
                   s.consecutive_failures, reason);
    }
    s.healthy = false;
    // A peer that came back is measured afresh: its old distance may no longer hold.
    s.rtt_ms.reset();
  }
  retierLocked(*shared_);
}

std::vector<PeerStatus> PeerSet::snapshot() const {
  std::lock_guard lock(shared_->mutex);
  std::vector<PeerStatus> out;
  for (std::size_t i = 0; i < shared_->specs.size(); ++i) {
    const State& s = shared_->states[i];
    out.push_back({shared_->specs[i].name, shared_->specs[i].priority, s.healthy, s.rtt_ms,
                   s.last_rtt_ms, s.last_error, s.checks});
  }
  return out;
}

void PeerSet::retierLocked(Shared& shared) {
  // Per priority, the peers with a known distance from the nearest; each group starts at the
  // first peer that is clearly farther than the group before it began.
  std::vector<std::size_t> known;
  for (std::size_t i = 0; i < shared.specs.size(); ++i) {
    shared.tiers[i] = kUnknownTier;
    const State& s = shared.states[i];
    if (s.healthy == true && s.rtt_ms) known.push_back(i);
  }
  std::sort(known.begin(), known.end(), [&](std::size_t a, std::size_t b) {
    return std::tuple(shared.specs[a].priority, *shared.states[a].rtt_ms, a) <
           std::tuple(shared.specs[b].priority, *shared.states[b].rtt_ms, b);
  });
  std::optional<int> priority;
  double leader_ms = 0;
  int tier = 0;
  for (const std::size_t i : known) {
    const double ms = *shared.states[i].rtt_ms;
    if (priority != shared.specs[i].priority) {
      priority = shared.specs[i].priority;
      leader_ms = ms;
      tier = 0;
    } else if (ms > leader_ms * kNearRatio + kNearSlackMs) {
      leader_ms = ms;
      ++tier;
    }
    shared.tiers[i] = tier;
  }
}

ChainHealth::Preference
PeerSet::preference(std::vector<std::optional<std::size_t>> chain_peers) const {
  return [shared = shared_, chain_peers = std::move(chain_peers)] {
    std::vector<std::size_t> order(chain_peers.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::lock_guard lock(shared->mutex);
    // Non-peers first (as if of a priority below every peer's), then the sort key of peers.
    auto key = [&](std::size_t i) {
      if (!chain_peers[i]) return std::tuple(0, 0, 0, i);
      const std::size_t p = *chain_peers[i];
      return std::tuple(1, shared->specs[p].priority, shared->tiers[p], i);
    };
    std::sort(order.begin(), order.end(),
              [&](std::size_t a, std::size_t b) { return key(a) < key(b); });
    return order;
  };
}

// ---- PeerProber ----

PeerProber::PeerProber(const std::shared_ptr<PeerSet>& peers, backend::Scheduler& scheduler,
                       Probe probe)
    : loop_(peers->size(), scheduler, peers->policy().check_interval, peers->policy().check_timeout,
            std::move(probe),
            [peers](std::size_t index, std::chrono::steady_clock::duration took,
                    const Result<void>& r) {
              if (r) {
                peers->checkPassed(index,
                                   std::chrono::duration_cast<std::chrono::microseconds>(took));
              } else {
                peers->checkFailed(index, r.error().message);
              }
            }) {}

} // namespace exoflow::proxy::failover
