// What the checked model holds: defaults filled in, values converted, order kept.
#include <gtest/gtest.h>

#include "manifest/manifest.h"

namespace exoflow::manifest {
namespace {

model::App load(const std::string& yaml) {
  LoadResult result = checkManifest("t.yaml", yaml);
  EXPECT_TRUE(result.app.has_value()) << formatText(result.diagnostics);
  return result.app ? std::move(*result.app) : model::App{};
}

TEST(ManifestTest, MinimalManifestHasNoComputeAndNoFailover) {
  const model::App app = load("exoflow: 1\napp: tiny\ntargets: [{cloud: aws, region: us-east-1}]");
  EXPECT_EQ(app.name, "tiny");
  EXPECT_FALSE(app.compute.has_value());
  EXPECT_FALSE(app.failover.has_value());
  ASSERT_EQ(app.targets.size(), 1U);
  EXPECT_EQ(app.targets[0].cloud, model::Cloud::kAws);
}

TEST(ManifestTest, ComputeDefaultsFollowTheFormat) {
  const model::App app = load("exoflow: 1\napp: tiny\ncompute: {run: ./app}\nroutes: [{path: /*}]\n"
                              "targets: [{cloud: aws, region: us-east-1}]");
  ASSERT_TRUE(app.compute.has_value());
  EXPECT_EQ(app.compute->artifact, ".");
  EXPECT_EQ(app.compute->port, 8080);
  EXPECT_EQ(app.compute->health, "/healthz");
  EXPECT_EQ(app.compute->size, model::Size::kSmall);
  EXPECT_EQ(app.compute->scale.min, 2);
  EXPECT_EQ(app.compute->scale.max, 4);
  EXPECT_EQ(app.compute->scale.cpu, 60);
  EXPECT_TRUE(app.compute->env.empty());
  ASSERT_EQ(app.routes.size(), 1U);
  EXPECT_EQ(app.routes[0].port, 8080);
}

TEST(ManifestTest, RoutePortDefaultsToTheComputePort) {
  const model::App app = load("exoflow: 1\napp: tiny\ncompute: {run: ./app, port: 9000}\n"
                              "routes: [{path: /a}, {path: /b, port: 9001}]\n"
                              "targets: [{cloud: aws, region: us-east-1}]");
  ASSERT_EQ(app.routes.size(), 2U);
  EXPECT_EQ(app.routes[0].port, 9000);
  EXPECT_EQ(app.routes[1].port, 9001);
}

TEST(ManifestTest, QueueDefaultsAndConvertedValues) {
  const model::App app = load("exoflow: 1\napp: tiny\nservices:\n  a1: {kind: queue}\n"
                              "  a2: {kind: queue, visibility_timeout: 2m, retention: 1h,\n"
                              "       max_message_size: 64KiB, dead_letter: {after: 3}}\n"
                              "targets: [{cloud: aws, region: us-east-1}]");
  ASSERT_EQ(app.services.size(), 2U);
  const auto& a1 = std::get<model::QueueSpec>(app.services[0].spec);
  EXPECT_EQ(a1.visibility_timeout, 30'000);
  EXPECT_EQ(a1.retention, 4LL * 86'400'000);
  EXPECT_EQ(a1.max_message_size, 262'144U);
  EXPECT_FALSE(a1.dead_letter_after.has_value());
  EXPECT_FALSE(a1.fifo);
  const auto& a2 = std::get<model::QueueSpec>(app.services[1].spec);
  EXPECT_EQ(a2.visibility_timeout, 120'000);
  EXPECT_EQ(a2.retention, 3'600'000);
  EXPECT_EQ(a2.max_message_size, 65'536U);
  EXPECT_EQ(a2.dead_letter_after, 3);
}

TEST(ManifestTest, DatabaseVersionDefaultsPerEngine) {
  const model::App app = load("exoflow: 1\napp: tiny\nservices:\n"
                              "  pg: {kind: database, engine: postgres}\n"
                              "  my: {kind: database, engine: mysql, storage: 1TiB}\n"
                              "targets: [{cloud: aws, region: us-east-1}]");
  ASSERT_EQ(app.services.size(), 2U);
  const auto& pg = std::get<model::DatabaseSpec>(app.services[0].spec);
  EXPECT_EQ(pg.version, "16");
  EXPECT_EQ(pg.storage_gib, 32);
  const auto& my = std::get<model::DatabaseSpec>(app.services[1].spec);
  EXPECT_EQ(my.engine, model::DbEngine::kMysql);
  EXPECT_EQ(my.version, "8.0");
  EXPECT_EQ(my.storage_gib, 1024);
}

TEST(ManifestTest, ServicesKeepTheManifestOrder) {
  const model::App app = load("exoflow: 1\napp: tiny\nservices:\n  zz: {kind: kv}\n"
                              "  aa: {kind: kv}\n  mm: {kind: objects}\n"
                              "targets: [{cloud: aws, region: us-east-1}]");
  ASSERT_EQ(app.services.size(), 3U);
  EXPECT_EQ(app.services[0].name, "zz");
  EXPECT_EQ(app.services[1].name, "aa");
  EXPECT_EQ(app.services[2].name, "mm");
}

TEST(ManifestTest, PortRulesHoldRangesAndCanonicalCidrs) {
  const model::App app = load("exoflow: 1\napp: tiny\ncompute: {run: x}\nports:\n"
                              "  - {port: 9000-9010, protocol: udp, from: '2001:DB8:0::/32'}\n"
                              "  - {port: 22, from: 10.0.0.0/8}\n"
                              "targets: [{cloud: aws, region: us-east-1}]");
  ASSERT_EQ(app.ports.size(), 2U);
  EXPECT_EQ(app.ports[0].from_port, 9000);
  EXPECT_EQ(app.ports[0].to_port, 9010);
  EXPECT_EQ(app.ports[0].protocol, model::Protocol::kUdp);
  EXPECT_EQ(app.ports[0].cidr, "2001:db8::/32");
  EXPECT_TRUE(app.ports[0].ipv6);
  EXPECT_EQ(app.ports[1].from_port, 22);
  EXPECT_EQ(app.ports[1].to_port, 22);
  EXPECT_EQ(app.ports[1].protocol, model::Protocol::kTcp);
}

TEST(ManifestTest, FailoverDefaultsTakeTheComputeHealthPath) {
  const model::App app = load("exoflow: 1\napp: tiny\ncompute: {run: x, health: /up}\n"
                              "targets: [{cloud: aws, region: us-east-1}, "
                              "{cloud: azure, region: eastus}]\nfailover: {}");
  ASSERT_TRUE(app.failover.has_value());
  EXPECT_EQ(app.failover->mode, model::FailoverMode::kActivePassive);
  EXPECT_FALSE(app.failover->dns.has_value());
  EXPECT_EQ(app.failover->health.path, "/up");
  EXPECT_EQ(app.failover->health.interval, 10'000);
  EXPECT_EQ(app.failover->health.threshold, 3);
  EXPECT_EQ(app.failover->queues, model::QueueFailover::kFailover);
  EXPECT_EQ(app.failover->objects, model::Replication::kAsync);
  EXPECT_EQ(app.failover->kv, model::Replication::kAsync);
}

TEST(ManifestTest, EnvValuesAreTakenAsText) {
  const model::App app = load("exoflow: 1\napp: tiny\ncompute:\n  run: x\n"
                              "  env: {N: 0x10, B: true, F: 1.50, S: 'q', E: }\n"
                              "targets: [{cloud: aws, region: us-east-1}]");
  ASSERT_TRUE(app.compute.has_value());
  const auto& env = app.compute->env;
  EXPECT_EQ(env.at("N"), "0x10");
  EXPECT_EQ(env.at("B"), "true");
  EXPECT_EQ(env.at("F"), "1.50");
  EXPECT_EQ(env.at("S"), "q");
  EXPECT_EQ(env.at("E"), "");
}

TEST(ManifestTest, ErrorsLeaveNoModel) {
  const LoadResult result = checkManifest("t.yaml", "exoflow: 1\napp: tiny\ntargets: []\n");
  EXPECT_FALSE(result.app.has_value());
  EXPECT_TRUE(hasErrors(result.diagnostics));
}

} // namespace
} // namespace exoflow::manifest
