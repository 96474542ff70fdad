// CloudFormation's quotas: past 500 resources the services move into nested stacks kept in the
// bootstrap bucket; a template over 51,200 bytes is deployed from the bucket; the instances'
// user data stays under EC2's 16 KiB.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "synth/synth.h"
#include "synth_test_util.h"

namespace exoflow::synth {
namespace {

using nlohmann::json;

/// A manifest with compute, a database and `queues` queues with dead-letter queues and
/// `tables` kv tables, on two AWS regions with failover.
std::string generated(int queues, int tables) {
  std::string text = "exoflow: 1\napp: big\ncompute: {run: ./big}\nroutes:\n  - path: /*\n"
                     "services:\n  main-db: {kind: database, engine: postgres}\n";
  for (int i = 0; i < queues; ++i)
    text += fmt::format("  queue-{}: {{kind: queue, dead_letter: {{after: 3}}}}\n", i);
  for (int i = 0; i < tables; ++i)
    text += fmt::format("  table-{}: {{kind: kv}}\n", i);
  return text + "targets:\n  - {cloud: aws, region: us-east-1}\n"
                "  - {cloud: aws, region: us-west-2}\nfailover: {}\n";
}

json fileJson(const SynthOutput& out, const std::string& path) {
  for (const OutputFile& f : out.files) {
    if (f.path == path) return json::parse(f.content);
  }
  ADD_FAILURE() << "no file " << path;
  return json::object();
}

TEST(LimitsTest, ManyResourcesSplitIntoNestedStacksInTheBucket) {
  const model::App app = test::appFromText(generated(300, 0)); // 600 queues
  auto out = synthesize(app, TargetSet::kAws);
  ASSERT_TRUE(out.has_value());
  const json parent = fileJson(*out, "aws/us-east-1/app.json");
  EXPECT_LE(parent["Resources"].size(), 500U);
  int nested = 0;
  std::size_t queues = 0;
  for (const auto& [id, r] : parent["Resources"].items()) {
    if (r["Type"] != "AWS::CloudFormation::Stack") continue;
    ++nested;
    const std::string url = r["Properties"]["TemplateURL"]["Fn::Sub"];
    EXPECT_TRUE(url.starts_with("https://${ArtifactBucket}.s3.${AWS::Region}.${AWS::URLSuffix}/"
                                "big/aws-us-east-1/stacks/services-"))
        << url;
    const json child = fileJson(*out, fmt::format("aws/us-east-1/stacks/services-{}.json", nested));
    EXPECT_LE(child["Resources"].size(), 500U);
    EXPECT_LE(child["Outputs"].size(), 200U);
    for (const auto& [cid, cr] : child["Resources"].items())
      queues += cr["Type"] == "AWS::SQS::Queue" ? 1 : 0;
  }
  EXPECT_GE(nested, 2);
  EXPECT_EQ(queues, 600U);
  // The database's stack gets the network it needs, and the app stack reads its outputs back.
  EXPECT_EQ(parent["Resources"]["Services1"]["Properties"]["Parameters"]["DatabaseSubnetGroup"],
            json({{"Ref", "DatabaseSubnetGroup"}}));
  const std::string user_data = parent["Resources"]["LaunchTemplate"]["Properties"]
                                      ["LaunchTemplateData"]["UserData"]["Fn::Base64"]["Fn::Sub"]
                                          .dump();
  EXPECT_NE(user_data.find("Outputs.MainDbDatabaseEndpoint"), std::string::npos);
  const json plan = fileJson(*out, "aws/plan.json");
  EXPECT_EQ(plan["stacks"][0]["nested"].size(), static_cast<std::size_t>(nested));
  EXPECT_EQ(plan["stacks"][0]["nested"][0]["key"], "big/aws-us-east-1/stacks/services-1.json");
}

TEST(LimitsTest, ALargeTemplateIsDeployedFromTheBucket) {
  const model::App app = test::appFromText(generated(0, 150)); // ~200 resources, ~100 KB
  auto out = synthesize(app, TargetSet::kAws);
  ASSERT_TRUE(out.has_value());
  const json plan = fileJson(*out, "aws/plan.json");
  EXPECT_EQ(plan["stacks"][0]["deploy"], "bucket");
  EXPECT_GT(plan["stacks"][0]["bytes"].get<std::size_t>(), 51'200U);
  EXPECT_TRUE(plan["stacks"][0]["nested"].empty());
  // The webshop's stacks are small enough to go inline.
  auto shop = synthesize(test::loadApp(test::caseManifest("webshop")), TargetSet::kAws);
  EXPECT_EQ(fileJson(*shop, "aws/plan.json")["stacks"][0]["deploy"], "inline");
}

TEST(LimitsTest, AThousandServicesKeepEveryQuota) {
  const model::App app = test::appFromText(generated(500, 499));
  auto out = synthesize(app, TargetSet::kAws);
  ASSERT_TRUE(out.has_value());
  for (const OutputFile& f : out->files) {
    if (!f.path.ends_with(".json") || f.path.ends_with("plan.json")) continue;
    const json t = json::parse(f.content);
    EXPECT_LE(t["Resources"].size(), 500U) << f.path;
    EXPECT_LE(t.value("Outputs", json::object()).size(), 200U) << f.path;
    EXPECT_LE(t.value("Parameters", json::object()).size(), 200U) << f.path;
    EXPECT_LE(f.content.size(), 1'048'576U) << f.path;
  }
  const json parent = fileJson(*out, "aws/us-east-1/app.json");
  const json data = parent["Resources"]["LaunchTemplate"]["Properties"]["LaunchTemplateData"];
  EXPECT_LT(data["UserData"].dump().size(), 16'384U);
  // The instance role names the app's queues and tables by prefix: one by one they would
  // pass IAM's 10,240 characters of inline policy.
  const std::string policy = parent["Resources"]["InstanceRole"]["Properties"]["Policies"].dump();
  EXPECT_LT(policy.size(), 10'240U);
  EXPECT_NE(policy.find(":big-*"), std::string::npos);
  const json plan = fileJson(*out, "aws/plan.json");
  EXPECT_FALSE(plan["stacks"][0]["proxy_config"]["in_user_data"].get<bool>());
}

TEST(LimitsTest, TooManyDatabasesForTheStartUpDataIsAnErrorNamingServices) {
  std::string text = "exoflow: 1\napp: dbs\ncompute: {run: ./dbs}\nservices:\n";
  for (int i = 0; i < 40; ++i)
    text += fmt::format("  db-{}: {{kind: database, engine: postgres}}\n", i);
  text += "targets:\n  - {cloud: aws, region: us-east-1}\n";
  auto out = synthesize(test::appFromText(text), TargetSet::kAws);
  ASSERT_FALSE(out.has_value());
  EXPECT_EQ(out.error().path, "services");
  EXPECT_NE(out.error().message.find("over EC2's 16384 bytes"), std::string::npos)
      << out.error().message;
}

} // namespace
} // namespace exoflow::synth
