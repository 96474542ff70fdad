// The replication journal and the replicator over in-process local.sqlite backends. Outages are
// made by wrapping a member so that it answers Unavailable on demand, and a copy is kept in
// flight by holding a member's next put; replication through a real exo-proxy with moto and
// Azurite is in replication_test.cc.
#include <atomic>
#include <future>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "backend/local/local_backends.h"
#include "backend/thread_scheduler.h"
#include "proxy/failover/failover_stores.h"
#include "proxy/failover/replication.h"
#include "proxy/proxy_process.h"

namespace exoflow::proxy::failover {
namespace {

using namespace std::chrono_literals;

template <typename T, typename F> Result<T> await(F&& call) {
  auto promise = std::make_shared<std::promise<Result<T>>>();
  auto future = promise->get_future();
  call([promise](Result<T> r) { promise->set_value(std::move(r)); });
  return future.get();
}

/// Polls `condition` every 20 ms for up to 30 s.
template <typename F> bool eventually(F condition) {
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return condition();
}

tl::unexpected<Error> outage() {
  return fail(ErrorCode::kUnavailable, "unreachable");
}

/// A real kv store that answers Unavailable while `down`, and that can hold back its next put
/// until released (to keep a copy in flight).
class TestKv final : public backend::KvStore {
public:
  explicit TestKv(backend::KvStore& inner) : inner_(inner) {}
  std::atomic<bool> down{false};

  /// The next put waits for release(); the returned future is ready once it arrived.
  std::future<void> holdNextPut() {
    std::lock_guard lock(mutex_);
    hold_next_ = true;
    arrived_ = std::promise<void>();
    return arrived_.get_future();
  }
  void release() {
    std::function<void()> held;
    {
      std::lock_guard lock(mutex_);
      held = std::move(held_);
    }
    if (held) held();
  }

  std::string describe() const override { return inner_.describe(); }
  backend::KvFeatures features() const override { return inner_.features(); }
  void put(backend::KvPutRequest request, backend::Done<std::string> done) override {
    if (down) return done(outage());
    {
      std::lock_guard lock(mutex_);
      if (hold_next_) {
        hold_next_ = false;
        held_ = [this, request = std::move(request), done = std::move(done)]() mutable {
          inner_.put(std::move(request), std::move(done));
        };
        arrived_.set_value();
        return;
      }
    }
    inner_.put(std::move(request), std::move(done));
  }
  void get(std::string key, backend::Done<backend::KvItem> done) override {
    if (down) return done(outage());
    inner_.get(std::move(key), std::move(done));
  }
  void remove(std::string key, std::optional<std::string> if_match,
              backend::Done<void> done) override {
    if (down) return done(outage());
    inner_.remove(std::move(key), std::move(if_match), std::move(done));
  }
  void list(backend::KvListRequest request, backend::Done<backend::KvListResult> done) override {
    if (down) return done(outage());
    inner_.list(std::move(request), std::move(done));
  }

private:
  backend::KvStore& inner_;
  std::mutex mutex_;
  bool hold_next_ = false;
  std::promise<void> arrived_;
  std::function<void()> held_;
};

/// A real object store that answers Unavailable while `down`.
class TestObjects final : public backend::ObjectStore {
public:
  explicit TestObjects(backend::ObjectStore& inner) : inner_(inner) {}
  std::atomic<bool> down{false};

