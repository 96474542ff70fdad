// The public error helpers of include/exoflow/errors.h.

#include "exoflow/errors.h"

#include <array>

namespace exoflow::client {
namespace {

struct CodeRow {
  ErrorCode code;
  std::string_view name;
  int status; // 0 for the client-side codes
};

constexpr std::array<CodeRow, 17> kCodes = {{
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
    {ErrorCode::kTimeout, "Timeout", 0},
    {ErrorCode::kConnectionFailed, "ConnectionFailed", 0},
    {ErrorCode::kProtocolError, "ProtocolError", 0},
    {ErrorCode::kAborted, "Aborted", 0},
}};

} // namespace

std::string_view errorCodeName(ErrorCode code) {
  for (const CodeRow& row : kCodes) {
    if (row.code == code) return row.name;
  }
  return "Internal";
}

bool errorCodeFromName(std::string_view name, ErrorCode& code) {
  for (const CodeRow& row : kCodes) {
    if (row.name == name) {
      code = row.code;
      return true;
    }
  }
  return false;
}

ErrorCode errorCodeFromStatus(int status) {
  for (const CodeRow& row : kCodes) {
    if (row.status != 0 && row.status == status) return row.code;
  }
  if (status == 502 || status == 504) return ErrorCode::kUnavailable;
  if (status >= 400 && status < 500) return ErrorCode::kInvalidArgument;
  return ErrorCode::kInternal;
}

bool isTransient(const Error& error) {
  switch (error.code) {
  case ErrorCode::kThrottled:
  case ErrorCode::kUnavailable:
  case ErrorCode::kTimeout:
  case ErrorCode::kConnectionFailed:
    return true;
  default:
    return false;
  }
}

std::string describe(const Error& error) {
  std::string out(errorCodeName(error.code));
  if (error.http_status != 0) out += " (" + std::to_string(error.http_status) + ")";
  out += ": " + error.message;
  if (!error.request_id.empty() || !error.backend.empty()) {
    out += " [";
    if (!error.request_id.empty()) out += "request_id=" + error.request_id;
    if (!error.request_id.empty() && !error.backend.empty()) out += ", ";
    if (!error.backend.empty()) out += "backend=" + error.backend;
    out += "]";
  }
  return out;
}

} // namespace exoflow::client
