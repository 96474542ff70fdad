// Error codes and the mapping of responses to errors (errors.h, src/client/response.h).

#include <gtest/gtest.h>

#include "client/response.h"
#include "exoflow/errors.h"

namespace exoflow::client {
namespace {

struct ApiRow {
  ErrorCode code;
  std::string_view name;
  int status;
};

// API.md's "code | HTTP" table.
const ApiRow kApiTable[] = {
    {ErrorCode::kInvalidArgument, "InvalidArgument", 400},
    {ErrorCode::kUnauthenticated, "Unauthenticated", 401},
    {ErrorCode::kPermissionDenied, "PermissionDenied", 403},
    {ErrorCode::kNotFound, "NotFound", 404},
    {ErrorCode::kMethodNotAllowed, "MethodNotAllowed", 405},
    {ErrorCode::kAlreadyExists, "AlreadyExists", 409},
    {ErrorCode::kPreconditionFailed, "PreconditionFailed", 412},
    {ErrorCode::kPayloadTooLarge, "PayloadTooLarge", 413},
    {ErrorCode::kRangeNotSatisfiable, "RangeNotSatisfiable", 416},
    {ErrorCode::kHeadersTooLarge, "HeadersTooLarge", 431},
    {ErrorCode::kThrottled, "Throttled", 429},
    {ErrorCode::kInternal, "Internal", 500},
    {ErrorCode::kUnavailable, "Unavailable", 503},
};

TEST(ErrorCodeTest, NamesAndStatusesFollowTheApiTable) {
  for (const ApiRow& row : kApiTable) {
    EXPECT_EQ(errorCodeName(row.code), row.name);
    ErrorCode parsed = ErrorCode::kInternal;
    ASSERT_TRUE(errorCodeFromName(row.name, parsed)) << row.name;
    EXPECT_EQ(parsed, row.code);
    EXPECT_EQ(errorCodeFromStatus(row.status), row.code) << row.status;
  }
}

TEST(ErrorCodeTest, ClientSideCodesHaveNamesToo) {
  EXPECT_EQ(errorCodeName(ErrorCode::kTimeout), "Timeout");
  EXPECT_EQ(errorCodeName(ErrorCode::kConnectionFailed), "ConnectionFailed");
  EXPECT_EQ(errorCodeName(ErrorCode::kProtocolError), "ProtocolError");
  EXPECT_EQ(errorCodeName(ErrorCode::kAborted), "Aborted");
}

TEST(ErrorCodeTest, StatusesOutsideTheTableMapToTheirClass) {
  EXPECT_EQ(errorCodeFromStatus(418), ErrorCode::kInvalidArgument);
  EXPECT_EQ(errorCodeFromStatus(502), ErrorCode::kUnavailable);
  EXPECT_EQ(errorCodeFromStatus(504), ErrorCode::kUnavailable);
  EXPECT_EQ(errorCodeFromStatus(501), ErrorCode::kInternal);
}

TEST(ErrorCodeTest, OnlyThrottlingUnavailabilityAndTransportFailuresAreTransient) {
  Error error;
  for (ErrorCode code : {ErrorCode::kThrottled, ErrorCode::kUnavailable, ErrorCode::kTimeout,
                         ErrorCode::kConnectionFailed}) {
    error.code = code;
    EXPECT_TRUE(isTransient(error)) << errorCodeName(code);
  }
  for (ErrorCode code : {ErrorCode::kNotFound, ErrorCode::kPreconditionFailed, ErrorCode::kInternal,
                         ErrorCode::kProtocolError}) {
    error.code = code;
    EXPECT_FALSE(isTransient(error)) << errorCodeName(code);
  }
}

TEST(ErrorFromBodyTest, TakesCodeMessageAndIdsFromTheApiErrorBody) {
  const Error error = detail::errorFromBody(
      404, R"({"error": {"code": "NotFound", "message": "no such key", "request_id": "r-1"}})",
      "r-1", "local.sqlite");
  EXPECT_EQ(error.code, ErrorCode::kNotFound);
  EXPECT_EQ(error.message, "no such key");
  EXPECT_EQ(error.http_status, 404);
  EXPECT_EQ(error.request_id, "r-1");
  EXPECT_EQ(error.backend, "local.sqlite");
  EXPECT_EQ(describe(error), "NotFound (404): no such key [request_id=r-1, backend=local.sqlite]");
}

TEST(ErrorFromBodyTest, TheBodysCodeWinsOverTheStatus) {
  const Error error = detail::errorFromBody(
      400, R"({"error": {"code": "PayloadTooLarge", "message": "big"}})", "", "");
  EXPECT_EQ(error.code, ErrorCode::kPayloadTooLarge);
}

TEST(ErrorFromBodyTest, TakesTheRequestIdFromTheBodyWhenTheHeaderIsMissing) {
  const Error error = detail::errorFromBody(
      412, R"({"error": {"code": "PreconditionFailed", "message": "m", "request_id": "abc"}})", "",
      "");
  EXPECT_EQ(error.code, ErrorCode::kPreconditionFailed);
  EXPECT_EQ(error.request_id, "abc");
}

TEST(ErrorFromBodyTest, AnUnknownCodeFallsBackToTheStatusAndIsKeptInTheMessage) {
  const Error error =
      detail::errorFromBody(409, R"({"error": {"code": "Conflict", "message": "busy"}})", "", "");
  EXPECT_EQ(error.code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(error.message, "Conflict: busy");
}

TEST(ErrorFromBodyTest, AServerCannotClaimAClientSideCode) {
  const Error error =
      detail::errorFromBody(500, R"({"error": {"code": "Timeout", "message": "x"}})", "", "");
  EXPECT_EQ(error.code, ErrorCode::kInternal);
}

TEST(ErrorFromBodyTest, ANonJsonBodyIsSummarized) {
  const Error error = detail::errorFromBody(502, "<html>Bad Gateway</html>", "", "");
  EXPECT_EQ(error.code, ErrorCode::kUnavailable);
  EXPECT_EQ(error.message, "HTTP 502: <html>Bad Gateway</html>");
}

TEST(ErrorFromBodyTest, AnEmptyBodyGetsTheStatus) {
  const Error error = detail::errorFromBody(404, "", "", "");
  EXPECT_EQ(error.code, ErrorCode::kNotFound);
  EXPECT_EQ(error.message, "HTTP 404");
}

TEST(ErrorFromBodyTest, ALongBodyIsCut) {
  const Error error = detail::errorFromBody(500, std::string(1000, 'x'), "", "");
  EXPECT_LT(error.message.size(), 300u);
}

} // namespace
} // namespace exoflow::client
