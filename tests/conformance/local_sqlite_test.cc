// What only local.sqlite promises, beyond the conformance suites: where its files live, how it
// cleans up after a crash, and that Queue objects of one store share long-poll wake-ups.

#include <fstream>
#include <regex>
#include <thread>

#include <gtest/gtest.h>

#include "backend/local/local_backends.h"
#include "backend/thread_scheduler.h"
#include "conformance/conformance.h"

namespace exoflow::backend::local {
namespace {

using namespace std::chrono_literals;
using conformance::await;
using conformance::describeError;
using Messages = std::vector<ReceivedMessage>;

class LocalSqliteTest : public testing::Test {
protected:
  BackendContext context(const std::string& binding = "orders") {
    return BackendContext{binding, scratch_.path(), &scheduler_};
  }
  static BackendSpec spec(std::map<std::string, std::string> params = {}) {
    return BackendSpec{"local.sqlite", std::move(params)};
  }
  std::unique_ptr<Queue> queue(const std::string& name, QueueOptions options = {}) {
    Result<std::unique_ptr<Queue>> q = openQueue(spec(), QueueConfig{name, options}, context());
    EXPECT_TRUE(q) << describeError(q.error());
    return q ? std::move(*q) : nullptr;
  }
  std::unique_ptr<ObjectStore> objects() {
    Result<std::unique_ptr<ObjectStore>> store =
        openObjectStore(spec(), ObjectStoreConfig{"assets", false}, context("assets"));
    EXPECT_TRUE(store) << describeError(store.error());
    return store ? std::move(*store) : nullptr;
  }
  static Result<ObjectInfo> put(ObjectStore& store, const std::string& key,
                                const std::string& body) {
    Result<std::unique_ptr<ObjectUpload>> upload =
        await<std::unique_ptr<ObjectUpload>>([&](auto done) {
          store.put(PutRequest{key, "text/plain", {}, false, {}}, done);
        });
    if (!upload) return tl::unexpected(upload.error());
    Result<void> written = await<void>([&](auto done) { (*upload)->write(body, done); });
    if (!written) return tl::unexpected(written.error());
    return await<ObjectInfo>([&](auto done) { (*upload)->finish(done); });
  }
  std::vector<std::string> blobFiles() const {
    std::vector<std::string> names;
    for (const auto& entry :
         std::filesystem::directory_iterator(scratch_.path() / "assets" / "blobs")) {
      names.push_back(entry.path().filename().string());
    }
    return names;
  }

