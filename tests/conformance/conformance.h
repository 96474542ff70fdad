#pragma once
// What the conformance suites share: the table of backends under test, the fixture that gives
// each test a scheduler and a scratch directory, and await() for asynchronous calls.
//
// Adding a backend means adding a row to backendRows() (backends.cc): how to build its spec
// for a fresh, isolated store (an emulator endpoint, a unique bucket name...), when it cannot
// run here, and the features it claims. Every suite then runs against it.

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "backend/registry.h"
#include "backend/thread_scheduler.h"

namespace exoflow::backend::conformance {

/// One backend under test.
struct BackendRow {
  std::string name; ///< the parameter's name in test names, e.g. "LocalSqlite"
  std::string type; ///< the registry key, e.g. "local.sqlite"
  /// The spec of a fresh store. `scratch` is this test's own empty directory (also the
  /// context's data_dir); `resource` is a name unique to this test and store (e.g.
  /// "t3f9a-orders"), for backends whose cloud names must not collide between tests.
  std::function<BackendSpec(const std::filesystem::path& scratch, const std::string& resource)>
      spec;
  /// Why the backend cannot run here (its emulator is not installed...), or empty.
  std::function<std::string()> unavailable;
  std::string describe; ///< what describe() starts with
  QueueFeatures queue_features;
  ObjectFeatures object_features;
  KvFeatures kv_features;
  /// The shortest queue retention the backend accepts (SQS: 60 s); the retention test skips
  /// when it is too long to wait for.
  std::chrono::seconds shortest_retention{1};
  /// Files the backend keeps on local disk for object bodies in `scratch`, in flight or not;
  /// empty for backends that keep nothing locally. Lets the suite check that an aborted or
  /// deleted upload leaves nothing behind.
  std::function<std::size_t(const std::filesystem::path& scratch)> body_files;
  /// Whether concurrent receives never hand one message to two consumers within its
  /// visibility timeout. SQS standard queues promise at-least-once only (and moto's receive is
  /// not atomic across its threads), so their consumers must tolerate a duplicate.
  bool exclusive_receives = true;
  /// Objects up to this size carry the MD5 of their body as their ETag (API.md: ETags are
  /// opaque); S3 gives larger, multipart objects an ETag of its own.
  std::uint64_t md5_etag_limit = UINT64_MAX;
};

/// Prints a row as its name in test output.
// NOLINTNEXTLINE(readability-identifier-naming): the name GoogleTest looks up.
inline void PrintTo(const BackendRow& row, std::ostream* os) {
  *os << row.name;
}

/// Every backend the suites run against.
const std::vector<BackendRow>& backendRows();
/// The rows whose type serves queues, object stores or kv stores (in the registry).
std::vector<BackendRow> queueRows();
std::vector<BackendRow> objectStoreRows();
std::vector<BackendRow> kvStoreRows();

/// The test-name suffix for a row.
std::string rowName(const testing::TestParamInfo<BackendRow>& info);

/// A directory of its own for one test, removed with everything in it.
class ScratchDir {
public:
  ScratchDir();
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

private:
  std::filesystem::path path_;
};

/// Runs an asynchronous call and waits for its completion (at most `timeout`, then the test
/// fails). A second completion of the same call fails the test too.
template <typename T>
Result<T> await(const std::function<void(Done<T>)>& call,
                std::chrono::seconds timeout = std::chrono::seconds(60)) {
  struct State {
    std::mutex mutex;
    std::condition_variable done;
    std::optional<Result<T>> result;
    int calls = 0;
  };
  auto state = std::make_shared<State>();
  call([state](Result<T> result) {
    std::lock_guard lock(state->mutex);
    if (++state->calls > 1) {
      ADD_FAILURE() << "a completion was invoked more than once";
      return;
    }
    state->result.emplace(std::move(result));
    state->done.notify_all();
  });
  std::unique_lock lock(state->mutex);
  if (!state->done.wait_for(lock, timeout, [&] { return state->result.has_value(); })) {
    ADD_FAILURE() << "a call did not complete within " << timeout.count() << " s";
    return fail(ErrorCode::kInternal, "timed out in the test");
  }
  return std::move(*state->result);
}

/// The names of the running suite's tests, without their "/<row>" suffix.
std::set<std::string> testsOfCurrentSuite();

/// The "checked both ways" half that needs no backend call: every feature `claimed` holds
/// has tests in `tests`, and every test named there exists in the running suite.
template <typename Feature>
void expectEveryClaimedFeatureIsTested(const FeatureSet<Feature>& claimed,
                                       const std::map<Feature, std::vector<std::string>>& tests,
                                       const std::string& backend, const char* enum_name) {
  const std::set<std::string> registered = testsOfCurrentSuite();
  for (unsigned bit = 0; bit < 64; ++bit) {
    const auto feature = static_cast<Feature>(bit);
    if (!claimed.has(feature)) continue;
    auto it = tests.find(feature);
    if (it == tests.end()) {
      ADD_FAILURE() << backend << " claims " << enum_name << " #" << bit
                    << ", which this suite has no test for";
      continue;
    }
    for (const std::string& test : it->second) {
      EXPECT_EQ(registered.count(test), 1U) << "the feature table names a missing test " << test;
    }
  }
}

/// Prints an error for assertion messages.
std::string describeError(const Error& error);

/// The fixture of every suite: a running scheduler, a scratch directory and a registry with
/// the built-in backends. Skips the test when the row's backend is unavailable.
class BackendTest : public testing::TestWithParam<BackendRow> {
protected:
  void SetUp() override;

  const BackendRow& row() const { return GetParam(); }
  /// The context of binding `binding` with the scratch directory as data_dir.
  BackendContext context(const std::string& binding = "conformance");
  /// The spec for the store named `name` in this test.
  BackendSpec spec(const std::string& name) const;

  // Declared first so it is destroyed last: backends opened by a test must not outlive it.
  ThreadScheduler scheduler_;
  ScratchDir scratch_;
  Registry registry_;
  std::string unique_; ///< this test's prefix for resource names
};

} // namespace exoflow::backend::conformance
