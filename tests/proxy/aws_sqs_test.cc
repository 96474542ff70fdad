// exo-proxy with an aws.sqs binding against a moto server started for the suite: what the
// proxy sends, the AWS CLI reads straight from moto; what the AWS CLI sends, the proxy
// delivers; the batch delete reaches SQS; and a queue that does not exist stops the start
// with a clear error.
#include <chrono>
#include <csignal>
#include <memory>
#include <random>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "proxy/cloud_backend_fixture.h"
#include "proxy/proxy_process.h"
#include "support/fake_server.h"
#include "support/moto_server.h"

namespace exoflow::proxy::testing {
namespace {

using nlohmann::json;
using testsupport::awsCli;

testsupport::MotoServer& moto() {
  return sharedMoto();
}

/// `where`: "queue: NAME" or "queue_url: URL".
std::string configFor(const std::string& where, const std::string& endpoint = moto().endpoint(),
                      const std::string& backend_timeout = "10s") {
  return oneBindingConfig("orders", "queue",
                          "{type: aws.sqs, region: us-east-1, " + where +
                              ", endpoint: " + endpoint + "}",
                          backend_timeout);
}

class AwsSqsProxyTest : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_TRUE(moto().available()) << moto().why();
    std::random_device random;
    queue_ = "proxy-" + std::to_string(random() % 1000000);
    std::string out;
    ASSERT_EQ(awsCli(moto().endpoint(), "sqs create-queue --queue-name " + queue_, &out), 0);
    url_ = json::parse(out)["QueueUrl"];
    proxy_ = std::make_unique<ProxyProcess>(dir_.path(),
                                            configFor("queue: " + queue_, moto().endpoint(), "2s"));
    ASSERT_TRUE(proxy_->started()) << proxy_->errors();
  }

  /// One message straight from moto with the AWS CLI (null when none came within 2 s).
  json cliReceive() {
    std::string out;
    EXPECT_EQ(awsCli(moto().endpoint(),
                     "sqs receive-message --queue-url " + url_ +
                         " --message-attribute-names All --wait-time-seconds 2",
                     &out),
              0);
    if (out.find_first_not_of(" \n") == std::string::npos) return nullptr;
    const json got = json::parse(out, nullptr, false);
    return got.contains("Messages") ? got["Messages"][0] : json(nullptr);
  }

  TempDir dir_;
  std::string queue_;
  std::string url_;
  std::unique_ptr<ProxyProcess> proxy_;
};

TEST_F(AwsSqsProxyTest, WhatTheProxySendsTheAwsCliReceives) {
  const HttpResponse sent =
      proxy_->call("POST", "/v1/queues/orders/messages",
                   R"({"messages": [{"body": "from exo ✓", "attributes": {"kind": "order"}}]})");
  ASSERT_EQ(sent.status, 200) << sent.body;
  EXPECT_EQ(sent.header("x-exo-backend"), "aws.sqs:us-east-1");
  const std::string id = json::parse(sent.body)["messages"][0]["message_id"];

  const json got = cliReceive();
  ASSERT_FALSE(got.is_null()) << "the AWS CLI found nothing in " << url_;
  EXPECT_EQ(got["Body"], "from exo ✓");
  EXPECT_EQ(got["MessageId"], id);
  EXPECT_EQ(got["MessageAttributes"]["kind"]["StringValue"], "order");
  EXPECT_EQ(got["MessageAttributes"]["kind"]["DataType"], "String");
}

