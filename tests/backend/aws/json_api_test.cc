// AWS's JSON protocol against a real moto server: signed calls to SQS and DynamoDB, errors
// mapped into the API's codes, interop with the AWS CLI in both directions, and a paused or
// absent endpoint giving Unavailable within the timeout, then recovering by itself.
#include <csignal>
#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <unistd.h>

#include "backend/aws/json_api.h"
#include "support/fake_server.h"
#include "support/moto_server.h"

namespace exoflow::aws {
namespace {

using namespace std::chrono_literals;

class JsonApiTest : public testing::Test {
protected:
  static void SetUpTestSuite() { moto_ = new testsupport::MotoServer(); }
  static void TearDownTestSuite() {
    delete moto_;
    moto_ = nullptr;
  }

  void SetUp() override {
    ASSERT_TRUE(moto_->available()) << moto_->why();
    net::HttpClientOptions options;
    options.request_timeout = 2s;
    options.retry.base_delay = 10ms;
    options.retry.retryable = retryableAwsAnswer;
    http_ = std::make_unique<net::HttpClient>(options);
    std::vector<std::unique_ptr<CredentialsSource>> chain;
    chain.push_back(staticSource({"testing", "testing", ""}));
    credentials_ = std::make_unique<CredentialsProvider>(std::move(chain));
    sqs_ = std::make_unique<JsonApi>(
        *http_, *credentials_, ServiceEndpoint{moto_->endpoint(), "us-east-1", "sqs"}, "AmazonSQS");
  }

  static std::string unique(const std::string& base) {
    static int counter = 0;
    return base + "-" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
  }

  static inline testsupport::MotoServer* moto_ = nullptr;
  std::unique_ptr<net::HttpClient> http_;
  std::unique_ptr<CredentialsProvider> credentials_;
  std::unique_ptr<JsonApi> sqs_;
};

TEST_F(JsonApiTest, SqsMessagesTravelBothWaysWithTheAwsCli) {
  auto created = sqs_->callAndWait("CreateQueue", {{"QueueName", unique("interop")}}, true);
  ASSERT_TRUE(created) << created.error().message;
  const std::string url = (*created)["QueueUrl"];

  auto sent = sqs_->callAndWait(
      "SendMessage",
      {{"QueueUrl", url},
       {"MessageBody", "from exoflow ✓"},
       {"MessageAttributes", {{"kind", {{"DataType", "String"}, {"StringValue", "order"}}}}}},
      false);
  ASSERT_TRUE(sent) << sent.error().message;
  std::string out;
  ASSERT_EQ(testsupport::awsCli(
                moto_->endpoint(),
                "sqs receive-message --message-attribute-names All --queue-url " + url, &out),
            0);
  const auto cli = nlohmann::json::parse(out);
  EXPECT_EQ(cli["Messages"][0]["Body"], "from exoflow ✓");
  EXPECT_EQ(cli["Messages"][0]["MessageAttributes"]["kind"]["StringValue"], "order");

  ASSERT_EQ(testsupport::awsCli(moto_->endpoint(), "sqs send-message --queue-url " + url +
                                                       " --message-body 'from the cli'"),
            0);
  // The first message is invisible for 30 s after the CLI's receive; the next one is the CLI's.
  auto received = sqs_->callAndWait(
      "ReceiveMessage", {{"QueueUrl", url}, {"MaxNumberOfMessages", 10}, {"WaitTimeSeconds", 1}},
      false);
  ASSERT_TRUE(received) << received.error().message;
  ASSERT_EQ((*received)["Messages"].size(), 1U) << received->dump();
  EXPECT_EQ((*received)["Messages"][0]["Body"], "from the cli");
}

TEST_F(JsonApiTest, AwsErrorsMapIntoTheApiCodes) {
  auto missing = sqs_->callAndWait("GetQueueUrl", {{"QueueName", unique("absent")}}, true);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound) << missing.error().message;
  EXPECT_NE(missing.error().message.find("does not exist"), std::string::npos)
      << missing.error().message;

