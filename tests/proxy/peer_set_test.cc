// The peer set on given round-trip times: each peer's health and moving average, the order in
// which a chain tries its backends (non-peers, then peers by priority and distance), the
// failovers a change of order records, and the prober on a hand-driven scheduler.
#include <map>
#include <vector>

#include <gtest/gtest.h>

#include "proxy/failover/peer_set.h"

namespace exoflow::proxy::failover {
namespace {

using namespace std::chrono_literals;
using Order = std::vector<std::size_t>;

HealthPolicy policy() {
  HealthPolicy p;
  p.checks_to_fail = 2;
  p.checks_to_pass = 1;
  p.check_interval = 1000ms;
  p.check_timeout = 500ms;
  return p;
}

/// Peers a, b, c of priority 0 (c of `c_priority`).
PeerSet threePeers(int c_priority = 0) {
  return PeerSet({{"a", 0}, {"b", 0}, {"c", c_priority}}, policy());
}

TEST(PeerSetTest, TheAverageStartsAtTheFirstSampleAndMovesByItsWeight) {
  PeerSet set = threePeers();
  EXPECT_FALSE(set.snapshot()[0].healthy.has_value()) << "unknown until a check answers";
  set.checkPassed(0, 10ms);
  PeerStatus a = set.snapshot()[0];
  EXPECT_EQ(a.healthy, true);
  EXPECT_DOUBLE_EQ(*a.rtt_ms, 10.0);
  set.checkPassed(0, 20ms);
  a = set.snapshot()[0];
  EXPECT_DOUBLE_EQ(*a.rtt_ms, 10.0 + PeerSet::kRttWeight * 10.0);
  EXPECT_DOUBLE_EQ(*a.last_rtt_ms, 20.0);
  EXPECT_EQ(a.checks, 2U);
}

TEST(PeerSetTest, ConsecutiveFailedChecksMarkAPeerDownAndOnePassBringsItBack) {
  PeerSet set = threePeers();
  set.checkPassed(1, 5ms);
  set.checkFailed(1, "connection refused");
  EXPECT_EQ(set.snapshot()[1].healthy, true) << "one failure is below checks_to_fail";
  set.checkFailed(1, "connection refused");
  PeerStatus b = set.snapshot()[1];
  EXPECT_EQ(b.healthy, false);
  EXPECT_EQ(b.last_error, "connection refused");
  EXPECT_FALSE(b.rtt_ms.has_value()) << "a peer that was down is measured afresh";
  EXPECT_DOUBLE_EQ(*b.last_rtt_ms, 5.0);
  set.checkPassed(1, 7ms);
  EXPECT_EQ(set.snapshot()[1].healthy, true);
  EXPECT_DOUBLE_EQ(*set.snapshot()[1].rtt_ms, 7.0);
}

TEST(PeerSetTest, NonPeersComeFirstInChainOrderThenPeersByDistance) {
  PeerSet set = threePeers();
  // Chain: [peer a, local, peer b, local, peer c].
  auto prefer = set.preference({0, std::nullopt, 1, std::nullopt, 2});
  EXPECT_EQ(prefer(), (Order{1, 3, 0, 2, 4})) << "unknown distances keep chain order";
  set.checkPassed(0, 80ms);
  set.checkPassed(1, 2ms);
  set.checkPassed(2, 30ms);
  EXPECT_EQ(prefer(), (Order{1, 3, 2, 4, 0}));
}

TEST(PeerSetTest, UnknownDistanceAndDownPeersGoLastWithinTheirPriority) {
  PeerSet set = threePeers();
  auto prefer = set.preference({0, 1, 2});
  set.checkPassed(2, 40ms);
  EXPECT_EQ(prefer(), (Order{2, 0, 1})) << "a measured peer before unmeasured ones";
  set.checkPassed(0, 1ms);
  EXPECT_EQ(prefer(), (Order{0, 2, 1}));
  set.checkFailed(0, "timed out");
  set.checkFailed(0, "timed out");
  EXPECT_EQ(prefer(), (Order{2, 0, 1})) << "a peer that is down ranks as unmeasured";
}

TEST(PeerSetTest, PriorityComesBeforeDistance) {
  PeerSet set = threePeers(/*c_priority=*/-1);
  auto prefer = set.preference({0, 1, 2});
  set.checkPassed(0, 1ms);
  set.checkPassed(1, 2ms);
  EXPECT_EQ(prefer(), (Order{2, 0, 1})) << "c has the lowest priority number, measured or not";
  set.checkPassed(2, 500ms);
  EXPECT_EQ(prefer(), (Order{2, 0, 1}));
}

TEST(PeerSetTest, EquallyNearPeersKeepChainOrder) {
  PeerSet set = threePeers();
  // b is a little nearer than a, within kNearRatio and kNearSlackMs: still a first.
  set.checkPassed(0, 4ms);
  set.checkPassed(1, 2ms);
  EXPECT_EQ(set.preference({0, 1})(), (Order{0, 1}));
  EXPECT_EQ(set.preference({1, 0})(), (Order{0, 1})) << "the chain [b, a] keeps b first";
  // Clearly nearer wins.
  set.checkPassed(0, 200ms);
  set.checkPassed(0, 200ms);
  EXPECT_EQ(set.preference({0, 1})(), (Order{1, 0}));
}

TEST(PeerSetTest, AChangeOfOrderAloneIsAFailoverToTheNearerPeer) {
  auto set = std::make_shared<PeerSet>(std::vector<PeerSpec>{{"a", 0}, {"b", 0}}, policy());
  ChainHealth chain(2, policy());
  chain.prefer(set->preference({0, 1}));
  EXPECT_EQ(chain.active(), 0U);
  set->checkPassed(0, 300ms);
  set->checkPassed(1, 3ms);
  EXPECT_EQ(chain.active(), 1U);
  EXPECT_EQ(chain.order(), (Order{1, 0}));
  std::vector<FailoverEvent> failovers = chain.failovers();
  ASSERT_EQ(failovers.size(), 1U);
  EXPECT_EQ(failovers[0].from, 0U);
  EXPECT_EQ(failovers[0].to, 1U);
  EXPECT_EQ(failovers[0].reason, "nearer peer");

  // b's own checks fail in the chain: a serves, for the checks' reason, not for distance.
  chain.checkFailed(1, "connection refused");
  chain.checkFailed(1, "connection refused");
  EXPECT_EQ(chain.active(), 0U);
  failovers = chain.failovers();
  ASSERT_EQ(failovers.size(), 2U);
  EXPECT_EQ(failovers[1].reason, "health check failed: connection refused");
  EXPECT_EQ(chain.failoverCount(), 2U);
}

TEST(PeerSetTest, AChainThatStartsWithALocalBackendRecordsNoFailoverForIt) {
  PeerSet set = threePeers();
  ChainHealth chain(2, policy());
  chain.prefer(set.preference({0, std::nullopt}));
  EXPECT_EQ(chain.active(), 1U) << "the local backend serves before the peer";
  EXPECT_EQ(chain.order(), (Order{1, 0}));
  EXPECT_TRUE(chain.failovers().empty());
}

class ManualScheduler final : public backend::Scheduler {
public:
  TimerId after(std::chrono::milliseconds delay, std::function<void()> fn) override {
    timers_[next_] = {now_ + delay, std::move(fn)};
    return next_++;
  }
  void cancel(TimerId id) override { timers_.erase(id); }
  void post(std::function<void()> fn) override { after(0ms, std::move(fn)); }

