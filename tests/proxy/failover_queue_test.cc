// The failover composites over in-process local.sqlite backends. Where a fault cannot be made
// for real in-process, a member is wrapped so that it answers Unavailable on demand; the
// failover tests with real emulators are in failover_test.cc.
#include <atomic>
#include <future>
#include <mutex>

#include <gtest/gtest.h>

#include "backend/local/local_backends.h"
#include "backend/thread_scheduler.h"
#include "proxy/failover/failover_queue.h"
#include "proxy/failover/failover_stores.h"
#include "proxy/proxy_process.h"

namespace exoflow::proxy::failover {
namespace {

using namespace std::chrono_literals;
using backend::OutgoingMessage;
using backend::ReceivedMessage;

/// Runs an asynchronous call and waits for its result.
template <typename T, typename F> Result<T> await(F&& call) {
  auto promise = std::make_shared<std::promise<Result<T>>>();
  auto future = promise->get_future();
  call([promise](Result<T> r) { promise->set_value(std::move(r)); });
  return future.get();
}

/// A real queue that answers Unavailable while `down`, and records the waits it was given.
class FlakyQueue final : public backend::Queue {
public:
  explicit FlakyQueue(backend::Queue& inner) : inner_(inner) {}
  std::atomic<bool> down{false};
  std::atomic<int> waited_seconds{0};

  std::string describe() const override { return inner_.describe(); }
  backend::QueueFeatures features() const override { return inner_.features(); }
  void send(std::vector<OutgoingMessage> batch,
            backend::Done<std::vector<std::string>> done) override {
    if (down) return done(outage());
    inner_.send(std::move(batch), std::move(done));
  }
  void receive(backend::ReceiveRequest request,
               backend::Done<std::vector<ReceivedMessage>> done) override {
    if (down) return done(outage());
    waited_seconds += static_cast<int>(request.wait.count());
    inner_.receive(request, std::move(done));
  }
  void remove(std::string receipt, backend::Done<void> done) override {
    if (down) return done(outage());
    inner_.remove(std::move(receipt), std::move(done));
  }
  void changeVisibility(std::string receipt, std::chrono::seconds visibility,
                        backend::Done<void> done) override {
    if (down) return done(outage());
    inner_.changeVisibility(std::move(receipt), visibility, std::move(done));
  }
  void stats(backend::Done<backend::QueueStats> done) override {
    if (down) return done(outage());
    inner_.stats(std::move(done));
  }

private:
  static tl::unexpected<Error> outage() { return fail(ErrorCode::kUnavailable, "unreachable"); }
  backend::Queue& inner_;
};

class FailoverQueueTest : public ::testing::Test {
protected:
  void SetUp() override {
    for (const char* name : {"a", "b"}) {
      backend::BackendSpec spec{"local.sqlite", {{"path", (dir_.path() / name).string()}}};
      auto q = backend::local::openQueue(spec, {"orders", {}},
                                         {"orders", dir_.path(), &scheduler_, nullptr});
      ASSERT_TRUE(q) << q.error().message;
      stores_.push_back(std::move(*q));
    }
    a_ = std::make_unique<FlakyQueue>(*stores_[0]);
    b_ = std::make_unique<FlakyQueue>(*stores_[1]);
    health_ = std::make_shared<ChainHealth>(2, HealthPolicy{});
    auto dedup = backend::DedupWindow::open(dir_.path() / "failover-dedup.sqlite");
    ASSERT_TRUE(dedup);
    queue_ = std::make_unique<FailoverQueue>(
        "orders", std::vector<backend::Queue*>{a_.get(), b_.get()}, health_, *dedup);
  }

  std::vector<std::string> send(backend::Queue& q, std::vector<std::string> bodies,
                                std::optional<std::string> dedup_id = std::nullopt) {
    std::vector<OutgoingMessage> batch;
    for (std::string& body : bodies)
      batch.push_back({std::move(body), {}, dedup_id});
    auto ids = await<std::vector<std::string>>(
        [&](auto done) { q.send(std::move(batch), std::move(done)); });
    EXPECT_TRUE(ids) << ids.error().message;
    return ids.value_or(std::vector<std::string>{});
  }

  std::vector<ReceivedMessage> receive(backend::Queue& q, int max, int wait = 0) {
    auto got = await<std::vector<ReceivedMessage>>([&](auto done) {
      q.receive({max, std::chrono::seconds(wait), std::nullopt}, std::move(done));
    });
    EXPECT_TRUE(got) << got.error().message;
    return got.value_or(std::vector<ReceivedMessage>{});
  }

