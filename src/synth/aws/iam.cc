#include <fmt/format.h>

#include "synth/aws/aws.h"

namespace exoflow::synth::aws {

namespace {

// IAM allows 10,240 characters of inline policy per role. Past this estimate the policy names
// the app's resources by prefix ("<app>-*") instead of one by one.
constexpr std::size_t kPolicyBudget = 8'000;
constexpr std::size_t kArnOverhead = 72; // "arn:aws:sqs:ap-southeast-1:123456789012:" and quotes

Json arn(std::string_view service, std::string_view resource) {
  return sub(fmt::format("arn:${{AWS::Partition}}:{}:${{AWS::Region}}:${{AWS::AccountId}}:{}",
                         service, resource));
}

Json bucketArn(std::string_view name_pattern, std::string_view objects) {
  return sub(
      fmt::format("arn:${{AWS::Partition}}:s3:::{}-${{AWS::AccountId}}{}", name_pattern, objects));
}

Json statement(std::string_view sid, std::vector<std::string_view> actions, Json resources) {
  return {{"Sid", sid},
          {"Effect", "Allow"},
          {"Action", Json(actions)},
          {"Resource", std::move(resources)}};
}

} // namespace

void addInstanceRole(CfnTemplate& t, const model::App& app, const model::Target& /*self*/,
                     const std::vector<ServiceNames>& names, const UnitRefs& refs) {
  std::size_t estimate = 0;
  for (const ServiceNames& n : names)
    estimate += 2 * kArnOverhead + n.name.size() + n.dead_letter.size();
  const bool by_prefix = estimate > kPolicyBudget;
  const std::string prefix = app.name + "-*";

  Json queues = Json::array();
  Json objects = Json::array();
  Json buckets = Json::array();
  Json tables = Json::array();
  Json secrets = Json::array();
  for (std::size_t i = 0; i < app.services.size(); ++i) {
    const model::Service& s = app.services[i];
    const ServiceNames& n = names[i];
    if (std::holds_alternative<model::QueueSpec>(s.spec)) {
      queues.push_back(arn("sqs", n.name));
      if (!n.dead_letter.empty()) queues.push_back(arn("sqs", n.dead_letter));
    } else if (std::holds_alternative<model::ObjectsSpec>(s.spec)) {
      buckets.push_back(bucketArn(n.name, ""));
      objects.push_back(bucketArn(n.name, "/*"));
    } else if (std::holds_alternative<model::KvSpec>(s.spec)) {
      tables.push_back(arn("dynamodb", "table/" + n.name));
    } else {
      secrets.push_back(refs.output(i, databaseSecretOutput(n)));
    }
  }
  if (by_prefix) {
    if (!queues.empty()) queues = Json::array({arn("sqs", prefix)});
    if (!buckets.empty()) {
      buckets = Json::array({bucketArn(app.name + "-*", "")});
      objects = Json::array({bucketArn(app.name + "-*", "/*")});
    }
    if (!tables.empty()) tables = Json::array({arn("dynamodb", "table/" + prefix)});
  }

  Json statements = Json::array();
  statements.push_back(
      statement("Artifacts", {"s3:GetObject"},
                sub(fmt::format("arn:${{AWS::Partition}}:s3:::${{ArtifactBucket}}/{}*",
                                artifactPrefix(app)))));
  statements.push_back(
      statement("Logs", {"logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"},
                getAtt("LogGroup", "Arn")));
  if (!queues.empty()) {
    statements.push_back(
        statement("Queues",
                  {"sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
                   "sqs:GetQueueUrl", "sqs:ReceiveMessage", "sqs:SendMessage"},
                  std::move(queues)));
  }
  if (!buckets.empty()) {
    statements.push_back(statement("BucketListing", {"s3:ListBucket"}, std::move(buckets)));
    statements.push_back(statement("Objects", {"s3:DeleteObject", "s3:GetObject", "s3:PutObject"},
                                   std::move(objects)));
  }
  if (!tables.empty()) {
    statements.push_back(
        statement("Tables",
                  {"dynamodb:ConditionCheckItem", "dynamodb:DeleteItem", "dynamodb:GetItem",
                   "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"},
                  std::move(tables)));
  }
  if (!secrets.empty()) {
    statements.push_back(
        statement("DatabaseSecrets", {"secretsmanager:GetSecretValue"}, std::move(secrets)));
  }

  if (layoutOf(app).peers) {
    statements.push_back(
        statement("PeerSecret", {"secretsmanager:GetSecretValue"}, cfnRef(kPeerSecret)));
  }

  Json assume = {{"Version", "2012-10-17"},
                 {"Statement", Json::array({{{"Effect", "Allow"},
                                             {"Principal", {{"Service", "ec2.amazonaws.com"}}},
                                             {"Action", "sts:AssumeRole"}}})}};
  t.addResource(
      "InstanceRole", "AWS::IAM::Role",
      {{"Path", rolePath(app)},
       {"AssumeRolePolicyDocument", std::move(assume)},
       {"Policies",
        Json::array({{{"PolicyName", "data-plane"},
                      {"PolicyDocument",
                       {{"Version", "2012-10-17"}, {"Statement", std::move(statements)}}}}})}});
  t.addResource("InstanceProfile", "AWS::IAM::InstanceProfile",
                {{"Path", rolePath(app)}, {"Roles", Json::array({cfnRef("InstanceRole")})}});
}

} // namespace exoflow::synth::aws
