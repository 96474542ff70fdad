// The Azure Storage translation paths: a queue send, a small blob PUT and a table upsert
// through exo-proxy (libexoclient -> exo-proxy -> Shared Key -> Azurite) against the same
// Azure call sent straight to Azurite by a tight client (StorageApi, the project's own Azure
// request code, on the HTTP client exo-proxy uses, with the same Shared Key). Both run one
// request at a time, interleaved round by round; CPU is read from /proc for exo-proxy and
// Azurite, and with getrusage for this process.
//
// Usage: bench_azure [--rounds 3] [--seconds 3] [--exo-proxy PATH]
// Needs Azurite 3.35.0 in tests/synth/node_modules (scripts/setup installs it).

#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "backend/azure/storage_api.h"
#include "backend/cloud.h"
#include "bench_support.h"
#include "exoflow/client.h"

namespace exoflow::bench {
namespace {

using azure::Call;
using azure::StorageApi;

constexpr const char* kAccount = "devstoreaccount1";
/// Azurite's published development key for devstoreaccount1.
constexpr const char* kAccountKey =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/"
    "KBHBeksoGMGw==";

/// Azurite on three free loopback ports, its data in a temp dir.
class Azurite {
public:
  explicit Azurite(const std::string& binary)
      : dir_("exo-bench-azurite-"), blob_(freePort()), queue_(freePort()), table_(freePort()) {
    child_.emplace(std::vector<std::string>{binary, "--silent", "--disableTelemetry", "--location",
                                            dir_.path().string(), "--blobHost", "127.0.0.1",
                                            "--blobPort", std::to_string(blob_), "--queueHost",
                                            "127.0.0.1", "--queuePort", std::to_string(queue_),
                                            "--tableHost", "127.0.0.1", "--tablePort",
                                            std::to_string(table_)},
                   dir_.path() / "azurite.log", false);
    for (const int port : {blob_, queue_, table_}) {
      if (!waitForPort(port, std::chrono::seconds(60))) {
        throw std::runtime_error("Azurite did not start");
      }
    }
  }
  pid_t pid() const { return child_->pid(); }
  std::string endpoint(int port) const {
    return fmt::format("http://127.0.0.1:{}/{}", port, kAccount);
  }
  std::string blob() const { return endpoint(blob_); }
  std::string queue() const { return endpoint(queue_); }
  std::string table() const { return endpoint(table_); }

private:
  TempDir dir_;
  int blob_;
  int queue_;
  int table_;
  std::optional<Child> child_;
};

void check(const Result<net::HttpResponse>& answer, const char* what) {
  if (!answer) throw std::runtime_error(fmt::format("{}: {}", what, answer.error().message));
}

const net::Headers& tableHeaders() {
  static const net::Headers headers = {{"Accept", "application/json;odata=minimalmetadata"},
                                       {"DataServiceVersion", "3.0;NetFx"},
                                       {"MaxDataServiceVersion", "3.0;NetFx"},
                                       {"Content-Type", "application/json"}};
  return headers;
}

int run(int rounds, int seconds, const std::string& proxy_binary) {
  const std::string azurite_binary =
      std::string(EXOFLOW_SOURCE_DIR) + "/tests/synth/node_modules/.bin/azurite";
  if (!findProgram({azurite_binary})) {
    throw std::runtime_error(azurite_binary + " is missing (run scripts/setup)");
  }
  const Azurite azurite(azurite_binary);

  // The direct client: StorageApi on the shared HTTP client and Shared Key, as exo-proxy has.
  backend::CloudServices cloud(
      {}, {}, backend::AzureCredentialsSpec{"shared_key", {{"account_key", kAccountKey}}});
  auto credentials = cloud.azureCredentials();
  if (!credentials) throw std::runtime_error(credentials.error().message);
  StorageApi queues(cloud.http(), **credentials,
                    azure::Endpoint{azurite.queue(), kAccount, azure::StorageService::kQueue});
  StorageApi blobs(cloud.http(), **credentials,
                   azure::Endpoint{azurite.blob(), kAccount, azure::StorageService::kBlob});
  StorageApi tables(cloud.http(), **credentials,
                    azure::Endpoint{azurite.table(), kAccount, azure::StorageService::kTable});
  check(queues.sendAndWait(Call{"PUT", "/bench", {}, {}, "", true}), "Create Queue");
  check(blobs.sendAndWait(Call{"PUT", "/bench", {{"restype", "container"}}, {}, "", true}),
        "Create Container");
  check(tables.sendAndWait(
            Call{"POST", "/Tables", {}, tableHeaders(), R"({"TableName": "bench"})", false}),
        "Create Table");

  const ExoProxy proxy(proxy_binary, fmt::format(R"(bindings:
  jobs: {{kind: queue, backends: [{{type: azure.queue, account: {0}, queue: bench, endpoint: "{1}", blob_endpoint: "{2}"}}]}}
  assets: {{kind: objects, backends: [{{type: azure.blob, account: {0}, container: bench, endpoint: "{2}"}}]}}
  sessions: {{kind: kv, backends: [{{type: azure.table, account: {0}, table: bench, endpoint: "{3}"}}]}}
credentials:
  azure: {{source: shared_key, account_key: "{4}"}}
)",
                                                 kAccount, azurite.queue(), azurite.blob(),
                                                 azurite.table(), kAccountKey));
  client::ClientOptions options;
  options.endpoint = proxy.endpoint();
  options.token = ExoProxy::kToken;
  auto exo = client::Client::create(options);
  if (!exo) throw std::runtime_error("client: " + exo.error().message);