  std::int64_t visible(backend::Queue& q) {
    auto stats = await<backend::QueueStats>([&](auto done) { q.stats(std::move(done)); });
    EXPECT_TRUE(stats);
    return stats ? stats->approximate_messages + stats->approximate_in_flight : -1;
  }

  void markDown(std::size_t index) {
    health_->checkFailed(index, "down");
    health_->checkFailed(index, "down");
  }

  testing::TempDir dir_;
  backend::ThreadScheduler scheduler_;
  std::vector<std::unique_ptr<backend::Queue>> stores_;
  std::unique_ptr<FlakyQueue> a_, b_;
  std::shared_ptr<ChainHealth> health_;
  std::unique_ptr<FailoverQueue> queue_;
};

TEST_F(FailoverQueueTest, SendsGoToThePrimaryWhileItIsHealthy) {
  send(*queue_, {"one", "two"});
  EXPECT_EQ(visible(*stores_[0]), 2);
  EXPECT_EQ(visible(*stores_[1]), 0);
  EXPECT_EQ(queue_->describe(), "local.sqlite");
}

TEST_F(FailoverQueueTest, ASendTheFirstBackendRefusesGoesToTheNextWithinTheSameCall) {
  a_->down = true;
  EXPECT_EQ(send(*queue_, {"x"}).size(), 1U);
  EXPECT_EQ(visible(*stores_[1]), 1);
  send(*queue_, {"y"});
  send(*queue_, {"z"});
  EXPECT_FALSE(health_->healthy(0)) << "three outages in a row eject the primary";
  EXPECT_EQ(health_->active(), 1U);
  EXPECT_EQ(health_->failoverCount(), 1U);
  EXPECT_EQ(visible(*stores_[1]), 3);
}

TEST_F(FailoverQueueTest, AChainWithNothingReachableAnswersUnavailable) {
  a_->down = true;
  b_->down = true;
  auto ids = await<std::vector<std::string>>([&](auto done) {
    queue_->send({{"x", {}, std::nullopt}}, std::move(done));
  });
  ASSERT_FALSE(ids);
  EXPECT_EQ(ids.error().code, ErrorCode::kUnavailable);
  auto got = await<std::vector<ReceivedMessage>>([&](auto done) {
    queue_->receive({1, 0s, std::nullopt}, std::move(done));
  });
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, ErrorCode::kUnavailable);
}

TEST_F(FailoverQueueTest, ReceivesDrainEveryBackendAndReceiptsRouteBackToTheirIssuer) {
  send(*stores_[0], {"on-a"});
  send(*stores_[1], {"on-b"});
  const std::vector<ReceivedMessage> got = receive(*queue_, 10);
  ASSERT_EQ(got.size(), 2U);
  EXPECT_EQ(got[0].body, "on-a") << "the primary is polled first";
  EXPECT_EQ(got[1].body, "on-b");
  for (const ReceivedMessage& m : got) {
    auto removed = await<void>([&](auto done) { queue_->remove(m.receipt, std::move(done)); });
    EXPECT_TRUE(removed) << removed.error().message;
  }
  EXPECT_EQ(visible(*stores_[0]), 0);
  EXPECT_EQ(visible(*stores_[1]), 0);
}

TEST_F(FailoverQueueTest, ABatchDeleteAndAVisibilityChangeReachEachIssuer) {
  send(*stores_[0], {"on-a"});
  send(*stores_[1], {"on-b"});
  const std::vector<ReceivedMessage> got = receive(*queue_, 10);
  ASSERT_EQ(got.size(), 2U);
  auto changed = await<void>(
      [&](auto done) { queue_->changeVisibility(got[1].receipt, 0s, std::move(done)); });
  EXPECT_TRUE(changed);
  const std::vector<ReceivedMessage> again = receive(*stores_[1], 1);
  ASSERT_EQ(again.size(), 1U) << "visible again on the backend that issued it";
  auto removed = await<std::vector<Result<void>>>([&](auto done) {
    queue_->removeBatch({got[0].receipt, "Znot-issued", again[0].receipt}, std::move(done));
  });
  ASSERT_TRUE(removed);
  ASSERT_EQ(removed->size(), 3U);
  EXPECT_TRUE((*removed)[0]);
  ASSERT_FALSE((*removed)[1]);
  EXPECT_EQ((*removed)[1].error().code, ErrorCode::kNotFound);
  EXPECT_EQ(visible(*stores_[0]), 0);
}

TEST_F(FailoverQueueTest, AReceiptThisQueueNeverIssuedIsNotFound) {
  for (const char* receipt : {"", "A", "Zabc", "!abc"}) {
    auto removed = await<void>([&](auto done) { queue_->remove(receipt, std::move(done)); });
    ASSERT_FALSE(removed) << receipt;
    EXPECT_EQ(removed.error().code, ErrorCode::kNotFound) << receipt;
  }
}

TEST_F(FailoverQueueTest, AnUnreachableBackendDoesNotHideTheOthersMessages) {
  send(*stores_[1], {"on-b"});
  a_->down = true;
  const std::vector<ReceivedMessage> got = receive(*queue_, 10);
  ASSERT_EQ(got.size(), 1U);
  EXPECT_EQ(got[0].body, "on-b");
}

TEST_F(FailoverQueueTest, ADedupIdHoldsAcrossAFailover) {
  const std::vector<std::string> first = send(*queue_, {"x"}, "order-17");
  markDown(0);
  const std::vector<std::string> second = send(*queue_, {"x"}, "order-17");
  EXPECT_EQ(first, second);
  EXPECT_EQ(visible(*stores_[0]), 1);
  EXPECT_EQ(visible(*stores_[1]), 0) << "not enqueued again on the secondary";
}

TEST_F(FailoverQueueTest, FailbackSendsToThePrimaryAndStillDrainsTheSecondary) {
  markDown(0);
  send(*queue_, {"during"});
  EXPECT_EQ(visible(*stores_[1]), 1);
  health_->checkPassed(0);
  EXPECT_EQ(health_->active(), 0U);
  send(*queue_, {"after"});
  EXPECT_EQ(visible(*stores_[0]), 1);
  std::vector<std::string> bodies;
  for (const ReceivedMessage& m : receive(*queue_, 10))
    bodies.push_back(m.body);
  EXPECT_EQ(bodies, (std::vector<std::string>{"after", "during"}));
  EXPECT_EQ(health_->failoverCount(), 2U);
}

TEST_F(FailoverQueueTest, ALongPollWaitsOnceInAll) {
  const std::vector<ReceivedMessage> got = receive(*queue_, 1, 1);
  EXPECT_TRUE(got.empty());
  EXPECT_EQ(a_->waited_seconds + b_->waited_seconds, 1);
  EXPECT_EQ(a_->waited_seconds, 1) << "the wait is spent on the serving backend";
}

TEST_F(FailoverQueueTest, FeaturesAreWhatEveryMemberOffers) {
  EXPECT_EQ(queue_->features(), stores_[0]->features());
}

class FailoverStoresTest : public ::testing::Test {
protected:
  void SetUp() override {
    for (const char* name : {"a", "b"}) {
      backend::BackendSpec spec{"local.sqlite", {{"path", (dir_.path() / name).string()}}};
      backend::BackendContext context{"t", dir_.path(), &scheduler_, nullptr};
      auto kv = backend::local::openKvStore(spec, {"sessions"}, context);
      ASSERT_TRUE(kv);
      kv_members_.push_back(std::move(*kv));
      auto objects = backend::local::openObjectStore(spec, {"assets", false}, context);
      ASSERT_TRUE(objects);
      object_members_.push_back(std::move(*objects));
    }
    kv_ = std::make_unique<FailoverKvStore>(
        std::vector<backend::KvStore*>{kv_members_[0].get(), kv_members_[1].get()}, kv_health_);
    objects_ = std::make_unique<FailoverObjectStore>(
        std::vector<backend::ObjectStore*>{object_members_[0].get(), object_members_[1].get()},
        object_health_);
  }

