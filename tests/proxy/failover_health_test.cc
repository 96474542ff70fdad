// The health state machine of a chain (passive outlier detection, active checks, failovers)
// on a fake clock, and the health checker on a hand-driven scheduler.
#include <map>
#include <vector>

#include <gtest/gtest.h>

#include "proxy/failover/health.h"

namespace exoflow::proxy::failover {
namespace {

using namespace std::chrono_literals;
using Time = std::chrono::steady_clock::time_point;

struct FakeClock {
  Time now{std::chrono::hours(1)};
  ChainHealth::Clock fn() {
    return [this] { return now; };
  }
};

HealthPolicy policy() {
  HealthPolicy p;
  p.failures_to_eject = 3;
  p.base_ejection = 2s;
  p.max_ejection = 30s;
  p.max_ejected_share = 0.5;
  p.checks_to_fail = 2;
  p.checks_to_pass = 1;
  return p;
}

void failTimes(ChainHealth& h, std::size_t index, int n) {
  for (int i = 0; i < n; ++i)
    h.failed(index, "connection refused");
}

TEST(ChainHealthTest, ConsecutiveOutagesEjectForAGrowingTime) {
  FakeClock clock;
  ChainHealth h(2, policy(), clock.fn());
  EXPECT_EQ(h.active(), 0U);
  failTimes(h, 0, 2);
  EXPECT_TRUE(h.healthy(0)) << "two failures are below the threshold";
  h.failed(0, "timed out");
  EXPECT_FALSE(h.healthy(0));
  EXPECT_EQ(h.active(), 1U);
  EXPECT_EQ(h.order(), std::vector<std::size_t>{1});
  clock.now += 1999ms;
  EXPECT_FALSE(h.healthy(0));
  clock.now += 1ms;
  EXPECT_TRUE(h.healthy(0)) << "the first ejection lasts base_ejection";
  EXPECT_EQ(h.active(), 0U);
  failTimes(h, 0, 3);
  clock.now += 3999ms;
  EXPECT_FALSE(h.healthy(0)) << "the second ejection lasts twice as long";
  clock.now += 1ms;
  EXPECT_TRUE(h.healthy(0));
  EXPECT_EQ(h.snapshot()[0].ejections, 2);
}

TEST(ChainHealthTest, TheBackOffIsCappedAndStartsAgainAfterAGoodSpell) {
  FakeClock clock;
  HealthPolicy p = policy();
  p.max_ejection = 5s;
  ChainHealth h(2, p, clock.fn());
  for (auto ejection : {2000ms, 4000ms, 5000ms, 5000ms}) {
    failTimes(h, 0, 3);
    clock.now += ejection - 1ms;
    EXPECT_FALSE(h.healthy(0)) << ejection.count();
    clock.now += 1ms;
    EXPECT_TRUE(h.healthy(0)) << ejection.count();
  }
  clock.now += 5s; // in service for max_ejection
  failTimes(h, 0, 3);
  clock.now += 2s;
  EXPECT_TRUE(h.healthy(0)) << "back at base_ejection";
}

TEST(ChainHealthTest, OtherAnswersResetTheCount) {
  FakeClock clock;
  ChainHealth h(2, policy(), clock.fn());
  failTimes(h, 0, 2);
  h.succeeded(0);
  failTimes(h, 0, 2);
  EXPECT_TRUE(h.healthy(0));
  EXPECT_TRUE(isOutage({ErrorCode::kUnavailable, "timed out"}));
  EXPECT_FALSE(isOutage({ErrorCode::kNotFound, "no such key"}));
  EXPECT_FALSE(isOutage({ErrorCode::kThrottled, "slow down"}));
}

TEST(ChainHealthTest, PassiveEvidenceNeverEjectsTheWholeChain) {
  FakeClock clock;
  ChainHealth single(1, policy(), clock.fn());
  failTimes(single, 0, 10);
  EXPECT_TRUE(single.healthy(0)) << "a chain of one is never ejected passively";

  ChainHealth two(2, policy(), clock.fn());
  failTimes(two, 0, 3);
  failTimes(two, 1, 10);
  EXPECT_FALSE(two.healthy(0));
  EXPECT_TRUE(two.healthy(1)) << "at most half the chain is ejected";

  ChainHealth four(4, policy(), clock.fn());
  for (std::size_t i = 0; i < 4; ++i)
    failTimes(four, i, 3);
  int healthy = 0;
  for (std::size_t i = 0; i < 4; ++i)
    healthy += four.healthy(i) ? 1 : 0;
  EXPECT_EQ(healthy, 2);
  EXPECT_EQ(four.active(), 2U);
}

TEST(ChainHealthTest, FailedChecksMarkDownEvenTheWholeChainAndPassingOnesRecover) {
  FakeClock clock;
  ChainHealth h(2, policy(), clock.fn());
  h.checkFailed(0, "timed out");
  EXPECT_TRUE(h.healthy(0)) << "one failed check is not enough";
  h.checkFailed(0, "timed out");
  EXPECT_FALSE(h.healthy(0));
  h.checkFailed(1, "refused");
  h.checkFailed(1, "refused");
  EXPECT_FALSE(h.active().has_value());
  EXPECT_EQ(h.order(), (std::vector<std::size_t>{0, 1})) << "nothing healthy: try them all";
  h.checkPassed(1);
  EXPECT_EQ(h.active(), 1U);
  h.checkPassed(0);
  EXPECT_EQ(h.active(), 0U);
  const std::vector<BackendHealth> s = h.snapshot();
  EXPECT_TRUE(s[0].healthy);
  EXPECT_FALSE(s[0].check_down);
  EXPECT_EQ(s[1].last_error, "refused");
}

TEST(ChainHealthTest, EveryChangeOfTheServingBackendIsAFailover) {
  FakeClock clock;
  ChainHealth h(2, policy(), clock.fn());
  EXPECT_EQ(h.failoverCount(), 0U);
  h.checkFailed(0, "timed out");
  h.checkFailed(0, "timed out");
  h.checkPassed(0);
  failTimes(h, 0, 3);
  clock.now += 2s; // the ejection ends: noticed on the next look
  ASSERT_EQ(h.failoverCount(), 4U);
  const std::vector<FailoverEvent> events = h.failovers();
  ASSERT_EQ(events.size(), 4U);
  EXPECT_EQ(events[0].from, 0U);
  EXPECT_EQ(events[0].to, 1U);
  EXPECT_EQ(events[0].reason, "health check failed: timed out");
  EXPECT_EQ(events[1].from, 1U);
  EXPECT_EQ(events[1].to, 0U);
  EXPECT_EQ(events[1].reason, "recovered");
  EXPECT_EQ(events[2].reason, "connection refused");
  EXPECT_EQ(events[3].reason, "ejection ended");
}

TEST(ChainHealthTest, AnAnswerFromAnEjectedBackendEndsItsEjection) {
  FakeClock clock;
  ChainHealth h(2, policy(), clock.fn());
  failTimes(h, 0, 3);
  EXPECT_FALSE(h.healthy(0));
  h.succeeded(0);
  EXPECT_TRUE(h.healthy(0));
}

/// A scheduler driven by the test: timers run when advance() passes their time.
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

private:
  std::chrono::milliseconds now_{0};
  TimerId next_ = 1;
  std::map<TimerId, std::pair<std::chrono::milliseconds, std::function<void()>>> timers_;
};

TEST(HealthCheckerTest, ChecksEveryBackendOnItsTimerAndCountsASilentOneAsFailed) {
  FakeClock clock;
  ManualScheduler scheduler;
  HealthPolicy p = policy();
  p.check_interval = 1000ms;
  p.check_timeout = 1500ms;
  auto health = std::make_shared<ChainHealth>(2, p, clock.fn());
  std::vector<int> probes(2, 0);
  std::vector<backend::Done<void>> silent;
  bool answer_second = false;
  HealthChecker checker(health, scheduler, [&](std::size_t i, backend::Done<void> done) {
    ++probes[i];
    if (i == 0) {
      done(fail(ErrorCode::kNotFound, "no probe key")); // NotFound: the backend serves
    } else if (answer_second) {
      done({});
    } else {
      silent.push_back(std::move(done));
    }
  });
  scheduler.advance(0ms);
  EXPECT_EQ(probes, (std::vector<int>{1, 1}));
  scheduler.advance(1000ms);
  EXPECT_EQ(probes, (std::vector<int>{2, 1})) << "a probe still running is not started again";
  scheduler.advance(500ms); // the first probe of backend 1 times out
  EXPECT_TRUE(health->healthy(1));
  scheduler.advance(500ms);
  EXPECT_EQ(probes[1], 2);
  scheduler.advance(1500ms);
  EXPECT_FALSE(health->healthy(1)) << "two checks failed";
  EXPECT_TRUE(health->healthy(0));
  EXPECT_EQ(health->snapshot()[1].last_error, "the health check timed out");
  // A late answer of a timed-out probe counts for nothing.
  silent.front()({});
  EXPECT_FALSE(health->healthy(1));
  answer_second = true;
  scheduler.advance(3000ms);
  EXPECT_TRUE(health->healthy(1));
}

TEST(HealthCheckerTest, NothingRunsOnceTheCheckerIsGone) {
  ManualScheduler scheduler;
  auto health = std::make_shared<ChainHealth>(1, policy());
  int probes = 0;
  {
    HealthChecker checker(health, scheduler, [&](std::size_t, backend::Done<void> done) {
      ++probes;
      done({});
    });
    scheduler.advance(0ms);
  }
  scheduler.advance(10s);
  EXPECT_EQ(probes, 1);
}

} // namespace
} // namespace exoflow::proxy::failover
