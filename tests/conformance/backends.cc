// The table of backends every conformance suite runs against, and the shared fixture.

#include <atomic>
#include <cstdlib>
#include <random>
#include <system_error>

#include "conformance/conformance.h"

namespace exoflow::backend::conformance {
namespace {

std::size_t localBodyFiles(const std::filesystem::path& scratch) {
  std::size_t count = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(scratch, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file() && it->path().parent_path().filename() == "blobs") ++count;
  }
  return count;
}

} // namespace

const std::vector<BackendRow>& backendRows() {
  static const std::vector<BackendRow> rows = {
      {
          .name = "LocalSqlite",
          .type = "local.sqlite",
          // The default path, <data_dir>/<binding>, keeps each test in its scratch directory.
          .spec =
              [](const std::filesystem::path&, const std::string&) {
                return BackendSpec{"local.sqlite", {}};
              },
          .unavailable = [] { return std::string(); },
          .describe = "local.sqlite",
          .queue_features = {QueueFeature::kLongPolling, QueueFeature::kDeadLetter,
                             QueueFeature::kDedup, QueueFeature::kAttributes,
                             QueueFeature::kVisibilityChange, QueueFeature::kFifo},
          .object_features = {ObjectFeature::kRanges, ObjectFeature::kMetadata,
                              ObjectFeature::kIfNoneMatchPut, ObjectFeature::kDelimiterList,
                              ObjectFeature::kLargeObjects},
          .kv_features = {KvFeature::kConditionalWrites, KvFeature::kPrefixList,
                          KvFeature::kLargeValues},
          .shortest_retention = std::chrono::seconds(1),
          .body_files = localBodyFiles,
      },
  };
  return rows;
}

std::string rowName(const testing::TestParamInfo<BackendRow>& info) {
  return info.param.name;
}

ScratchDir::ScratchDir() {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern =
      (std::filesystem::path(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") / "exo-conf-XXXXXX")
          .string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    ADD_FAILURE() << "mkdtemp failed for " << pattern;
  }
  path_ = pattern;
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::set<std::string> testsOfCurrentSuite() {
  std::set<std::string> names;
  const testing::TestSuite* suite = testing::UnitTest::GetInstance()->current_test_suite();
  for (int i = 0; i < suite->total_test_count(); ++i) {
    const std::string name = suite->GetTestInfo(i)->name();
    names.insert(name.substr(0, name.find('/')));
  }
  return names;
}

std::string describeError(const Error& error) {
  return std::string(errorCodeName(error.code)) + ": " + error.message;
}

void BackendTest::SetUp() {
  if (std::string why = row().unavailable(); !why.empty()) {
    GTEST_SKIP() << row().name << " is unavailable here: " << why;
  }
  registerBuiltinBackends(registry_);
  static std::atomic<unsigned> counter{0};
  std::random_device random;
  unique_ = "t" + std::to_string(random() % 100000) + "-" + std::to_string(++counter);
}

BackendContext BackendTest::context(const std::string& binding) {
  return BackendContext{binding, scratch_.path(), &scheduler_};
}

BackendSpec BackendTest::spec(const std::string& name) const {
  return row().spec(scratch_.path(), unique_ + "-" + name);
}

} // namespace exoflow::backend::conformance
