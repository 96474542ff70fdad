// The proxy config checker: golden diagnostics for every tests/proxy/configs/invalid/<case>.yaml
// (EXOFLOW_UPDATE_GOLDEN=1 rewrites the .expected files), and the values a valid config gives.
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "proxy/config.h"

namespace exoflow::proxy {
namespace {

namespace fs = std::filesystem;

const fs::path kConfigs = fs::path(EXOFLOW_SOURCE_DIR) / "tests" / "proxy" / "configs";

std::string readFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

EnvLookup fakeEnv(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

/// What the golden cases run with: a build that has only local.sqlite, and a fixed environment.
ConfigOptions goldenOptions(const fs::path& base) {
  ConfigOptions options;
  options.base_dir = base;
  options.env = fakeEnv({{"EXO_TOKEN", "t0ken"}, {"DB_PORT", "5432"}});
  options.available = {{"local.sqlite"}, {"local.sqlite"}, {"local.sqlite"}};
  return options;
}

/// A build with every type of API.md's table.
AvailableTypes everyType() {
  return {{"aws.sqs", "azure.queue", "local.sqlite", "peer"},
          {"aws.s3", "azure.blob", "local.sqlite", "peer"},
          {"aws.dynamodb", "azure.table", "local.sqlite", "peer"}};
}

std::vector<std::string> invalidCases() {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(kConfigs / "invalid")) {
    if (entry.path().extension() == ".yaml") names.push_back(entry.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

class InvalidConfigTest : public testing::TestWithParam<std::string> {};

TEST_P(InvalidConfigTest, PrintsItsPinnedDiagnosticsAndFails) {
  const fs::path yaml = kConfigs / "invalid" / (GetParam() + ".yaml");
  const fs::path expected_path = kConfigs / "invalid" / (GetParam() + ".expected");
  const ConfigLoad load =
      checkProxyConfig(GetParam() + ".yaml", readFile(yaml), goldenOptions(yaml.parent_path()));
  EXPECT_FALSE(load.config.has_value());
  const std::string actual = manifest::formatText(load.diagnostics);
  if (std::getenv("EXOFLOW_UPDATE_GOLDEN") != nullptr) {
    std::ofstream(expected_path, std::ios::binary) << actual;
    return;
  }
  ASSERT_TRUE(fs::exists(expected_path)) << "every invalid case needs its .expected file";
  EXPECT_EQ(actual, readFile(expected_path)) << "golden file: " << expected_path.string();
}

INSTANTIATE_TEST_SUITE_P(Cases, InvalidConfigTest, testing::ValuesIn(invalidCases()),
                         [](const auto& info) { return info.param; });

ConfigLoad check(const std::string& text, ConfigOptions options) {
  return checkProxyConfig("proxy.yaml", text, options);
}

TEST(ProxyConfigTest, MinimalConfigGetsEveryDefault) {
  const ConfigLoad load = check(R"(listen: 127.0.0.1:0
token: ${EXO_TOKEN}
bindings:
  orders: {kind: queue, backends: [{type: local.sqlite}]}
)",
                                goldenOptions("/srv/app"));
  ASSERT_TRUE(load.config) << manifest::formatText(load.diagnostics);
  const ProxyConfig& config = *load.config;
  EXPECT_EQ(config.listen.host, "127.0.0.1");
  EXPECT_EQ(config.listen.port, 0);
  EXPECT_EQ(config.token, "t0ken");
  EXPECT_EQ(config.identity.cloud, "local");
  EXPECT_EQ(config.data_dir, fs::path("/srv/app/.exoflow/proxy"));
  EXPECT_EQ(config.limits.check_timeout, std::chrono::milliseconds(1500));
  EXPECT_EQ(config.limits.max_body, 5ULL << 30);
  EXPECT_EQ(config.limits.max_connections, 4096);
  ASSERT_EQ(config.bindings.size(), 1U);
  const Binding& orders = config.bindings.at("orders");
  EXPECT_EQ(orders.kind, BindingKind::kQueue);
  EXPECT_EQ(orders.queue.visibility_timeout, std::chrono::seconds(30));
  EXPECT_EQ(orders.queue.max_message_size, 256U * 1024);
  EXPECT_FALSE(orders.queue.dead_letter_after);
  ASSERT_EQ(orders.backends.size(), 1U);
  EXPECT_EQ(orders.backends[0].spec.type, "local.sqlite");
  EXPECT_TRUE(orders.backends[0].spec.params.empty());
  EXPECT_TRUE(load.diagnostics.empty());
}

TEST(ProxyConfigTest, ReadsOptionsLimitsAndRelativePaths) {
  const ConfigLoad load = check(R"(listen: "[::1]:${PORT:-7420}"
token: abc
data_dir: state
limits: {max_body: 64MiB, max_connections: 8, header_timeout: 2s, idle_timeout: 5s, check_timeout: 700ms}
bindings:
  orders:
    kind: queue
    options: {visibility_timeout: 45s, retention: 1d, max_message_size: 4KiB, dead_letter_after: 3, fifo: true}
    backends: [{type: local.sqlite, path: ../data/orders.db}]
  assets: {kind: objects, options: {versioning: true}, replication: async, backends: [{type: local.sqlite}]}
  db:
    kind: database
    backends: [{type: local.postgres, port: ${DB_PORT}, database: shop, user: app, password: pw}]
)",
                                goldenOptions("/srv/app/config"));
  ASSERT_TRUE(load.config) << manifest::formatText(load.diagnostics);
  const ProxyConfig& config = *load.config;
  EXPECT_EQ(config.listen.host, "::1");
  EXPECT_EQ(config.listen.port, 7420);
  EXPECT_EQ(config.data_dir, fs::path("/srv/app/config/state"));
  EXPECT_EQ(config.limits.max_body, 64U << 20);
  EXPECT_EQ(config.limits.max_connections, 8);
  EXPECT_EQ(config.limits.header_timeout, std::chrono::seconds(2));
  EXPECT_EQ(config.limits.idle_timeout, std::chrono::seconds(5));
  EXPECT_EQ(config.limits.check_timeout, std::chrono::milliseconds(700));
  const Binding& orders = config.bindings.at("orders");
  EXPECT_EQ(orders.queue.visibility_timeout, std::chrono::seconds(45));
  EXPECT_EQ(orders.queue.retention, std::chrono::hours(24));
  EXPECT_EQ(orders.queue.max_message_size, 4096U);
  EXPECT_EQ(orders.queue.dead_letter_after, 3);
  EXPECT_EQ(orders.queue.dead_letter_queue, "orders-dlq");
  EXPECT_TRUE(orders.queue.fifo);
  EXPECT_EQ(orders.backends[0].spec.params.at("path"), "/srv/app/data/orders.db");
  const Binding& assets = config.bindings.at("assets");
  EXPECT_TRUE(assets.versioning);
  EXPECT_EQ(assets.replication, Replication::kAsync);
  const Binding& db = config.bindings.at("db");
  EXPECT_EQ(db.kind, BindingKind::kDatabase);
  EXPECT_EQ(db.backends[0].spec.type, "local.postgres");
  EXPECT_EQ(db.backends[0].spec.params.at("port"), "5432");
  EXPECT_EQ(db.backends[0].spec.params.at("password"), "pw");
}

TEST(ProxyConfigTest, TheExampleOfApiMdIsValidWhenEveryTypeIsBuilt) {
  const fs::path dir =
      fs::temp_directory_path() / ("exo-proxy-config-" + std::to_string(::getpid()));
  fs::create_directories(dir / "certs");
  for (const char* name : {"proxy.crt", "proxy.key", "ca.crt"}) {
    std::ofstream(dir / "certs" / name) << "x";
  }
  const std::string text =
      R"(listen: 127.0.0.1:7420                     # the app-facing HTTP listener
identity: {cloud: aws, region: us-east-1}   # where this proxy runs; {cloud: local} for exoflow up
token: ${EXO_TOKEN}                         # required; callers present it as a bearer token
peer_listen: 0.0.0.0:7443                   # optional: HTTPS with mutual TLS, for peer proxies only
tls: {cert: certs/proxy.crt, key: certs/proxy.key, ca: certs/ca.crt}   # required with peer_listen or peers
peer_token: ${EXO_PEER_TOKEN}               # what peers must present on peer_listen
data_dir: .exoflow/proxy                    # journals, local backends
limits: {max_body: 5GiB, max_connections: 4096}
bindings:
  orders:
    kind: queue                             # queue | objects | kv | database
    options: {visibility_timeout: 30s, retention: 4d, max_message_size: 256KiB, dead_letter_after: 5}
    backends:                               # priority order: the first healthy one serves
      - {type: aws.sqs, region: us-east-1, queue: webshop-orders, endpoint: http://127.0.0.1:5000}
      - {type: azure.queue, account: devstoreaccount1, queue: orders, endpoint: http://127.0.0.1:10001/devstoreaccount1}
      - {type: peer, peer: azure-eastus}
  assets:
    kind: objects
    backends:
      - {type: aws.s3, region: us-east-1, bucket: webshop-assets, endpoint: http://127.0.0.1:5000, path_style: true}
      - {type: azure.blob, account: devstoreaccount1, container: assets, endpoint: http://127.0.0.1:10000/devstoreaccount1}
    replication: async                      # none | async | sync
  sessions:
    kind: kv
    backends:
      - {type: local.sqlite}                # local.sqlite serves queue, objects and kv
peers:
  azure-eastus: {url: https://10.1.0.4:7443, cloud: azure, region: eastus, token: ${EXO_PEER_TOKEN}}
credentials:                                # optional; default: aws chain, azure managed_identity
  aws: {source: env}                        # chain | env | static | profile | imds | ecs
  azure: {source: shared_key, account_key: ${AZURE_STORAGE_KEY}}   # shared_key | sas | managed_identity | client_secret
)";
  ConfigOptions options;
  options.base_dir = dir;
  options.env = fakeEnv({{"EXO_TOKEN", "a"}, {"EXO_PEER_TOKEN", "b"}, {"AZURE_STORAGE_KEY", "c"}});
  options.available = everyType();
  const ConfigLoad load = check(text, options);
  fs::remove_all(dir);
  ASSERT_TRUE(load.config) << manifest::formatText(load.diagnostics);
  const ProxyConfig& config = *load.config;
  EXPECT_EQ(config.identity.region, "us-east-1");
  EXPECT_EQ(config.peer_token, "b");
  ASSERT_TRUE(config.tls);
  EXPECT_EQ(config.tls->ca, dir / "certs" / "ca.crt");
  EXPECT_EQ(config.bindings.at("orders").backends.size(), 3U);
  EXPECT_EQ(config.bindings.at("orders").backends[2].spec.params.at("peer"), "azure-eastus");
  EXPECT_EQ(config.bindings.at("assets").backends[0].spec.params.at("path_style"), "true");
  EXPECT_EQ(config.peers.at("azure-eastus").url, "https://10.1.0.4:7443");
  EXPECT_EQ(config.azure_credentials.source, "shared_key");
  EXPECT_EQ(config.azure_credentials.params.at("account_key"), "c");
  EXPECT_EQ(config.aws_credentials.source, "env");
}

TEST(ProxyConfigTest, AnExpandedValueStaysOneValue) {
  ConfigOptions options = goldenOptions("/tmp");
  options.env = fakeEnv({{"EXO_TOKEN", "a: b # not a comment"}});
  const ConfigLoad load = check("listen: 127.0.0.1:0\ntoken: ${EXO_TOKEN}\nbindings:\n"
                                "  t: {kind: kv, backends: [{type: local.sqlite}]}\n",
                                options);
  ASSERT_FALSE(load.config) << "t is too short a name";
  const ConfigLoad ok = check("listen: 127.0.0.1:0\ntoken: ${EXO_TOKEN}\nbindings:\n"
                              "  tab: {kind: kv, backends: [{type: local.sqlite}]}\n",
                              options);
  ASSERT_TRUE(ok.config) << manifest::formatText(ok.diagnostics);
  EXPECT_EQ(ok.config->token, "a: b # not a comment");
}

TEST(ProxyConfigTest, AnUnreadableFileIsOneDiagnostic) {
  const ConfigLoad load = loadProxyConfig("/nonexistent/proxy.yaml", {});
  ASSERT_EQ(load.diagnostics.size(), 1U);
  EXPECT_EQ(manifest::formatText(load.diagnostics),
            "/nonexistent/proxy.yaml:1:1: error: cannot open: No such file or directory\n");
}

TEST(ProxyConfigTest, APeersPriorityIsReadAndDefaultsToZero) {
  const fs::path dir =
      fs::temp_directory_path() / ("exo-proxy-priority-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  for (const char* name : {"proxy.crt", "proxy.key", "ca.crt"}) {
    std::ofstream(dir / name) << "x";
  }
  const ConfigLoad load =
      check("listen: 127.0.0.1:0\ntoken: abc\n"
            "tls: {cert: proxy.crt, key: proxy.key, ca: ca.crt}\n"
            "bindings:\n  sessions: {kind: kv, backends: [{type: local.sqlite}]}\n"
            "peers:\n"
            "  far: {url: \"https://10.1.0.4:7443\", cloud: local, token: t, priority: 3}\n"
            "  near: {url: \"https://10.1.0.5:7443\", cloud: local, token: t}\n",
            goldenOptions(dir));
  fs::remove_all(dir);
  ASSERT_TRUE(load.config) << manifest::formatText(load.diagnostics);
  EXPECT_EQ(load.config->peers.at("far").priority, 3);
  EXPECT_EQ(load.config->peers.at("near").priority, 0);
}

} // namespace
} // namespace exoflow::proxy
