// The proxy configs synth writes are read back by exo-proxy's own config checker, with the
// cloud and peer backends counted as available and every ${VAR} set.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "synth/synth.h"
#include "synth_test_util.h"

#ifdef EXOFLOW_HAVE_PROXY_CONFIG
#include "proxy/config.h"
#endif

namespace exoflow::synth {
namespace {

namespace fs = std::filesystem;

std::string fileOf(const SynthOutput& out, const std::string& path) {
  for (const OutputFile& f : out.files) {
    if (f.path == path) return f.content;
  }
  ADD_FAILURE() << "no file " << path;
  return "";
}

TEST(ProxyConfigTest, OwnRegionFirstThenPeersInManifestOrder) {
  const model::App app = test::loadApp(test::caseManifest("webshop"));
  const std::string west = fileOf(*synthesize(app, TargetSet::kAws), "aws/us-west-2/proxy.yaml");
  EXPECT_NE(west.find("  orders:\n    kind: queue\n"
                      "    options: {visibility_timeout: 30s, retention: 4d, max_message_size: "
                      "256KiB, dead_letter_after: 5}\n"
                      "    backends:\n"
                      "      - {type: aws.sqs, region: us-west-2, queue: webshop-orders}\n"
                      "      - {type: peer, peer: aws-us-east-1}\n"
                      "      - {type: peer, peer: azure-eastus}\n"),
            std::string::npos)
      << west;
  EXPECT_NE(west.find("identity: {cloud: aws, region: us-west-2}"), std::string::npos);
  // A database stays in its own target: another target's database holds other data.
  EXPECT_NE(west.find("      - {type: local.postgres, host: \"${EXO_DB_SHOP_DB_HOST}\", port: "
                      "5432, database: shop_db, user: exoflow, password: "
                      "\"${EXO_DB_SHOP_DB_PASSWORD}\", sslmode: require}\n"
                      "peers:\n"),
            std::string::npos);
}

TEST(ProxyConfigTest, QueuesStayApartWhenFailoverSaysNone) {
  const model::App app = test::loadApp(test::caseManifest("failover-active-active"));
  const std::string east = fileOf(*synthesize(app, TargetSet::kAws), "aws/us-east-1/proxy.yaml");
  EXPECT_NE(east.find("      - {type: aws.sqs, region: us-east-1, queue: api-events}\n"
                      "  state:\n    kind: kv\n    replication: sync\n"),
            std::string::npos)
      << east;
}

#ifdef EXOFLOW_HAVE_PROXY_CONFIG
TEST(ProxyConfigTest, EveryGeneratedConfigPassesTheProxysChecker) {
  const fs::path dir = fs::temp_directory_path() / "exoflow-synth-proxy-config-test";
  fs::create_directories(dir / "tls");
  for (const char* name : {"proxy.crt", "proxy.key", "ca.crt"})
    std::ofstream(dir / "tls" / name) << "test\n";
  proxy::ConfigOptions options;
  options.base_dir = dir;
  options.available.queue = {"aws.sqs", "azure.queue", "local.sqlite", "peer"};
  options.available.objects = {"aws.s3", "azure.blob", "local.sqlite", "peer"};
  options.available.kv = {"aws.dynamodb", "azure.table", "local.sqlite", "peer"};
  options.env = [](const std::string& name) -> std::optional<std::string> {
    if (name.ends_with("_URL")) return "https://10.0.0.9:7443";
    if (name == "EXO_AWS_ACCOUNT_ID") return "123456789012";
    return "value";
  };
  int checked = 0;
  for (const std::string& name : test::caseNames()) {
    auto out = synthesize(test::loadApp(test::caseManifest(name)), TargetSet::kAll);
    ASSERT_TRUE(out.has_value());
    for (const OutputFile& f : out->files) {
      if (!f.path.ends_with("proxy.yaml")) continue;
      proxy::ConfigLoad load = proxy::checkProxyConfig(f.path, f.content, options);
      EXPECT_TRUE(load.config.has_value()) << name << " " << f.path << "\n"
                                           << manifest::formatText(load.diagnostics);
      ++checked;
    }
  }
  EXPECT_GT(checked, 20);
  fs::remove_all(dir);
}
#endif

} // namespace
} // namespace exoflow::synth