  void advance(std::chrono::milliseconds by) {
    const std::chrono::milliseconds end = now_ + by;
    for (;;) {
      auto due = timers_.end();
      for (auto it = timers_.begin(); it != timers_.end(); ++it) {
        if (it->second.first <= end &&
            (due == timers_.end() || it->second.first < due->second.first))
          due = it;
      }
      if (due == timers_.end()) break;
      now_ = due->second.first;
      auto fn = std::move(due->second.second);
      timers_.erase(due);
      fn();
    }
    now_ = end;
  }
  std::size_t pending() const { return timers_.size(); }

private:
  std::chrono::milliseconds now_{0};
  TimerId next_ = 1;
  std::map<TimerId, std::pair<std::chrono::milliseconds, std::function<void()>>> timers_;
};

TEST(PeerProberTest, ProbesEveryPeerEachIntervalAndTimesOutTheSilentOnes) {
  ManualScheduler scheduler;
  auto set = std::make_shared<PeerSet>(std::vector<PeerSpec>{{"a", 0}, {"b", 0}}, policy());
  std::vector<int> probes(2, 0);
  std::vector<backend::Done<void>> held; // b never answers
  {
    PeerProber prober(set, scheduler, [&](std::size_t i, backend::Done<void> done) {
      ++probes[i];
      if (i == 0) return done({});
      held.push_back(std::move(done));
    });
    scheduler.advance(0ms);
    EXPECT_EQ(probes, (std::vector<int>{1, 1}));
    EXPECT_EQ(set->snapshot()[0].healthy, true);
    EXPECT_TRUE(set->snapshot()[0].rtt_ms.has_value());
    scheduler.advance(1000ms);
    EXPECT_EQ(probes, (std::vector<int>{2, 2})) << "b's timed-out probe no longer blocks it";
    scheduler.advance(1000ms);
    const PeerStatus b = set->snapshot()[1];
    EXPECT_EQ(b.healthy, false);
    EXPECT_EQ(b.last_error, "the health check timed out");
    // A late answer of a timed-out probe counts for nothing.
    held.front()({});
    EXPECT_EQ(set->snapshot()[1].healthy, false);
  }
  // Destroyed, the prober starts no more rounds.
  scheduler.advance(5000ms);
  EXPECT_EQ(probes, (std::vector<int>{3, 3}));
}

} // namespace
} // namespace exoflow::proxy::failover
