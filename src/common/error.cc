#include "common/error.h"

namespace exoflow {

std::string_view errorCodeName(ErrorCode code) {
  switch (code) {
  case ErrorCode::kInvalidArgument:
    return "InvalidArgument";
  case ErrorCode::kUnauthenticated:
    return "Unauthenticated";
  case ErrorCode::kPermissionDenied:
    return "PermissionDenied";
  case ErrorCode::kNotFound:
    return "NotFound";
  case ErrorCode::kMethodNotAllowed:
    return "MethodNotAllowed";
  case ErrorCode::kAlreadyExists:
    return "AlreadyExists";
  case ErrorCode::kPreconditionFailed:
    return "PreconditionFailed";
  case ErrorCode::kPayloadTooLarge:
    return "PayloadTooLarge";
  case ErrorCode::kRangeNotSatisfiable:
    return "RangeNotSatisfiable";
  case ErrorCode::kHeadersTooLarge:
    return "HeadersTooLarge";
  case ErrorCode::kThrottled:
    return "Throttled";
  case ErrorCode::kInternal:
    return "Internal";
  case ErrorCode::kUnavailable:
    return "Unavailable";
  }
  return "Internal";
}

int httpStatus(ErrorCode code) {
  switch (code) {
  case ErrorCode::kInvalidArgument:
    return 400;
  case ErrorCode::kUnauthenticated:
    return 401;
  case ErrorCode::kPermissionDenied:
    return 403;
  case ErrorCode::kNotFound:
    return 404;
  case ErrorCode::kMethodNotAllowed:
    return 405;
  case ErrorCode::kAlreadyExists:
    return 409;
  case ErrorCode::kPreconditionFailed:
    return 412;
  case ErrorCode::kPayloadTooLarge:
    return 413;
  case ErrorCode::kRangeNotSatisfiable:
    return 416;
  case ErrorCode::kHeadersTooLarge:
    return 431;
  case ErrorCode::kThrottled:
    return 429;
  case ErrorCode::kInternal:
    return 500;
  case ErrorCode::kUnavailable:
    return 503;
  }
  return 500;
}

} // namespace exoflow