TEST_F(AwsSqsProxyTest, WhatTheAwsCliSendsTheProxyDeliversAndDeletes) {
  std::string out;
  ASSERT_EQ(awsCli(moto().endpoint(),
                   "sqs send-message --queue-url " + url_ + " --message-body 'from the cli'", &out),
            0);
  const std::string id = json::parse(out)["MessageId"];

  const HttpResponse got = proxy_->call("GET", "/v1/queues/orders/messages?wait=2&visibility=30");
  ASSERT_EQ(got.status, 200) << got.body;
  const json messages = json::parse(got.body)["messages"];
  ASSERT_EQ(messages.size(), 1U) << got.body;
  EXPECT_EQ(messages[0]["body"], "from the cli");
  EXPECT_EQ(messages[0]["message_id"], id);
  EXPECT_EQ(messages[0]["receive_count"], 1);
  EXPECT_EQ(messages[0]["attributes"], json::object());

  const HttpResponse info = proxy_->call("GET", "/v1/queues/orders");
  ASSERT_EQ(info.status, 200) << info.body;
  EXPECT_EQ(json::parse(info.body)["approximate_in_flight"], 1);

  const HttpResponse deleted =
      proxy_->call("POST", "/v1/queues/orders/messages/delete",
                   json{{"receipts", {messages[0]["receipt"], "not-a-receipt"}}}.dump());
  ASSERT_EQ(deleted.status, 200) << deleted.body;
  const json results = json::parse(deleted.body)["results"];
  EXPECT_EQ(results[0]["status"], 204) << deleted.body;
  EXPECT_EQ(results[1]["status"], 404) << deleted.body;
  // Gone from SQS itself.
  ASSERT_EQ(awsCli(moto().endpoint(),
                   "sqs get-queue-attributes --queue-url " + url_ +
                       " --attribute-names ApproximateNumberOfMessages "
                       "ApproximateNumberOfMessagesNotVisible",
                   &out),
            0);
  const json attributes = json::parse(out)["Attributes"];
  EXPECT_EQ(attributes["ApproximateNumberOfMessages"], "0") << out;
  EXPECT_EQ(attributes["ApproximateNumberOfMessagesNotVisible"], "0") << out;
}

TEST(AwsSqsProxyStartTest, AQueueThatDoesNotExistStopsTheStartNamingIt) {
  ASSERT_TRUE(moto().available()) << moto().why();
  TempDir dir;
  ProxyProcess proxy(dir.path(), configFor("queue: no-such-queue"));
  EXPECT_FALSE(proxy.started());
  EXPECT_EQ(proxy.wait(30'000), 1);
  EXPECT_NE(proxy.errors().find("SQS queue \"no-such-queue\""), std::string::npos)
      << proxy.errors();
}

// moto stopped (SIGSTOP; a killed moto would forget its queues): calls answer 503 within the
// configured backend_timeout (2 s here) instead of hanging, and once moto runs again the proxy
// serves again by itself.
TEST_F(AwsSqsProxyTest, APausedMotoIsUnavailableWithinTheTimeoutAndTheProxyRecovers) {
  const std::string send = R"({"messages": [{"body": "m"}]})";
  ASSERT_EQ(proxy_->call("POST", "/v1/queues/orders/messages", send).status, 200);
  expectUnavailableWhilePausedThenRecovers(*proxy_, moto().pid(), "aws.sqs:us-east-1",
                                           {{"POST", "/v1/queues/orders/messages", send},
                                            {"GET", "/v1/queues/orders/messages?wait=1", ""},
                                            {"GET", "/v1/queues/orders", ""}},
                                           {"POST", "/v1/queues/orders/messages", send});
  const HttpResponse got = proxy_->call("GET", "/v1/queues/orders/messages?max=10&wait=2");
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_FALSE(json::parse(got.body)["messages"].empty());
}

TEST(AwsSqsProxyStartTest, ARefusedConnectionIsUnavailable) {
  const std::string endpoint = "http://127.0.0.1:" + std::to_string(testsupport::unusedPort());
  TempDir dir;
  ProxyProcess proxy(dir.path(),
                     configFor("queue_url: " + endpoint + "/123456789012/orders", endpoint, "2s"));
  ASSERT_TRUE(proxy.started()) << proxy.errors();
  expectUnavailable(proxy, "aws.sqs:us-east-1",
                    {{"POST", "/v1/queues/orders/messages", R"({"messages": [{"body": "m"}]})"}});
}

} // namespace
} // namespace exoflow::proxy::testing
