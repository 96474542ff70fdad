#pragma once
// Errors of libexoclient: the API's closed set of codes plus the few the client itself raises
// when there is no HTTP answer to read (timeouts, refused connections, garbled responses).
// Every fallible call returns `Result<T>`; the library throws no exceptions of its own.

#include <utility>

#include <string>
#include <string_view>

#include <tl/expected.hpp>

namespace exoflow::client {

/// What went wrong. The first block mirrors the codes of the HTTP API v1 one for one; the
/// second block is raised by the client when the server gave no usable answer.
enum class ErrorCode {
  // Codes the proxy sends (API.md, "code | HTTP").
  kInvalidArgument,     ///< 400
  kUnauthenticated,     ///< 401: missing or wrong token
  kPermissionDenied,    ///< 403
  kNotFound,            ///< 404
  kMethodNotAllowed,    ///< 405
  kAlreadyExists,       ///< 409
  kPreconditionFailed,  ///< 412: If-Match / If-None-Match failed
  kPayloadTooLarge,     ///< 413
  kRangeNotSatisfiable, ///< 416
  kHeadersTooLarge,     ///< 431
  kThrottled,           ///< 429
  kInternal,            ///< 500, and any other 5xx the server does not explain
  kUnavailable,         ///< 503 (also 502 and 504 from an intermediary)
  // Codes the client raises; `Error::http_status` is 0 for these unless a response was read.
  kTimeout,          ///< connect, send or receive took longer than the configured timeout
  kConnectionFailed, ///< could not resolve or connect, or the connection broke mid-request
  kProtocolError,    ///< the response was not valid HTTP or not the JSON the API promises
  kAborted,          ///< a caller's body source or sink reported an error; carries its message
};

/// An error with everything the caller may want to log or branch on.
struct Error {
  ErrorCode code = ErrorCode::kInternal;
  /// Human-readable; the server's message when it sent one.
  std::string message;
  /// The HTTP status of the response, or 0 when no response was read.
  int http_status = 0;
  /// The `x-exo-request-id` of the response (empty when there was none).
  std::string request_id;
  /// The `x-exo-backend` header (e.g. `local.sqlite`, `aws.sqs:us-east-1`); empty when absent.
  std::string backend;
};

/// The result of every fallible client call.
template <typename T> using Result = tl::expected<T, Error>;

/// Builds the error side of a Result: `return fail(ErrorCode::kAborted, "disk full");`
inline tl::unexpected<Error> fail(ErrorCode code, std::string message) {
  Error error;
  error.code = code;
  error.message = std::move(message);
  return tl::unexpected<Error>(std::move(error));
}

/// The code's name as the API writes it ("NotFound"); client-side codes get names in the same
/// style ("Timeout", "ConnectionFailed", "ProtocolError", "Aborted").
std::string_view errorCodeName(ErrorCode code);

/// The code whose name is `name` (as errorCodeName() writes it); false when there is none.
bool errorCodeFromName(std::string_view name, ErrorCode& code);

/// The code the API assigns to an HTTP error status; statuses outside the table map to the
/// nearest class (other 4xx: kInvalidArgument, 502/504: kUnavailable, other 5xx: kInternal).
ErrorCode errorCodeFromStatus(int status);

/// True for errors worth retrying after a pause: kThrottled, kUnavailable, kTimeout and
/// kConnectionFailed. Whether a retry is *safe* (e.g. a send without dedup_id) is the caller's
/// call.
bool isTransient(const Error& error);

/// One line for logs: `NotFound (404): no such key [request_id=..., backend=local.sqlite]`.
std::string describe(const Error& error);

} // namespace exoflow::client
