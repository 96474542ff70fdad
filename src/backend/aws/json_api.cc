#include "backend/aws/json_api.h"

#include <array>

#include <fmt/format.h>

namespace exoflow::aws {
namespace {

bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

bool throttling(std::string_view type) {
  constexpr std::array<std::string_view, 6> kThrottling = {
      "Throttl",  "RequestLimitExceeded",  "ProvisionedThroughputExceeded", "TooManyRequests",
      "SlowDown", "LimitExceededException"};
  for (const std::string_view t : kThrottling) {
    if (contains(type, t)) return true;
  }
  return false;
}

} // namespace

ErrorCode mapAwsError(std::string_view type, int status) {
  if (throttling(type) || status == 429) return ErrorCode::kThrottled;
  if (status >= 500) return ErrorCode::kUnavailable;
  if (contains(type, "NotFound") || contains(type, "DoesNotExist") ||
      contains(type, "NonExistent") || contains(type, "ReceiptHandleIsInvalid") ||
      contains(type, "NoSuch")) {
    return ErrorCode::kNotFound;
  }
  if (contains(type, "ConditionalCheckFailed") || contains(type, "PreconditionFailed")) {
    return ErrorCode::kPreconditionFailed;
  }
  if (contains(type, "AlreadyExists") || contains(type, "ResourceInUse")) {
    return ErrorCode::kAlreadyExists;
  }
  if (contains(type, "AccessDenied") || contains(type, "UnrecognizedClient") ||
      contains(type, "InvalidClientTokenId") || contains(type, "SignatureDoesNotMatch") ||
      contains(type, "IncompleteSignature") || contains(type, "ExpiredToken") ||
      contains(type, "InvalidSignature") || status == 403) {
    return ErrorCode::kPermissionDenied;
  }
  if (contains(type, "Validation") || contains(type, "InvalidParameter") ||
      contains(type, "MissingParameter") || contains(type, "InvalidAttribute") ||
      contains(type, "TooLong") || contains(type, "InvalidMessageContents")) {
    return ErrorCode::kInvalidArgument;
  }
  if (status == 413) return ErrorCode::kPayloadTooLarge;
  return ErrorCode::kInternal;
}

std::string awsErrorType(const net::HttpResponse& response) {
  // SQS names its legacy code first: "AWS.SimpleQueueService.NonExistentQueue;Sender".
  std::string type = response.header("x-amzn-query-error");
  if (type.empty()) {
    const auto body = nlohmann::json::parse(response.body, nullptr, false);
    if (body.is_object()) {
      if (auto it = body.find("__type"); it != body.end() && it->is_string()) type = *it;
      if (auto it = body.find("code"); type.empty() && it != body.end() && it->is_string()) {
        type = *it;
      }
    }
  }
  if (type.empty()) type = response.header("x-amzn-errortype");
  type = type.substr(0, type.find(';'));
  if (const std::size_t hash = type.rfind('#'); hash != std::string::npos) {
    type = type.substr(hash + 1);
  }
  if (const std::size_t colon = type.find(':'); colon != std::string::npos) type.resize(colon);
  return type;
}

bool retryableAwsAnswer(const net::HttpResponse& response) {
  if (response.status == 429 || response.status >= 500) return true;
  return response.status == 400 && throttling(awsErrorType(response));
}

JsonApi::JsonApi(net::HttpClient& http, CredentialsProvider& credentials, ServiceEndpoint endpoint,
                 std::string target_prefix, std::string content_type)
    : http_(http), credentials_(credentials), endpoint_(std::move(endpoint)),
      host_(net::hostHeader(endpoint_.url)), target_prefix_(std::move(target_prefix)),
      content_type_(std::move(content_type)) {}

void JsonApi::call(const std::string& action, const nlohmann::json& body, bool idempotent,
                   Done done, std::chrono::milliseconds extra_time) {
  auto credentials = credentials_.get();
  if (!credentials) {
    done(tl::unexpected(credentials.error()));
    return;
  }
  net::HttpRequest request;
  request.method = "POST";
  request.url = endpoint_.url + "/";
  request.body = body.dump();
  request.idempotent = idempotent;
  request.extra_time = extra_time;
  request.headers = {{"Host", host_},
                     {"Content-Type", content_type_},
                     {"X-Amz-Target", target_prefix_ + "." + action}};
  SigningRequest to_sign{"POST", "/", "", request.headers, sha256Hex(request.body)};
  SigningParams params;
  params.region = endpoint_.region;
  params.service = endpoint_.service;
  params.time = SystemClock::now();
  const Signed signature = signHeaders(to_sign, credentials->credentials, params);
  request.headers.insert(request.headers.end(), signature.headers.begin(), signature.headers.end());
  http_.send(
      std::move(request), [action, done = std::move(done)](Result<net::HttpResponse> response) {
        if (!response) {
          done(tl::unexpected(Error{response.error().code,
                                    fmt::format("{}: {}", action, response.error().message)}));
          return;
        }
        if (response->status / 100 != 2) {
          const std::string type = awsErrorType(*response);
          const auto body = nlohmann::json::parse(response->body, nullptr, false);
          std::string message =
              body.is_object() ? body.value("message", body.value("Message", "")) : std::string();
          done(fail(mapAwsError(type, response->status),
                    fmt::format("{} failed: {} {}{}", action, response->status, type,
                                message.empty() ? "" : ": " + message)));
          return;
        }
        auto parsed =
            nlohmann::json::parse(response->body.empty() ? "{}" : response->body, nullptr, false);
        if (parsed.is_discarded()) {
          done(fail(ErrorCode::kUnavailable, action + ": the answer is not JSON"));
          return;
        }
        done(std::move(parsed));
      });
}

Result<nlohmann::json> JsonApi::callAndWait(const std::string& action, const nlohmann::json& body,
                                            bool idempotent) {
  return net::waitFor<nlohmann::json>(
      [&](Done done) { call(action, body, idempotent, std::move(done)); });
}

} // namespace exoflow::aws
