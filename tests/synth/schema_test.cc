// Every template synth writes, for every case and for the generated large apps, passes the
// CloudFormation resource schemas (see schema_check.h for what is checked), and the check
// itself finds the mistakes it claims to.
#include <algorithm>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "schema_check.h"
#include "synth/synth.h"
#include "synth_test_util.h"

namespace exoflow::synth {
namespace {

using nlohmann::json;

test::CfnSchemaCheck& checker() {
  static test::CfnSchemaCheck check(test::synthTestDir() / "cfn-schemas");
  return check;
}

void expectTemplatesPass(const SynthOutput& out, const std::string& label) {
  for (const OutputFile& f : out.files) {
    if (!f.path.ends_with(".json") || f.path.ends_with("plan.json")) continue;
    const std::vector<std::string> errors = checker().check(json::parse(f.content));
    std::string all;
    for (const std::string& e : errors)
      all += "  " + e + "\n";
    EXPECT_TRUE(errors.empty()) << label << " " << f.path << ":\n" << all;
  }
}

TEST(SchemaTest, EveryCaseTemplatePassesTheResourceSchemas) {
  for (const std::string& name : test::caseNames()) {
    const model::App app = test::loadApp(test::caseManifest(name));
    const bool aws =
        std::any_of(app.targets.begin(), app.targets.end(),
                    [](const model::Target& t) { return t.cloud == model::Cloud::kAws; });
    if (!aws) continue; // the Azure-only cases: tests/synth/arm_validate.sh checks those
    auto out = synthesize(app, TargetSet::kAws);
    ASSERT_TRUE(out.has_value()) << name;
    expectTemplatesPass(*out, name);
  }
}

TEST(SchemaTest, NestedStacksPassTheResourceSchemas) {
  std::string text = "exoflow: 1\napp: big\ncompute: {run: ./big}\nservices:\n"
                     "  db: {kind: database, engine: mysql}\n";
  for (int i = 0; i < 260; ++i)
    text += fmt::format("  q-{}: {{kind: queue, dead_letter: {{after: 2}}}}\n", i);
  text += "targets:\n  - {cloud: aws, region: us-east-1}\n";
  auto out = synthesize(test::appFromText(text), TargetSet::kAws);
  ASSERT_TRUE(out.has_value());
  expectTemplatesPass(*out, "generated");
}

TEST(SchemaTest, TheCheckFindsWhatItClaimsTo) {
  const json bad = json::parse(R"({
    "Parameters": {"Unused": {"Type": "String"}},
    "Resources": {
      "Q": {"Type": "AWS::SQS::Queue", "Properties": {"MaxMessageSize": 1, "VisibilityTimeout": "abc"}},
      "B": {"Type": "AWS::S3::Bucket", "Properties": {"VersioningConfiguration": {"Status": "On"}}},
      "V": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16", "VpcId": "x"}},
      "R": {"Type": "AWS::EC2::Route", "Properties": {"RouteTableId": {"Ref": "Nope"}}},
      "S": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": {"Fn::Sub": "${Q.Bogus}-${Missing}"}}},
      "X": {"Type": "AWS::Made::Up"}
    }})");
  const std::vector<std::string> errors = checker().check(bad);
  auto has = [&](const std::string& text) {
    return std::any_of(errors.begin(), errors.end(),
                       [&](const std::string& e) { return e.find(text) != std::string::npos; });
  };
  EXPECT_TRUE(has("Resources.Q.Properties: unknown property \"MaxMessageSize\""));
  EXPECT_TRUE(has("Resources.Q.Properties.VisibilityTimeout: must be of type"));
  EXPECT_TRUE(has("Resources.B.Properties.VersioningConfiguration.Status: must be one of"));
  EXPECT_TRUE(has("Resources.V.Properties: \"VpcId\" is read-only"));
  EXPECT_TRUE(has("Resources.R.Properties.RouteTableId: Ref to unknown \"Nope\""));
  EXPECT_TRUE(has("Fn::Sub attribute \"Q.Bogus\" does not exist"));
  EXPECT_TRUE(has("Fn::Sub refers to unknown \"Missing\""));
  EXPECT_TRUE(has("Resources.X.Type: no schema for \"AWS::Made::Up\""));
  EXPECT_TRUE(has("Parameters.Unused: never used"));
}

} // namespace
} // namespace exoflow::synth
