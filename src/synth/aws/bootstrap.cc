#include "synth/aws/bootstrap.h"

#include <fmt/format.h>

#include "synth/aws/aws.h"

namespace exoflow::synth::aws {

namespace {

Json allow(std::string_view sid, std::vector<std::string_view> actions, Json resources) {
  return {{"Sid", sid},
          {"Effect", "Allow"},
          {"Action", Json(actions)},
          {"Resource", std::move(resources)}};
}

Json arnSub(std::string_view text) {
  return sub(text);
}

Json assumedBy(Json principal) {
  return {{"Version", "2012-10-17"},
          {"Statement", Json::array({{{"Effect", "Allow"},
                                      {"Principal", std::move(principal)},
                                      {"Action", "sts:AssumeRole"}}})}};
}

/// What CloudFormation may do while it creates the app's stacks: the services the app stack
/// uses, limited to the app's names wherever AWS lets a policy name resources in advance.
Json executionStatements(const model::App& app) {
  const std::string a = app.name;
  Json s = Json::array();
  s.push_back(
      allow("Network",
            {"ec2:AllocateAddress", "ec2:Associate*", "ec2:Attach*",
             "ec2:AuthorizeSecurityGroupEgress", "ec2:AuthorizeSecurityGroupIngress", "ec2:Create*",
             "ec2:Delete*", "ec2:Describe*", "ec2:Detach*", "ec2:Disassociate*", "ec2:Get*",
             "ec2:Modify*", "ec2:ReleaseAddress", "ec2:ReplaceRoute",
             "ec2:RevokeSecurityGroupEgress", "ec2:RevokeSecurityGroupIngress", "ec2:RunInstances"},
            "*"));
  s.push_back(allow("Scaling",
                    {"autoscaling:*", "cloudwatch:DeleteAlarms", "cloudwatch:DescribeAlarms",
                     "cloudwatch:PutMetricAlarm", "elasticloadbalancing:*"},
                    "*"));
  s.push_back(allow("Image", {"ssm:GetParameters"},
                    arnSub("arn:${AWS::Partition}:ssm:${AWS::Region}::parameter/aws/service/"
                           "ami-amazon-linux-latest/*")));
  s.push_back(allow(
      "InstanceRoles",
      {"iam:AddRoleToInstanceProfile", "iam:CreateInstanceProfile", "iam:CreateRole",
       "iam:DeleteInstanceProfile", "iam:DeleteRole", "iam:DeleteRolePolicy",
       "iam:GetInstanceProfile", "iam:GetRole", "iam:GetRolePolicy", "iam:PassRole",
       "iam:PutRolePolicy", "iam:RemoveRoleFromInstanceProfile", "iam:TagRole", "iam:UntagRole"},
      Json::array({arnSub(fmt::format("arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role{}*",
                                      rolePath(app))),
                   arnSub(fmt::format(
                       "arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:instance-profile{}*",
                       rolePath(app)))})));
  s.push_back(
      allow("Queues", {"sqs:*"},
            arnSub(fmt::format("arn:${{AWS::Partition}}:sqs:*:${{AWS::AccountId}}:{}-*", a))));
  s.push_back(allow("Buckets", {"s3:*"},
                    Json::array({arnSub(fmt::format("arn:${{AWS::Partition}}:s3:::{}-*", a)),
                                 arnSub(fmt::format("arn:${{AWS::Partition}}:s3:::{}-*/*", a))})));
  s.push_back(allow(
      "Tables", {"dynamodb:*"},
      arnSub(fmt::format("arn:${{AWS::Partition}}:dynamodb:*:${{AWS::AccountId}}:table/{}-*", a))));
  // RDS names subnet groups and the master secret itself, so these are not limited by name.
  s.push_back(allow("Databases", {"rds:*"}, "*"));
  s.push_back(allow(
      "DatabaseSecrets",
      {"secretsmanager:CreateSecret", "secretsmanager:DeleteSecret",
       "secretsmanager:DescribeSecret", "secretsmanager:PutSecretValue",
       "secretsmanager:RotateSecret", "secretsmanager:TagResource", "secretsmanager:UpdateSecret"},
      arnSub("arn:${AWS::Partition}:secretsmanager:*:${AWS::AccountId}:secret:rds!*")));
  if (layoutOf(app).peers) {
    // CloudFormation names the app stack's peer secret (PeerSecret-<random>): a fixed name
    // would stay taken for the recovery window after the stack is deleted.
    s.push_back(allow(
        "PeerSecrets",
        {"secretsmanager:CreateSecret", "secretsmanager:DeleteSecret",
         "secretsmanager:DescribeSecret", "secretsmanager:PutSecretValue",
         "secretsmanager:TagResource", "secretsmanager:UpdateSecret"},
        arnSub("arn:${AWS::Partition}:secretsmanager:*:${AWS::AccountId}:secret:PeerSecret-*")));
  }
  s.push_back(
      allow("Logs", {"logs:*"},
            arnSub(fmt::format(
                "arn:${{AWS::Partition}}:logs:*:${{AWS::AccountId}}:log-group:/exoflow/{}*", a))));
  s.push_back(allow("Dns",
                    {"route53:ChangeResourceRecordSets", "route53:ChangeTagsForResource",
                     "route53:CreateHealthCheck", "route53:DeleteHealthCheck", "route53:GetChange",
                     "route53:GetHealthCheck", "route53:GetHostedZone", "route53:ListHealthChecks",
                     "route53:ListResourceRecordSets", "route53:UpdateHealthCheck"},
                    "*"));
  s.push_back(
      allow("NestedStacks", {"cloudformation:*"},
            arnSub(fmt::format(
                "arn:${{AWS::Partition}}:cloudformation:*:${{AWS::AccountId}}:stack/{}-*", a))));
  s.push_back(allow("Templates", {"s3:GetObject"},
                    arnSub(fmt::format("${{ArtifactBucket.Arn}}/{}*", artifactPrefix(app)))));
  return s;
}

/// What `exoflow deploy` does: stacks and change sets of this app, and its artifacts.
Json deployStatements(const model::App& app) {
  Json s = Json::array();
  s.push_back(allow(
      "Stacks",
      {"cloudformation:CreateChangeSet", "cloudformation:CreateStack",
       "cloudformation:DeleteChangeSet", "cloudformation:DescribeChangeSet",
       "cloudformation:DescribeStackEvents", "cloudformation:DescribeStackResources",
       "cloudformation:DescribeStacks", "cloudformation:ExecuteChangeSet",
       "cloudformation:GetTemplate", "cloudformation:ListStackResources",
       "cloudformation:UpdateStack"},
      arnSub(fmt::format(
          "arn:${{AWS::Partition}}:cloudformation:*:${{AWS::AccountId}}:stack/{}-*/*", app.name))));
  s.push_back(allow("TemplateChecks",
                    {"cloudformation:GetTemplateSummary", "cloudformation:ValidateTemplate",
                     "route53:ListHostedZonesByName"},
                    "*"));
  s.push_back(allow("PassExecutionRole", {"iam:PassRole"}, getAtt("ExecutionRole", "Arn")));
  s.push_back(allow("ArtifactListing", {"s3:GetBucketLocation", "s3:ListBucket"},
                    getAtt("ArtifactBucket", "Arn")));
  s.push_back(allow("Artifacts", {"s3:GetObject", "s3:PutObject"},
                    arnSub(fmt::format("${{ArtifactBucket.Arn}}/{}*", artifactPrefix(app)))));
  return s;
}

} // namespace

Json renderBootstrap(const model::App& app) {
  CfnTemplate t(fmt::format("ExoFlow bootstrap of app {}: artifact bucket and deployment roles, "
                            "once per account and region (written by exoflow synth)",
                            app.name));
  t.addResource(
      "ArtifactBucket", "AWS::S3::Bucket",
      {{"BucketEncryption",
        {{"ServerSideEncryptionConfiguration",
          Json::array({{{"ServerSideEncryptionByDefault", {{"SSEAlgorithm", "AES256"}}}}})}}},
       {"VersioningConfiguration", {{"Status", "Enabled"}}},
       {"PublicAccessBlockConfiguration",
        {{"BlockPublicAcls", true},
         {"BlockPublicPolicy", true},
         {"IgnorePublicAcls", true},
         {"RestrictPublicBuckets", true}}},
       {"OwnershipControls",
        {{"Rules", Json::array({{{"ObjectOwnership", "BucketOwnerEnforced"}}})}}},
       {"LifecycleConfiguration",
        {{"Rules", Json::array({{{"Id", "expire-replaced-artifacts"},
                                 {"Status", "Enabled"},
                                 {"NoncurrentVersionExpiration", {{"NoncurrentDays", 30}}}}})}}}},
      {{"DeletionPolicy", "Retain"}, {"UpdateReplacePolicy", "Retain"}});
  t.addResource(
      "ArtifactBucketPolicy", "AWS::S3::BucketPolicy",
      {{"Bucket", cfnRef("ArtifactBucket")},
       {"PolicyDocument",
        {{"Version", "2012-10-17"},
         {"Statement",
          Json::array({{{"Sid", "TlsOnly"},
                        {"Effect", "Deny"},
                        {"Principal", "*"},
                        {"Action", "s3:*"},
                        {"Resource", Json::array({getAtt("ArtifactBucket", "Arn"),
                                                  sub("${ArtifactBucket.Arn}/*")})},
                        {"Condition", {{"Bool", {{"aws:SecureTransport", "false"}}}}}}})}}}});
  t.addResource(
      "ExecutionRole", "AWS::IAM::Role",
      {{"Path", "/exoflow/"},
       {"AssumeRolePolicyDocument", assumedBy({{"Service", "cloudformation.amazonaws.com"}})},
       {"Policies",
        Json::array({{{"PolicyName", "provision-app"},
                      {"PolicyDocument",
                       {{"Version", "2012-10-17"}, {"Statement", executionStatements(app)}}}}})}});
  t.addResource(
      "DeployRole", "AWS::IAM::Role",
      {{"Path", "/exoflow/"},
       {"AssumeRolePolicyDocument",
        assumedBy({{"AWS", sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")}})},
       {"Policies",
        Json::array({{{"PolicyName", "deploy-app"},
                      {"PolicyDocument",
                       {{"Version", "2012-10-17"}, {"Statement", deployStatements(app)}}}}})}});
  t.addOutput("ArtifactBucketName", cfnRef("ArtifactBucket"),
              "Bucket for the app's artifacts and nested templates (ArtifactBucket of the app "
              "stacks)");
  t.addOutput("ExecutionRoleArn", getAtt("ExecutionRole", "Arn"),
              "Role CloudFormation uses to create the app stacks (--role-arn)");
  t.addOutput("DeployRoleArn", getAtt("DeployRole", "Arn"),
              "Role that may deploy the app's stacks and upload its artifacts");
  return t.toJson();
}

} // namespace exoflow::synth::aws