  JsonApi dynamo(*http_, *credentials_, {moto_->endpoint(), "us-east-1", "dynamodb"},
                 "DynamoDB_20120810");
  const std::string table = unique("items");
  auto created = dynamo.callAndWait(
      "CreateTable",
      {{"TableName", table},
       {"BillingMode", "PAY_PER_REQUEST"},
       {"AttributeDefinitions", {{{"AttributeName", "k"}, {"AttributeType", "S"}}}},
       {"KeySchema", {{{"AttributeName", "k"}, {"KeyType", "HASH"}}}}},
      false);
  ASSERT_TRUE(created) << created.error().message;
  const nlohmann::json put = {{"TableName", table},
                              {"Item", {{"k", {{"S", "one"}}}}},
                              {"ConditionExpression", "attribute_not_exists(k)"}};
  ASSERT_TRUE(dynamo.callAndWait("PutItem", put, false));
  auto again = dynamo.callAndWait("PutItem", put, false);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kPreconditionFailed) << again.error().message;
}

TEST_F(JsonApiTest, APausedEmulatorIsUnavailableWithinTheTimeoutThenRecovers) {
  ASSERT_TRUE(sqs_->callAndWait("ListQueues", nlohmann::json::object(), true));
  ASSERT_EQ(::kill(-moto_->pid(), SIGSTOP), 0);
  net::HttpClientOptions options;
  options.request_timeout = 500ms;
  options.connect_timeout = 500ms;
  options.retry.max_attempts = 2;
  options.retry.base_delay = 10ms;
  net::HttpClient impatient(options);
  JsonApi paused(impatient, *credentials_, sqs_->endpoint(), "AmazonSQS");
  auto r = paused.callAndWait("ListQueues", nlohmann::json::object(), true);
  ::kill(-moto_->pid(), SIGCONT);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable) << r.error().message;

  // Resumed: the same client works again on its own.
  auto back = paused.callAndWait("ListQueues", nlohmann::json::object(), true);
  EXPECT_TRUE(back) << back.error().message;
}

TEST_F(JsonApiTest, ARefusedConnectionIsUnavailable) {
  JsonApi nowhere(
      *http_, *credentials_,
      {"http://127.0.0.1:" + std::to_string(testsupport::unusedPort()), "us-east-1", "sqs"},
      "AmazonSQS");
  auto r = nowhere.callAndWait("ListQueues", nlohmann::json::object(), true);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
}

TEST(AwsErrors, TypesAndStatusesMapToCodes) {
  EXPECT_EQ(mapAwsError("ThrottlingException", 400), ErrorCode::kThrottled);
  EXPECT_EQ(mapAwsError("ProvisionedThroughputExceededException", 400), ErrorCode::kThrottled);
  EXPECT_EQ(mapAwsError("RequestThrottled", 403), ErrorCode::kThrottled);
  EXPECT_EQ(mapAwsError("InternalFailure", 500), ErrorCode::kUnavailable);
  EXPECT_EQ(mapAwsError("", 503), ErrorCode::kUnavailable);
  EXPECT_EQ(mapAwsError("ResourceNotFoundException", 400), ErrorCode::kNotFound);
  EXPECT_EQ(mapAwsError("ReceiptHandleIsInvalid", 400), ErrorCode::kNotFound);
  EXPECT_EQ(mapAwsError("ConditionalCheckFailedException", 400), ErrorCode::kPreconditionFailed);
  EXPECT_EQ(mapAwsError("AccessDeniedException", 400), ErrorCode::kPermissionDenied);
  EXPECT_EQ(mapAwsError("ValidationException", 400), ErrorCode::kInvalidArgument);

  net::HttpResponse r;
  r.status = 400;
  r.headers = {{"x-amzn-query-error", "AWS.SimpleQueueService.NonExistentQueue;Sender"}};
  EXPECT_EQ(awsErrorType(r), "AWS.SimpleQueueService.NonExistentQueue");
  r.headers.clear();
  r.body = R"({"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"x"})";
  EXPECT_EQ(awsErrorType(r), "ThrottlingException");
  EXPECT_TRUE(retryableAwsAnswer(r));
  r.body = R"({"__type":"com.amazonaws.sqs#QueueDoesNotExist"})";
  EXPECT_FALSE(retryableAwsAnswer(r));
}

} // namespace
} // namespace exoflow::aws
