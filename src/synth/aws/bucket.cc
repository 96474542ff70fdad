#include "synth/aws/aws.h"

namespace exoflow::synth::aws {

ServiceUnit renderBucket(const model::ObjectsSpec& spec, const ServiceNames& names) {
  ServiceUnit unit;
  const std::string bucket = names.id + "Bucket";
  Json props = {
      {"BucketName", sub(names.name + "-${AWS::AccountId}")},
      {"BucketEncryption",
       {{"ServerSideEncryptionConfiguration",
         Json::array({{{"ServerSideEncryptionByDefault", {{"SSEAlgorithm", "AES256"}}}}})}}},
      {"OwnershipControls",
       {{"Rules", Json::array({{{"ObjectOwnership", "BucketOwnerEnforced"}}})}}},
      {"PublicAccessBlockConfiguration",
       {{"BlockPublicAcls", true},
        {"IgnorePublicAcls", true},
        {"BlockPublicPolicy", !spec.public_read},
        {"RestrictPublicBuckets", !spec.public_read}}}};
  if (spec.versioning) props["VersioningConfiguration"] = {{"Status", "Enabled"}};
  unit.part.addResource(bucket, "AWS::S3::Bucket", std::move(props),
                        {{"DeletionPolicy", "Retain"}, {"UpdateReplacePolicy", "Retain"}});

  const Json objects = sub("${" + bucket + ".Arn}/*");
  Json statements = Json::array({{{"Sid", "TlsOnly"},
                                  {"Effect", "Deny"},
                                  {"Principal", "*"},
                                  {"Action", "s3:*"},
                                  {"Resource", Json::array({getAtt(bucket, "Arn"), objects})},
                                  {"Condition", {{"Bool", {{"aws:SecureTransport", "false"}}}}}}});
  if (spec.public_read) {
    statements.push_back({{"Sid", "PublicRead"},
                          {"Effect", "Allow"},
                          {"Principal", "*"},
                          {"Action", "s3:GetObject"},
                          {"Resource", objects}});
  }
  unit.part.addResource(
      bucket + "Policy", "AWS::S3::BucketPolicy",
      {{"Bucket", cfnRef(bucket)},
       {"PolicyDocument", {{"Version", "2012-10-17"}, {"Statement", std::move(statements)}}}});
  unit.part.addOutput(bucket + "Name", cfnRef(bucket), "Name of the bucket of service " + names.id);
  return unit;
}

} // namespace exoflow::synth::aws
