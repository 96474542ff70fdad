// The table of backends every conformance suite runs against, and the shared fixture.

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdlib>
#include <random>
#include <string_view>
#include <system_error>

#include "backend/aws/s3_object_store.h"
#include "backend/cloud.h"
#include "conformance/conformance.h"
#include "support/azurite_server.h"
#include "support/emulators.h"
#include "support/moto_server.h"

namespace exoflow::backend::conformance {
namespace {

/// One moto server for this process, started when a test first needs it.
testsupport::MotoServer& moto() {
  static testsupport::MotoServer server;
  return server;
}

/// One Azurite (Blob, Queue, Table) for this process, started when a test first needs it.
testsupport::AzuriteServer& azurite() {
  static testsupport::AzuriteServer server;
  return server;
}

/// The HTTP client and credentials the cloud backends get: moto takes any keys; Azurite its
/// well-known account key.
CloudServices& cloud() {
  static CloudServices services(
      AwsCredentialsSpec{"static",
                         {{"access_key_id", "testing"}, {"secret_access_key", "testing"}}},
      {},
      AzureCredentialsSpec{"shared_key",
                           {{"account_key", testsupport::AzuriteServer::kAccountKey}}});
  return services;
}

std::vector<BackendRow> rowsOf(const std::vector<std::string>& types) {
  std::vector<BackendRow> rows;
  for (const BackendRow& row : backendRows()) {
    if (std::find(types.begin(), types.end(), row.type) != types.end()) rows.push_back(row);
  }
  return rows;
}

Registry builtins() {
  Registry registry;
  registerBuiltinBackends(registry);
  return registry;
}

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
      {
          .name = "AwsSqs",
          .type = "aws.sqs",
          // A queue of its own per test and store, created (with its dead-letter queue) on open.
          .spec =
              [](const std::filesystem::path&, const std::string& resource) {
                return BackendSpec{"aws.sqs",
                                   {{"region", "us-east-1"},
                                    {"queue", resource},
                                    {"endpoint", moto().endpoint()},
                                    {"create", "true"}}};
              },
          .unavailable = [] { return moto().available() ? std::string() : moto().why(); },
          .describe = "aws.sqs:us-east-1",
          .queue_features = {QueueFeature::kLongPolling, QueueFeature::kDeadLetter,
                             QueueFeature::kDedup, QueueFeature::kAttributes,
                             QueueFeature::kVisibilityChange, QueueFeature::kFifo},
          .object_features = {},
          .kv_features = {},
          .shortest_retention = std::chrono::seconds(60), // SQS's shortest
          .body_files = [](const std::filesystem::path&) -> std::size_t { return 0; },
          .exclusive_receives = false,
      },
      {
          .name = "AwsS3",
          .type = "aws.s3",
          // A bucket of its own per test and store, created on open.
          .spec =
              [](const std::filesystem::path&, const std::string& resource) {
                return BackendSpec{"aws.s3",
                                   {{"region", "us-east-1"},
                                    {"bucket", resource},
                                    {"endpoint", moto().endpoint()},
                                    {"path_style", "true"},
                                    {"create", "true"}}};
              },
          .unavailable = [] { return moto().available() ? std::string() : moto().why(); },
          .describe = "aws.s3:us-east-1",
          .queue_features = {},
          // Not kLargeObjects: S3 takes 5 TiB, but moto holds bodies in memory, and 5 GiB
          // through it would take minutes of every test run.
          .object_features = {ObjectFeature::kRanges, ObjectFeature::kMetadata,
                              ObjectFeature::kIfNoneMatchPut, ObjectFeature::kDelimiterList},
          .kv_features = {},
          .shortest_retention = std::chrono::seconds(1),
          .body_files = nullptr, // S3 keeps the bodies
          .exclusive_receives = true,
          .md5_etag_limit = aws_s3::kPartSize,
      },
      {
          .name = "AwsDynamoDb",
          .type = "aws.dynamodb",
          // A table of its own per test and store, created on open.
          .spec =
              [](const std::filesystem::path&, const std::string& resource) {
                return BackendSpec{"aws.dynamodb",
                                   {{"region", "us-east-1"},
                                    {"table", resource},
                                    {"endpoint", moto().endpoint()},
                                    {"create", "true"}}};
              },
          .unavailable = [] { return moto().available() ? std::string() : moto().why(); },
          .describe = "aws.dynamodb:us-east-1",
          .queue_features = {},
          .object_features = {},
          .kv_features = {KvFeature::kConditionalWrites, KvFeature::kPrefixList,
                          KvFeature::kLargeValues},
          .shortest_retention = std::chrono::seconds(1), // no queues
          .body_files = [](const std::filesystem::path&) -> std::size_t { return 0; },
      },
      {
          .name = "AzureQueue",
          .type = "azure.queue",
          // A queue of its own per test and store (with its dead-letter queue and claim-check
          // container), created on open.
          .spec =
              [](const std::filesystem::path&, const std::string& resource) {
                return BackendSpec{"azure.queue",
                                   {{"account", testsupport::AzuriteServer::kAccount},
                                    {"queue", resource},
                                    {"endpoint", azurite().queueEndpoint()},
                                    {"blob_endpoint", azurite().blobEndpoint()},
                                    {"create", "true"}}};
              },
          .unavailable = [] { return azurite().available() ? std::string() : azurite().why(); },
          .describe = "azure.queue:devstoreaccount1",
          .queue_features = {QueueFeature::kLongPolling, QueueFeature::kDeadLetter,
                             QueueFeature::kDedup, QueueFeature::kAttributes,
                             QueueFeature::kVisibilityChange},
          .object_features = {},
          .kv_features = {},
          .shortest_retention = std::chrono::seconds(1),
          .body_files = [](const std::filesystem::path&) -> std::size_t { return 0; },
      },
      {
          .name = "AzureTable",
          .type = "azure.table",
          // A table of its own per test and store, created on open (table names are letters
          // and digits only).
          .spec =
              [](const std::filesystem::path&, const std::string& resource) {
                std::string table;
                for (char c : resource) {
                  if (std::isalnum(static_cast<unsigned char>(c)) != 0) table += c;
                }
                return BackendSpec{"azure.table",
                                   {{"account", testsupport::AzuriteServer::kAccount},
                                    {"table", table},
                                    {"endpoint", azurite().tableEndpoint()},
                                    {"create", "true"}}};
              },
          .unavailable = [] { return azurite().available() ? std::string() : azurite().why(); },
          .describe = "azure.table:devstoreaccount1",
          .queue_features = {},
          .object_features = {},
          .kv_features = {KvFeature::kConditionalWrites, KvFeature::kPrefixList,
                          KvFeature::kLargeValues},
          .body_files = [](const std::filesystem::path&) -> std::size_t { return 0; },
      },
      {
          .name = "AzureBlob",
          .type = "azure.blob",
          // A container of its own per test and store, created on open.
          .spec =
              [](const std::filesystem::path&, const std::string& resource) {
                return BackendSpec{"azure.blob",
                                   {{"account", testsupport::AzuriteServer::kAccount},
                                    {"container", resource},
                                    {"endpoint", azurite().blobEndpoint()},
                                    {"create", "true"}}};
              },
          .unavailable = [] { return azurite().available() ? std::string() : azurite().why(); },
          .describe = "azure.blob:devstoreaccount1",
          .queue_features = {},
          // Not kLargeObjects: a 5 GiB object through Azurite is not tested here.
          .object_features = {ObjectFeature::kRanges, ObjectFeature::kMetadata,
                              ObjectFeature::kIfNoneMatchPut, ObjectFeature::kDelimiterList},
          .kv_features = {},
          .body_files = nullptr, // keeps no local files
      },
  };
  return rows;
}

