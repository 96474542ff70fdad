// The registry: which types exist per kind, and the errors for those that do not.

#include <gtest/gtest.h>

#include "backend/registry.h"
#include "backend/thread_scheduler.h"
#include "conformance/conformance.h"

namespace exoflow::backend {
namespace {

/// "a, b, c": how the registry lists the types it knows.
std::string known(const std::vector<std::string>& types) {
  std::string out;
  for (const std::string& type : types)
    out += (out.empty() ? "" : ", ") + type;
  return out;
}

class RegistryTest : public testing::Test {
protected:
  void SetUp() override { registerBuiltinBackends(registry_); }

  BackendContext context() { return BackendContext{"orders", scratch_.path(), &scheduler_}; }

  ThreadScheduler scheduler_;
  conformance::ScratchDir scratch_;
  Registry registry_;
};

TEST_F(RegistryTest, LocalSqliteServesEveryKind) {
  EXPECT_EQ(registry_.queueTypes(),
            (std::vector<std::string>{"aws.sqs", "azure.queue", "local.sqlite", "peer"}));
  EXPECT_EQ(registry_.objectStoreTypes(),
            (std::vector<std::string>{"aws.s3", "azure.blob", "local.sqlite", "peer"}));
  EXPECT_EQ(registry_.kvStoreTypes(),
            (std::vector<std::string>{"aws.dynamodb", "azure.table", "local.sqlite", "peer"}));
  const BackendSpec spec{"local.sqlite", {}};
  EXPECT_TRUE(registry_.createQueue(spec, QueueConfig{"orders", {}}, context()));
  EXPECT_TRUE(registry_.createObjectStore(spec, ObjectStoreConfig{"assets", false}, context()));
  EXPECT_TRUE(registry_.createKvStore(spec, KvStoreConfig{"sessions"}, context()));
}

TEST_F(RegistryTest, AnUnknownTypeIsNamedWithTheKnownOnes) {
  Result<std::unique_ptr<Queue>> queue =
      registry_.createQueue(BackendSpec{"no.queue", {}}, QueueConfig{"orders", {}}, context());
  ASSERT_FALSE(queue);
  EXPECT_EQ(queue.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(queue.error().message, "unknown queue backend type \"no.queue\"; known types: " +
                                       known(registry_.queueTypes()));

  Result<std::unique_ptr<ObjectStore>> objects = registry_.createObjectStore(
      BackendSpec{"no.objects", {}}, ObjectStoreConfig{"assets", false}, context());
  ASSERT_FALSE(objects);
  EXPECT_EQ(objects.error().message, "unknown objects backend type \"no.objects\"; known types: " +
                                         known(registry_.objectStoreTypes()));

  Result<std::unique_ptr<KvStore>> kv =
      registry_.createKvStore(BackendSpec{"", {}}, KvStoreConfig{"sessions"}, context());
  ASSERT_FALSE(kv);
  EXPECT_EQ(kv.error().message,
            "unknown kv backend type \"\"; known types: " + known(registry_.kvStoreTypes()));
}

TEST_F(RegistryTest, TypesAreListedSortedAndAnEmptyRegistrySaysSo) {
  Registry registry;
  Result<std::unique_ptr<KvStore>> none =
      registry.createKvStore(BackendSpec{"local.sqlite", {}}, KvStoreConfig{"t"}, context());
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().message, "unknown kv backend type \"local.sqlite\"; known types: (none)");
  registry.addKvStore("zeta", nullptr);
  registry.addKvStore("alpha", nullptr);
  EXPECT_EQ(registry.kvStoreTypes(), (std::vector<std::string>{"alpha", "zeta"}));
}

TEST_F(RegistryTest, AContextWithoutASchedulerIsRefused) {
  BackendContext bare{"orders", scratch_.path(), nullptr};
  Result<std::unique_ptr<Queue>> queue =
      registry_.createQueue(BackendSpec{"local.sqlite", {}}, QueueConfig{"orders", {}}, bare);
  ASSERT_FALSE(queue);
  EXPECT_EQ(queue.error().code, ErrorCode::kInternal);
}

} // namespace
} // namespace exoflow::backend
