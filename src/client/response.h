#pragma once
// Turning responses into results: errors from the API's JSON error bodies, and JSON bodies into
// values. nlohmann stays in libexoclient's sources; its exceptions stop here.

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "client/http_transport.h"
#include "exoflow/errors.h"

namespace exoflow::client::detail {

/// The error a non-success response stands for. The code comes from the body's
/// `{"error": {"code": ...}}` when it names a known code, else from the status; the message
/// from the body, else a summary of the status and body. `request_id` is the header's (or the
/// body's when the header is missing), `backend` the `x-exo-backend` header.
Error errorFromBody(int status, std::string_view body, std::string request_id, std::string backend);

/// errorFromBody() with the response's status, body and headers.
Error errorFromResponse(const HttpResponse& response);

/// Runs `decode(json)` on the parsed body; malformed JSON or a body without the expected
/// fields and types is kProtocolError (with the response's request id).
template <typename T, typename Decode>
Result<T> decodeJson(const HttpResponse& response, Decode&& decode) {
  try {
    const nlohmann::json json = nlohmann::json::parse(response.body);
    return decode(json);
  } catch (const nlohmann::json::exception& e) {
    Error error;
    error.code = ErrorCode::kProtocolError;
    error.message = std::string("unexpected response body: ") + e.what();
    error.http_status = response.status;
    if (const std::string* id = response.header("x-exo-request-id")) error.request_id = *id;
    return tl::unexpected(std::move(error));
  }
}

/// `json[name]` as a string when present and a string, else "".
std::string optionalString(const nlohmann::json& json, const char* name);

} // namespace exoflow::client::detail