  const std::string body = R"({"order": 17, "sku": "A-1"})";
  const std::string object(1024, 'x');
  client::OutgoingMessage message;
  message.body = body;
  const std::string entity =
      R"({"PartitionKey": "exo", "RowKey": "user:42", "n": 1, "v0": "{\"cart\": [1, 2]}"})";
  struct Operation {
    const char* unit;
    const char* what;
    std::function<void()> through;
    std::function<void()> direct;
  };
  const std::vector<Operation> operations = {
      {"send", "Put Message of a 27-byte body",
       [&] {
         if (!exo->sendMessage("jobs", message)) throw std::runtime_error("send through exo-proxy");
       },
       [&] {
         check(queues.sendAndWait(
                   Call{"POST",
                        "/bench/messages",
                        {},
                        {},
                        "<QueueMessage><MessageText>" + body + "</MessageText></QueueMessage>",
                        false}),
               "Put Message");
       }},
      {"PUT", "Put Blob of 1 KiB",
       [&] {
         if (!exo->putObject("assets", "orders/2026/a.json", object)) {
           throw std::runtime_error("PUT through exo-proxy");
         }
       },
       [&] {
         check(blobs.sendAndWait(Call{"PUT",
                                      "/bench/direct/a.json",
                                      {},
                                      {{"x-ms-blob-type", "BlockBlob"},
                                       {"x-ms-blob-content-type", "application/octet-stream"}},
                                      object,
                                      true}),
               "Put Blob");
       }},
      {"upsert", "Insert Or Replace Entity of a small JSON value",
       [&] {
         if (!exo->putItem("sessions", "user:42", R"({"cart": [1, 2]})")) {
           throw std::runtime_error("upsert through exo-proxy");
         }
       },
       [&] {
         check(tables.sendAndWait(Call{"PUT",
                                       "/bench(PartitionKey='exo',RowKey='direct')",
                                       {},
                                       tableHeaders(),
                                       entity,
                                       true}),
               "Insert Or Replace Entity");
       }},
  };
  // Warm up both paths (connections, Azurite's first-request costs).
  for (const Operation& operation : operations) {
    for (int i = 0; i < 50; ++i) {
      operation.through();
      operation.direct();
    }
  }

  std::vector<PathComparison> compared(operations.size());
  for (int round = 0; round < rounds; ++round) {
    std::fprintf(stderr, "azure: round %d/%d\n", round + 1, rounds);
    // Keep Azurite's queue short.
    check(queues.sendAndWait(Call{"DELETE", "/bench/messages", {}, {}, "", true}),
          "Clear Messages");
    for (std::size_t i = 0; i < operations.size(); ++i) {
      const Operation& operation = operations[i];
      compared[i].round(
          round, [&] { return timedRun(seconds, proxy.pid(), azurite.pid(), operation.through); },
          [&] { return timedRun(seconds, 0, azurite.pid(), operation.direct); });
    }
  }

  std::printf("## Azure Storage translation paths, %s\n\n", loadAverage().c_str());
  std::printf("One request at a time, %d s per run, %d rounds, Azurite 3.35.0 over loopback "
              "(keep-alive), Shared Key\n",
              seconds, rounds);
  for (std::size_t i = 0; i < operations.size(); ++i) {
    std::printf("\n### %s\n\n", operations[i].what);
    compared[i].printTable(operations[i].unit, "Azurite",
                           "direct: StorageApi in this process (reference)",
                           "through exo-proxy: libexoclient -> exo-proxy -> Azurite");
    std::printf("\nexo-proxy CPU per %s: %.1f µs; / the direct client's: %s; added p50: %.0f µs\n",
                operations[i].unit, median(compared[i].proxy_cpu),
                spread(compared[i].ratio, 2).c_str(),
                median(compared[i].proxy_p50) - median(compared[i].direct_p50));
  }
  std::printf("\nload at the end: %s\n", loadAverage().c_str());
  return 0;
}

} // namespace
} // namespace exoflow::bench

int main(int argc, char** argv) {
  CLI::App app{"The Azure Storage translation paths against direct calls to Azurite"};
  int rounds = 3;
  int seconds = 3;
  std::string proxy = EXO_PROXY_BINARY;
  app.add_option("--rounds", rounds, "rounds (each runs both paths)")->capture_default_str();
  app.add_option("--seconds", seconds, "seconds per run")->capture_default_str();
  app.add_option("--exo-proxy", proxy, "the exo-proxy binary")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  try {
    return exoflow::bench::run(rounds, seconds, proxy);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_azure: %s\n", e.what());
    return 1;
  }
}