std::vector<BackendRow> queueRows() {
  return rowsOf(builtins().queueTypes());
}

std::vector<BackendRow> objectStoreRows() {
  return rowsOf(builtins().objectStoreTypes());
}

std::vector<BackendRow> kvStoreRows() {
  return rowsOf(builtins().kvStoreTypes());
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
  // An emulator that is missing fails the test (support/emulators.h).
  if (std::string why = row().unavailable(); !why.empty()) {
    if (testsupport::missingEmulatorsAllowed()) {
      GTEST_SKIP() << row().name << " is unavailable here: " << why;
    }
    FAIL() << row().name << " is unavailable here: " << why
           << " (set EXOFLOW_ALLOW_MISSING_EMULATORS=1 to skip it)";
  }
  registerBuiltinBackends(registry_);
  static std::atomic<unsigned> counter{0};
  std::random_device random;
  unique_ = "t" + std::to_string(random() % 100000) + "-" + std::to_string(++counter);
}

BackendContext BackendTest::context(const std::string& binding) {
  return BackendContext{binding, scratch_.path(), &scheduler_, &cloud()};
}

BackendSpec BackendTest::spec(const std::string& name) const {
  return row().spec(scratch_.path(), unique_ + "-" + name);
}

} // namespace exoflow::backend::conformance