  std::string describe() const override { return inner_.describe(); }
  backend::ObjectFeatures features() const override { return inner_.features(); }
  void put(backend::PutRequest request,
           backend::Done<std::unique_ptr<backend::ObjectUpload>> done) override {
    if (down) return done(outage());
    inner_.put(std::move(request), std::move(done));
  }
  void get(std::string key, std::optional<backend::ByteRange> range,
           backend::Done<std::unique_ptr<backend::ObjectDownload>> done) override {
    if (down) return done(outage());
    inner_.get(std::move(key), range, std::move(done));
  }
  void head(std::string key, backend::Done<backend::ObjectInfo> done) override {
    if (down) return done(outage());
    inner_.head(std::move(key), std::move(done));
  }
  void remove(std::string key, backend::Done<void> done) override {
    if (down) return done(outage());
    inner_.remove(std::move(key), std::move(done));
  }
  void list(backend::ListRequest request, backend::Done<backend::ListResult> done) override {
    if (down) return done(outage());
    inner_.list(std::move(request), std::move(done));
  }

private:
  backend::ObjectStore& inner_;
};

// ---- the journal ----

TEST(ReplicationJournalTest, AWriteOwesEveryOtherBackendACopyFromItsSource) {
  testing::TempDir dir;
  auto journal = ReplicationJournal::open(dir.path() / "replication.sqlite", 3);
  ASSERT_TRUE(journal) << journal.error().message;
  auto seq = (*journal)->record("k", 1);
  ASSERT_TRUE(seq);
  auto rows = (*journal)->oldest(0b111, 10);
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 2U);
  for (const PendingCopy& row : *rows) {
    EXPECT_EQ(row.key, "k");
    EXPECT_EQ(row.source, 1U);
    EXPECT_NE(row.target, 1U);
    EXPECT_EQ(row.seq, *seq);
  }
  auto status = (*journal)->status();
  ASSERT_TRUE(status);
  EXPECT_EQ(status->pending, 2U);
}

TEST(ReplicationJournalTest, ANewerWriteSupersedesOlderEntriesOfItsKey) {
  testing::TempDir dir;
  auto journal = ReplicationJournal::open(dir.path() / "replication.sqlite", 2);
  ASSERT_TRUE(journal);
  // Written on the secondary during an outage: the primary needs it.
  auto old_seq = (*journal)->record("k", 1);
  ASSERT_TRUE(old_seq);
  // Written again on the primary after the failback: now the secondary needs it, from there.
  auto new_seq = (*journal)->record("k", 0);
  ASSERT_TRUE(new_seq);
  EXPECT_GT(*new_seq, *old_seq);
  auto rows = (*journal)->oldest(0b11, 10);
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 1U);
  EXPECT_EQ((*rows)[0].source, 0U);
  EXPECT_EQ((*rows)[0].target, 1U);
  // A copy that began before the newer write settles nothing.
  ASSERT_TRUE((*journal)->settle("k", 1, *old_seq));
  EXPECT_EQ((*journal)->status()->pending, 1U);
  ASSERT_TRUE((*journal)->settle("k", 1, *new_seq));
  EXPECT_EQ((*journal)->status()->pending, 0U);
  EXPECT_EQ((*journal)->status()->lag_seconds, 0.0);
}

TEST(ReplicationJournalTest, OnlyEntriesBetweenUsableBackendsAreOffered) {
  testing::TempDir dir;
  auto journal = ReplicationJournal::open(dir.path() / "replication.sqlite", 3);
  ASSERT_TRUE(journal);
  ASSERT_TRUE((*journal)->record("a", 0));
  EXPECT_EQ((*journal)->oldest(0b011, 10)->size(), 1U) << "0 to 1 only; 2 is not usable";
  EXPECT_EQ((*journal)->oldest(0b110, 10)->size(), 0U) << "the source 0 is not usable";
  EXPECT_EQ((*journal)->oldest(0b111, 1)->size(), 1U) << "the limit holds";
}

TEST(ReplicationJournalTest, EntriesSurviveAReopenAndNewWritesStayNewer) {
  testing::TempDir dir;
  std::int64_t first = 0;
  {
    auto journal = ReplicationJournal::open(dir.path() / "j" / "replication.sqlite", 2);
    ASSERT_TRUE(journal);
    first = *(*journal)->record("a", 0);
    ASSERT_TRUE((*journal)->record("b", 1));
  }
  auto journal = ReplicationJournal::open(dir.path() / "j" / "replication.sqlite", 2);
  ASSERT_TRUE(journal);
  EXPECT_EQ((*journal)->status()->pending, 2U);
  auto next = (*journal)->record("c", 0);
  ASSERT_TRUE(next);
  EXPECT_GT(*next, first + 1);
  auto rows = (*journal)->oldest(0b11, 10);
  ASSERT_EQ(rows->size(), 3U);
  EXPECT_EQ((*rows)[0].key, "a") << "oldest first";
  EXPECT_EQ((*rows)[2].key, "c");
}

TEST(ReplicationJournalTest, EntriesOfBackendsNoLongerInTheChainAreDropped) {
  testing::TempDir dir;
  {
    auto journal = ReplicationJournal::open(dir.path() / "replication.sqlite", 3);
    ASSERT_TRUE(journal);
    ASSERT_TRUE((*journal)->record("a", 0));
  }
  auto journal = ReplicationJournal::open(dir.path() / "replication.sqlite", 2);
  ASSERT_TRUE(journal);
  EXPECT_EQ((*journal)->status()->pending, 1U) << "only 0 to 1 is left";
}

// ---- the replicator ----

class ReplicatorTest : public ::testing::Test {
protected:
  void SetUp() override {
    for (const char* name : {"a", "b"}) {
      backend::BackendSpec spec{"local.sqlite", {{"path", (dir_.path() / name).string()}}};
      backend::BackendContext context{"data", dir_.path(), &scheduler_, nullptr};
      auto kv = backend::local::openKvStore(spec, {"data"}, context);
      ASSERT_TRUE(kv) << kv.error().message;
      kv_.push_back(std::move(*kv));
      auto objects = backend::local::openObjectStore(spec, {"data", false}, context);
      ASSERT_TRUE(objects) << objects.error().message;
      objects_.push_back(std::move(*objects));
    }
    for (std::size_t i = 0; i < 2; ++i) {
      test_kv_.push_back(std::make_unique<TestKv>(*kv_[i]));
      test_objects_.push_back(std::make_unique<TestObjects>(*objects_[i]));
    }
  }

