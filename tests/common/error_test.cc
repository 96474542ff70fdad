// Pins errorCodeName() and httpStatus() to the table in the HTTP API v1 contract.

#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "common/error.h"

namespace exoflow {
namespace {

struct ApiRow {
  ErrorCode code;
  std::string_view name;
  int status;
};

// The "code | HTTP" table of API.md, row for row.
const std::vector<ApiRow>& apiTable() {
  static const std::vector<ApiRow> table = {
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
  return table;
}

TEST(ErrorTest, EveryCodeHasTheNameTheApiWrites) {
  for (const ApiRow& row : apiTable()) {
    EXPECT_EQ(errorCodeName(row.code), row.name);
  }
}

TEST(ErrorTest, EveryCodeMapsToTheStatusTheApiAssigns) {
  for (const ApiRow& row : apiTable()) {
    EXPECT_EQ(httpStatus(row.code), row.status) << row.name;
  }
}

TEST(ErrorTest, TheTableCoversTheWholeClosedSet) {
  // kUnavailable is the last enumerator; the table must have one row per code, in order.
  ASSERT_EQ(apiTable().size(), static_cast<std::size_t>(ErrorCode::kUnavailable) + 1);
  for (std::size_t i = 0; i < apiTable().size(); ++i) {
    EXPECT_EQ(static_cast<std::size_t>(apiTable()[i].code), i) << apiTable()[i].name;
  }
}

TEST(ErrorTest, NoTwoCodesShareAName) {
  for (std::size_t i = 0; i < apiTable().size(); ++i) {
    for (std::size_t j = i + 1; j < apiTable().size(); ++j) {
      EXPECT_NE(errorCodeName(apiTable()[i].code), errorCodeName(apiTable()[j].code));
    }
  }
}

TEST(ErrorTest, AnOutOfRangeCodeFallsBackToInternal) {
  const auto bogus = static_cast<ErrorCode>(999);
  EXPECT_EQ(errorCodeName(bogus), "Internal");
  EXPECT_EQ(httpStatus(bogus), 500);
}

TEST(ErrorTest, AnErrorDefaultsToInternal) {
  const Error error;
  EXPECT_EQ(error.code, ErrorCode::kInternal);
  EXPECT_EQ(error.message, "");
}

TEST(ErrorTest, FailBuildsTheUnexpectedSideOfAResult) {
  const Result<int> result = fail(ErrorCode::kNotFound, "no such key");
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(result.error().message, "no such key");
}

TEST(ErrorTest, AResultCarriesItsValue) {
  const Result<int> result = 42;
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(*result, 42);
}

} // namespace
} // namespace exoflow
