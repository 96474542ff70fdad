#pragma once
// The one closed set of error codes ExoFlow speaks (the codes of the HTTP API v1) and the
// Result type every fallible function returns. Exceptions stop at the adapter that calls a
// throwing library; everything above it passes Result values.

#include <utility>

#include <string>
#include <string_view>

#include <tl/expected.hpp>

namespace exoflow {

/// The API's error codes. Each maps to exactly one HTTP status (see httpStatus()).
enum class ErrorCode {
  kInvalidArgument,
  kUnauthenticated,
  kPermissionDenied,
  kNotFound,
  kMethodNotAllowed,
  kAlreadyExists,
  kPreconditionFailed,
  kPayloadTooLarge,
  kRangeNotSatisfiable,
  kHeadersTooLarge,
  kThrottled,
  kInternal,
  kUnavailable,
};

/// An error: a code from the closed set and a message for humans.
struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
};

template <typename T> using Result = tl::expected<T, Error>;

/// Builds the unexpected side of a Result: `return fail(ErrorCode::kNotFound, "no such key");`
inline tl::unexpected<Error> fail(ErrorCode code, std::string message) {
  return tl::unexpected<Error>(Error{code, std::move(message)});
}

/// The code's name as the API writes it, e.g. "NotFound".
std::string_view errorCodeName(ErrorCode code);

/// The HTTP status the API assigns to the code, e.g. 404 for kNotFound.
int httpStatus(ErrorCode code);

} // namespace exoflow