  void TearDown() override {
    kv_store_.reset();
    object_store_.reset();
    kv_replicator_.reset();
    object_replicator_.reset();
  }

  void open(bool sync) {
    ReplicatorOptions options;
    options.sync = sync;
    options.pump_interval = 50ms;
    options.min_backoff = 20ms;
    options.max_backoff = 200ms;
    std::vector<backend::KvStore*> kv{test_kv_[0].get(), test_kv_[1].get()};
    std::vector<backend::ObjectStore*> objects{test_objects_[0].get(), test_objects_[1].get()};
    auto kv_journal = ReplicationJournal::open(dir_.path() / "kv.sqlite", 2);
    ASSERT_TRUE(kv_journal);
    kv_replicator_ = std::make_unique<Replicator>("data", std::move(*kv_journal), health_,
                                                  scheduler_, kvCopier(kv), options);
    kv_store_ = std::make_unique<FailoverKvStore>(kv, health_, kv_replicator_.get());
    auto object_journal = ReplicationJournal::open(dir_.path() / "objects.sqlite", 2);
    ASSERT_TRUE(object_journal);
    object_replicator_ = std::make_unique<Replicator>("data", std::move(*object_journal), health_,
                                                      scheduler_, objectCopier(objects), options);
    object_store_ =
        std::make_unique<FailoverObjectStore>(objects, health_, object_replicator_.get());
  }

  Result<std::string> put(backend::KvStore& store, const std::string& key,
                          const std::string& value) {
    return await<std::string>([&](auto done) { store.put({key, value, {}, false}, done); });
  }
  std::optional<std::string> value(backend::KvStore& store, const std::string& key) {
    auto item = await<backend::KvItem>([&](auto done) { store.get(key, done); });
    if (!item) return std::nullopt;
    return item->value;
  }
  void markDown(std::size_t index) {
    health_->checkFailed(index, "down");
    health_->checkFailed(index, "down");
  }
  void markUp(std::size_t index) { health_->checkPassed(index); }
  bool drained(const Replicator& r) { return r.status().pending == 0; }

  testing::TempDir dir_;
  backend::ThreadScheduler scheduler_;
  std::vector<std::unique_ptr<backend::KvStore>> kv_;
  std::vector<std::unique_ptr<backend::ObjectStore>> objects_;
  std::vector<std::unique_ptr<TestKv>> test_kv_;
  std::vector<std::unique_ptr<TestObjects>> test_objects_;
  std::shared_ptr<ChainHealth> health_ = std::make_shared<ChainHealth>(2, HealthPolicy{});
  std::unique_ptr<Replicator> kv_replicator_;
  std::unique_ptr<Replicator> object_replicator_;
  std::unique_ptr<FailoverKvStore> kv_store_;
  std::unique_ptr<FailoverObjectStore> object_store_;
};

TEST_F(ReplicatorTest, AsyncWritesAndDeletesReachTheSecondary) {
  open(false);
  ASSERT_TRUE(put(*kv_store_, "k1", R"({"n":1})"));
  ASSERT_TRUE(put(*kv_store_, "k2", R"({"n":2})"));
  ASSERT_TRUE(eventually([&] { return drained(*kv_replicator_); }));
  EXPECT_EQ(value(*kv_[1], "k2"), R"({"n":2})");
  auto removed = await<void>([&](auto done) { kv_store_->remove("k1", std::nullopt, done); });
  ASSERT_TRUE(removed);
  EXPECT_FALSE(value(*kv_[1], "k1")) << "a delete reaches every healthy backend";
  EXPECT_TRUE(drained(*kv_replicator_)) << "and owes nothing to those it reached";
}

TEST_F(ReplicatorTest, AnObjectIsCopiedWithItsContentTypeAndMetadata) {
  open(false);
  backend::PutRequest request;
  request.key = "photo.jpg";
  request.content_type = "image/jpeg";
  request.metadata = {{"owner", "ada"}};
  auto upload = await<std::unique_ptr<backend::ObjectUpload>>(
      [&](auto done) { object_store_->put(request, done); });
  ASSERT_TRUE(upload);
  const std::string body(3 << 20, 'x'); // more than one copy chunk
  ASSERT_TRUE(await<void>([&](auto done) { (*upload)->write(body, done); }));
  ASSERT_TRUE(await<backend::ObjectInfo>([&](auto done) { (*upload)->finish(done); }));
  upload->reset();
  ASSERT_TRUE(eventually([&] { return drained(*object_replicator_); }));
  auto info = await<backend::ObjectInfo>([&](auto done) { objects_[1]->head("photo.jpg", done); });
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->size, body.size());
  EXPECT_EQ(info->content_type, "image/jpeg");
  EXPECT_EQ(info->metadata, (backend::Metadata{{"owner", "ada"}}));
}