  Result<std::string> put(backend::KvStore& kv, const std::string& key, const std::string& v) {
    return await<std::string>([&](auto done) { kv.put({key, v, std::nullopt, false}, done); });
  }
  Result<backend::KvItem> get(backend::KvStore& kv, const std::string& key) {
    return await<backend::KvItem>([&](auto done) { kv.get(key, done); });
  }

  Result<backend::ObjectInfo> putObject(backend::ObjectStore& store, const std::string& key,
                                        const std::string& body) {
    auto upload = await<std::unique_ptr<backend::ObjectUpload>>([&](auto done) {
      store.put({key, "text/plain", {}, false, body.size()}, done);
    });
    if (!upload) return tl::unexpected(upload.error());
    auto wrote = await<void>([&](auto done) { (*upload)->write(body, done); });
    if (!wrote) return tl::unexpected(wrote.error());
    return await<backend::ObjectInfo>([&](auto done) { (*upload)->finish(done); });
  }
  Result<backend::ObjectInfo> head(backend::ObjectStore& store, const std::string& key) {
    return await<backend::ObjectInfo>([&](auto done) { store.head(key, done); });
  }

  static void markDown(ChainHealth& health, std::size_t index) {
    health.checkFailed(index, "down");
    health.checkFailed(index, "down");
  }