  ThreadScheduler scheduler_;
  conformance::ScratchDir scratch_;
};

TEST_F(LocalSqliteTest, StoresLiveUnderDataDirSlashBindingByDefault) {
  Result<std::unique_ptr<KvStore>> kv = openKvStore(spec(), KvStoreConfig{"t"}, context("carts"));
  ASSERT_TRUE(kv) << describeError(kv.error());
  EXPECT_TRUE(std::filesystem::exists(scratch_.path() / "carts" / "kv.sqlite"));
  EXPECT_EQ((*kv)->describe(), "local.sqlite");
}

TEST_F(LocalSqliteTest, APathParamIsRelativeToDataDirOrAbsolute) {
  ASSERT_TRUE(openKvStore(spec({{"path", "stores/one"}}), KvStoreConfig{"t"}, context()));
  EXPECT_TRUE(std::filesystem::exists(scratch_.path() / "stores" / "one" / "kv.sqlite"));
  const std::filesystem::path absolute = scratch_.path() / "elsewhere";
  ASSERT_TRUE(openKvStore(spec({{"path", absolute.string()}}), KvStoreConfig{"t"}, context()));
  EXPECT_TRUE(std::filesystem::exists(absolute / "kv.sqlite"));
}

TEST_F(LocalSqliteTest, AnUnknownParamIsRefusedByName) {
  Result<std::unique_ptr<KvStore>> kv =
      openKvStore(spec({{"paht", "x"}}), KvStoreConfig{"t"}, context());
  ASSERT_FALSE(kv);
  EXPECT_EQ(kv.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(kv.error().message, "local.sqlite: unknown parameter \"paht\"; known parameters: path");
}

TEST_F(LocalSqliteTest, ABindingThatIsNotAPlainNameNeedsAPath) {
  for (const char* binding : {"..", "a/b", ""}) {
    Result<std::unique_ptr<KvStore>> kv = openKvStore(spec(), KvStoreConfig{"t"}, context(binding));
    ASSERT_FALSE(kv) << binding;
    EXPECT_EQ(kv.error().code, ErrorCode::kInvalidArgument);
  }
}

TEST_F(LocalSqliteTest, DeadLetterSettingsAreChecked) {
  QueueOptions zero;
  zero.dead_letter_after = 0;
  EXPECT_FALSE(openQueue(spec(), QueueConfig{"orders", zero}, context()));
  QueueOptions itself;
  itself.dead_letter_after = 3;
  itself.dead_letter_queue = "orders";
  EXPECT_FALSE(openQueue(spec(), QueueConfig{"orders", itself}, context()));
}

TEST_F(LocalSqliteTest, ObjectBodiesAreNamedByIdNeverByKey) {
  auto store = objects();
  ASSERT_TRUE(store);
  for (const char* key : {"../escape", "/etc/passwd", "a//b", ".."}) {
    ASSERT_TRUE(put(*store, key, key)) << key;
  }
  const std::regex id_name("[0-9a-f]{32}\\.blob");
  std::vector<std::string> names = blobFiles();
  EXPECT_EQ(names.size(), 4U);
  for (const std::string& name : names)
    EXPECT_TRUE(std::regex_match(name, id_name)) << name;
  EXPECT_FALSE(std::filesystem::exists(scratch_.path() / "assets" / "escape"));
  EXPECT_FALSE(std::filesystem::exists(scratch_.path() / "escape"));
}

TEST_F(LocalSqliteTest, LeftoversOfACrashAreRemovedWhenTheStoreOpens) {
  {
    auto store = objects();
    ASSERT_TRUE(store);
    ASSERT_TRUE(put(*store, "kept", "still here"));
  }
  const std::filesystem::path blobs = scratch_.path() / "assets" / "blobs";
  // An upload cut short, and a body renamed into place whose commit never happened.
  std::ofstream(blobs / "0123456789abcdef0123456789abcdef.tmp") << "partial";
  std::ofstream(blobs / "fedcba9876543210fedcba9876543210.blob") << "orphan";
  ASSERT_EQ(blobFiles().size(), 3U);

  auto store = objects();
  ASSERT_TRUE(store);
  EXPECT_EQ(blobFiles().size(), 1U);
  Result<ObjectInfo> info =
      await<ObjectInfo>([&](auto done) { store->head("kept", std::move(done)); });
  ASSERT_TRUE(info) << describeError(info.error());
  EXPECT_EQ(info->size, 10U);
}

// Queue::removeBatch()'s default (one remove() after another), which backends without a batch
// call of their own inherit, run on a real backend: the qualified call skips local.sqlite's
// one-transaction override.
TEST_F(LocalSqliteTest, TheDefaultRemoveBatchRemovesEachInTurn) {
  auto orders = queue("orders");
  ASSERT_TRUE(orders);
  Result<std::vector<std::string>> ids = await<std::vector<std::string>>([&](auto done) {
    orders->send({OutgoingMessage{"a", {}, {}}, OutgoingMessage{"b", {}, {}}}, std::move(done));
  });
  ASSERT_TRUE(ids);
  Result<Messages> got = await<Messages>([&](auto done) {
    orders->receive(ReceiveRequest{10, 0s, {}}, std::move(done));
  });
  ASSERT_TRUE(got);
  ASSERT_EQ(got->size(), 2U);
  using Results = std::vector<Result<void>>;
  Result<Results> results = await<Results>([&](auto done) {
    orders->Queue::removeBatch({(*got)[0].receipt, "not a receipt!", (*got)[1].receipt},
                               std::move(done));
  });
  ASSERT_TRUE(results) << describeError(results.error());
  ASSERT_EQ(results->size(), 3U);
  EXPECT_TRUE((*results)[0]);
  ASSERT_FALSE((*results)[1]);
  EXPECT_EQ((*results)[1].error().code, ErrorCode::kNotFound);
  EXPECT_TRUE((*results)[2]);
  Result<QueueStats> after = await<QueueStats>([&](auto done) { orders->stats(std::move(done)); });
  ASSERT_TRUE(after);
  EXPECT_EQ(after->approximate_in_flight, 0);
}

TEST_F(LocalSqliteTest, ASendWakesALongPollOnAnotherQueueObjectOfTheStore) {
  auto receiver = queue("orders");
  auto sender = queue("orders");
  ASSERT_TRUE(receiver && sender);
  std::thread late([&] {
    std::this_thread::sleep_for(200ms);
    Result<std::vector<std::string>> ids = await<std::vector<std::string>>([&](auto done) {
      sender->send({OutgoingMessage{"hi", {}, {}}}, std::move(done));
    });
    EXPECT_TRUE(ids);
  });
  const auto start = std::chrono::steady_clock::now();
  Result<Messages> got = await<Messages>([&](auto done) {
    receiver->receive(ReceiveRequest{1, 10s, {}}, std::move(done));
  });
  late.join();
  ASSERT_TRUE(got);
  ASSERT_EQ(got->size(), 1U);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

TEST_F(LocalSqliteTest, DeadLetteringWakesALongPollOnTheDeadLetterQueue) {
  QueueOptions options;
  options.dead_letter_after = 1;
  auto source = queue("orders", options);
  auto dlq = queue("orders-dlq");
  ASSERT_TRUE(source && dlq);
  ASSERT_TRUE(await<std::vector<std::string>>([&](auto done) {
    source->send({OutgoingMessage{"poison", {}, {}}}, std::move(done));
  }));
  auto receive = [&](Queue& q, ReceiveRequest r) {
    return await<Messages>([&](auto done) { q.receive(r, std::move(done)); });
  };
  ASSERT_EQ(receive(*source, ReceiveRequest{1, 0s, 0s})->size(), 1U);
  std::thread mover([&] {
    std::this_thread::sleep_for(200ms);
    EXPECT_TRUE(receive(*source, ReceiveRequest{1, 0s, 0s})->empty()); // moves it
  });
  const auto start = std::chrono::steady_clock::now();
  Result<Messages> dead = receive(*dlq, ReceiveRequest{1, 10s, {}});
  mover.join();
  ASSERT_TRUE(dead);
  ASSERT_EQ(dead->size(), 1U);
  EXPECT_EQ((*dead)[0].body, "poison");
  EXPECT_EQ((*dead)[0].receive_count, 2) << "the receive count carries over, as in SQS";
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

} // namespace
} // namespace exoflow::backend::local
