#pragma once
// AWS's JSON protocol (SQS and DynamoDB): `POST /` with `X-Amz-Target: <prefix>.<Action>`,
// a JSON body, SigV4-signed with credentials from the chain, sent with the pooled HTTP client;
// AWS's error answers mapped into the API's closed set of codes.

#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "backend/aws/credentials.h"
#include "common/error.h"
#include "net/http_client.h"

namespace exoflow::aws {

struct ServiceEndpoint {
  std::string url;     ///< e.g. https://sqs.us-east-1.amazonaws.com, or an emulator's
  std::string region;  ///< us-east-1
  std::string service; ///< the signing name: "sqs", "dynamodb"
};

/// The API code for an AWS error: its type (`__type` or x-amzn-query-error, e.g.
/// "QueueDoesNotExist", "ThrottlingException") and HTTP status. Throttling -> kThrottled,
/// 5xx -> kUnavailable, missing resources -> kNotFound, failed conditions ->
/// kPreconditionFailed, refused credentials -> kPermissionDenied, bad parameters ->
/// kInvalidArgument.
ErrorCode mapAwsError(std::string_view type, int status);

/// The error type AWS named in a JSON-protocol answer ("QueueDoesNotExist"), or "".
std::string awsErrorType(const net::HttpResponse& response);

/// Whether an answer is worth retrying (idempotent calls only): 429, 5xx, and throttling
/// errors that AWS sends with a 400. For HttpClientOptions::retry.retryable.
bool retryableAwsAnswer(const net::HttpResponse& response);

class JsonApi {
public:
  /// `target_prefix`: "AmazonSQS", "DynamoDB_20120810". `content_type`: the protocol's version
  /// ("application/x-amz-json-1.0").
  JsonApi(net::HttpClient& http, CredentialsProvider& credentials, ServiceEndpoint endpoint,
          std::string target_prefix, std::string content_type = "application/x-amz-json-1.0");

  using Done = std::function<void(Result<nlohmann::json>)>;
  /// Calls `action` with `body`; `done` gets the parsed answer or a mapped error whose message
  /// carries AWS's own. Runs `done` on the HTTP client's thread, or inline when signing fails.
  /// `extra_time`: how long the service may hold the call on purpose (a long poll).
  void call(const std::string& action, const nlohmann::json& body, bool idempotent, Done done,
            std::chrono::milliseconds extra_time = std::chrono::milliseconds(0));
  /// The same, waiting (tools, tests, and set-up outside the request path).
  Result<nlohmann::json> callAndWait(const std::string& action, const nlohmann::json& body,
                                     bool idempotent);

  const ServiceEndpoint& endpoint() const { return endpoint_; }

private:
  net::HttpClient& http_;
  CredentialsProvider& credentials_;
  ServiceEndpoint endpoint_;
  std::string host_;
  std::string target_prefix_;
  std::string content_type_;
};

} // namespace exoflow::aws