  testing::TempDir dir_;
  backend::ThreadScheduler scheduler_;
  std::vector<std::unique_ptr<backend::KvStore>> kv_members_;
  std::vector<std::unique_ptr<backend::ObjectStore>> object_members_;
  std::shared_ptr<ChainHealth> kv_health_ = std::make_shared<ChainHealth>(2, HealthPolicy{});
  std::shared_ptr<ChainHealth> object_health_ = std::make_shared<ChainHealth>(2, HealthPolicy{});
  std::unique_ptr<FailoverKvStore> kv_;
  std::unique_ptr<FailoverObjectStore> objects_;
};

TEST_F(FailoverStoresTest, KvWritesGoToTheFirstHealthyAndReadsFallBackAfterAFailover) {
  ASSERT_TRUE(put(*kv_, "before", R"("on a")"));
  markDown(*kv_health_, 0);
  ASSERT_TRUE(put(*kv_, "during", R"("on b")"));
  EXPECT_EQ(get(*kv_members_[1], "during")->value, R"("on b")");
  EXPECT_FALSE(get(*kv_members_[0], "during"));
  kv_health_->checkPassed(0);
  // The primary serves again but never had "during": its NotFound sends the read on.
  auto during = get(*kv_, "during");
  ASSERT_TRUE(during) << during.error().message;
  EXPECT_EQ(during->value, R"("on b")");
  EXPECT_EQ(get(*kv_, "before")->value, R"("on a")");
  auto missing = get(*kv_, "never");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

TEST_F(FailoverStoresTest, AKvDeleteReachesEveryBackendSoNoFallbackReadFindsIt) {
  ASSERT_TRUE(put(*kv_members_[0], "k", "1"));
  ASSERT_TRUE(put(*kv_members_[1], "k", "2"));
  auto removed = await<void>([&](auto done) { kv_->remove("k", std::nullopt, done); });
  ASSERT_TRUE(removed);
  EXPECT_FALSE(get(*kv_, "k"));
  EXPECT_FALSE(get(*kv_members_[1], "k"));
}

TEST_F(FailoverStoresTest, AConditionalKvDeleteIsDecidedByTheFirstBackend) {
  ASSERT_TRUE(put(*kv_members_[0], "k", "1"));
  ASSERT_TRUE(put(*kv_members_[1], "k", "2"));
  auto refused = await<void>([&](auto done) { kv_->remove("k", "not-the-version", done); });
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kPreconditionFailed);
  EXPECT_TRUE(get(*kv_members_[1], "k")) << "nothing deleted after a failed condition";
}

TEST_F(FailoverStoresTest, ObjectWritesFailOverAndReadsFallBack) {
  markDown(*object_health_, 0);
  ASSERT_TRUE(putObject(*objects_, "logo.png", "bytes"));
  EXPECT_TRUE(head(*object_members_[1], "logo.png"));
  EXPECT_FALSE(head(*object_members_[0], "logo.png"));
  object_health_->checkPassed(0);
  auto info = head(*objects_, "logo.png");
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->size, 5U);
  auto download = await<std::unique_ptr<backend::ObjectDownload>>(
      [&](auto done) { objects_->get("logo.png", std::nullopt, done); });
  ASSERT_TRUE(download);
  auto chunk = await<std::string>([&](auto done) { (*download)->read(100, done); });
  EXPECT_EQ(chunk.value_or(""), "bytes");
  auto removed = await<void>([&](auto done) { objects_->remove("logo.png", done); });
  ASSERT_TRUE(removed);
  EXPECT_FALSE(head(*object_members_[1], "logo.png"));
}

} // namespace
} // namespace exoflow::proxy::failover