TEST_F(ReplicatorTest, WritesDuringAnOutageWaitInTheJournalAndCatchUpAfterIt) {
  open(false);
  test_kv_[1]->down = true;
  markDown(1);
  for (int i = 0; i < 20; ++i)
    ASSERT_TRUE(put(*kv_store_, "k" + std::to_string(i), std::to_string(i)));
  EXPECT_EQ(kv_replicator_->status().pending, 20U);
  EXPECT_TRUE(eventually([&] { return kv_replicator_->status().lag_seconds > 0; }))
      << "the lag is the age of the oldest entry";
  test_kv_[1]->down = false;
  markUp(1);
  ASSERT_TRUE(eventually([&] { return drained(*kv_replicator_); }));
  for (int i = 0; i < 20; ++i)
    EXPECT_EQ(value(*kv_[1], "k" + std::to_string(i)), std::to_string(i));
  EXPECT_EQ(kv_replicator_->status().lag_seconds, 0.0);
}

TEST_F(ReplicatorTest, TheJournalOfAnEarlierRunIsDrainedOnStart) {
  test_kv_[1]->down = true;
  markDown(1);
  open(false);
  ASSERT_TRUE(put(*kv_store_, "left", "1"));
  TearDown(); // the proxy stops with the entry pending
  test_kv_[1]->down = false;
  markUp(1);
  open(false);
  ASSERT_TRUE(eventually([&] { return drained(*kv_replicator_); }));
  EXPECT_EQ(value(*kv_[1], "left"), "1");
}

TEST_F(ReplicatorTest, AnOlderCopyInFlightNeverOverwritesANewerWriteOfItsKey) {
  open(false);
  // K is written on the secondary while the primary is out: the primary owes a copy.
  test_kv_[0]->down = true;
  markDown(0);
  ASSERT_TRUE(put(*kv_store_, "k", R"("old")"));
  EXPECT_EQ(value(*kv_[1], "k"), R"("old")");
  // The primary returns; the copy of the old value to it is kept in flight.
  std::future<void> copying = test_kv_[0]->holdNextPut();
  test_kv_[0]->down = false;
  markUp(0);
  ASSERT_EQ(copying.wait_for(30s), std::future_status::ready) << "the copy never started";
  // The client writes K again, on the primary, while the old copy is in flight.
  auto newer = std::async(std::launch::async, [&] { return put(*kv_store_, "k", R"("new")"); });
  // The write cannot finish while the copy of its key is in flight, so this wait always ends
  // by timing out; it only gives a write that did not wait the time to land first.
  EXPECT_EQ(newer.wait_for(500ms), std::future_status::timeout)
      << "the write did not wait for the copy of its key";
  test_kv_[0]->release();
  ASSERT_TRUE(newer.get());
  ASSERT_TRUE(eventually([&] { return drained(*kv_replicator_); }));
  EXPECT_EQ(value(*kv_[0], "k"), R"("new")");
  EXPECT_EQ(value(*kv_[1], "k"), R"("new")");
}

TEST_F(ReplicatorTest, ASyncWriteIsOnEveryHealthyBackendWhenAcknowledged) {
  open(true);
  ASSERT_TRUE(put(*kv_store_, "k", "1"));
  EXPECT_EQ(value(*kv_[1], "k"), "1");
  EXPECT_TRUE(drained(*kv_replicator_));
  auto upload = await<std::unique_ptr<backend::ObjectUpload>>([&](auto done) {
    object_store_->put({"o", "text/plain", {}, false, 2}, done);
  });
  ASSERT_TRUE(upload);
  ASSERT_TRUE(await<void>([&](auto done) { (*upload)->write("hi", done); }));
  ASSERT_TRUE(await<backend::ObjectInfo>([&](auto done) { (*upload)->finish(done); }));
  upload->reset();
  auto info = await<backend::ObjectInfo>([&](auto done) { objects_[1]->head("o", done); });
  ASSERT_TRUE(info);
  EXPECT_EQ(info->size, 2U);
  // An unhealthy backend gets a journal entry instead, and catches up later.
  test_kv_[1]->down = true;
  markDown(1);
  ASSERT_TRUE(put(*kv_store_, "k", "2"));
  EXPECT_EQ(kv_replicator_->status().pending, 1U);
  test_kv_[1]->down = false;
  markUp(1);
  ASSERT_TRUE(eventually([&] { return drained(*kv_replicator_); }));
  EXPECT_EQ(value(*kv_[1], "k"), "2");
}

} // namespace
} // namespace exoflow::proxy::failover
