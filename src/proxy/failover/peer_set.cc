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

struct PeerProber::Shared : std::enable_shared_from_this<Shared> {
  std::shared_ptr<PeerSet> peers;
  backend::Scheduler* scheduler = nullptr;
  Probe probe;
  /// Held while probes start and while the prober stops, so that no probe starts once the
  /// owner of what it calls is going away.
  std::mutex run_mutex;
  bool stopped = false;
  std::mutex mutex; ///< guards the rest; never held while calling out
  backend::Scheduler::TimerId timer = 0;
  std::vector<std::uint64_t> pending; ///< the probe each peer waits for; 0: none
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
      scheduler->after(peers->policy().check_timeout, [self, index = index, id = id] {
        self->answer(index, id, {}, fail(ErrorCode::kUnavailable, "the health check timed out"));
      });
      const auto started = std::chrono::steady_clock::now();
      probe(index, [self, index = index, id = id, started](Result<void> r) {
        self->answer(index, id, std::chrono::steady_clock::now() - started, r);
      });
    }
    std::lock_guard lock(mutex);
    timer = scheduler->after(peers->policy().check_interval, [self] { self->round(); });
  }

  /// The first of a probe's answer and its timeout counts; the other is ignored.
  void answer(std::size_t index, std::uint64_t id, std::chrono::steady_clock::duration rtt,
              const Result<void>& r) {
    {
      std::lock_guard lock(mutex);
      if (pending[index] != id) return;
      pending[index] = 0;
    }
    if (r) {
      peers->checkPassed(index, std::chrono::duration_cast<std::chrono::microseconds>(rtt));
    } else {
      peers->checkFailed(index, r.error().message);
    }
  }
};

PeerProber::PeerProber(std::shared_ptr<PeerSet> peers, backend::Scheduler& scheduler, Probe probe)
    : shared_(std::make_shared<Shared>()) {
  shared_->pending.assign(peers->size(), 0);
  shared_->peers = std::move(peers);
  shared_->scheduler = &scheduler;
  shared_->probe = std::move(probe);
  std::weak_ptr<Shared> weak = shared_;
  scheduler.post([weak] {
    if (auto self = weak.lock()) self->round();
  });
}

PeerProber::~PeerProber() {
  std::lock_guard run(shared_->run_mutex);
  shared_->stopped = true;
  std::lock_guard lock(shared_->mutex);
  shared_->scheduler->cancel(shared_->timer);
}

} // namespace exoflow::proxy::failover
