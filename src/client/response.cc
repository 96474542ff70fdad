#include "client/response.h"

namespace exoflow::client::detail {
namespace {

constexpr std::size_t kMaxQuotedBody = 200;

// A message for a body that is not the API's error JSON (a proxy in front, a crash page).
std::string summarize(int status, std::string_view body) {
  std::string message = "HTTP " + std::to_string(status);
  if (!body.empty()) {
    message += ": ";
    message += body.substr(0, kMaxQuotedBody);
    if (body.size() > kMaxQuotedBody) message += "...";
  }
  return message;
}

} // namespace

std::string optionalString(const nlohmann::json& json, const char* name) {
  const auto it = json.find(name);
  if (it == json.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

Error errorFromBody(int status, std::string_view body, std::string request_id,
                    std::string backend) {
  Error error;
  error.http_status = status;
  error.code = errorCodeFromStatus(status);
  error.request_id = std::move(request_id);
  error.backend = std::move(backend);
  error.message = summarize(status, body);

  const nlohmann::json json = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object()) return error;
  const auto details = json.find("error");
  if (details == json.end() || !details->is_object()) return error;
  const std::string code = optionalString(*details, "code");
  ErrorCode parsed = ErrorCode::kInternal;
  // A known code wins over the status; client-side names are never taken from a server.
  if (errorCodeFromName(code, parsed) && parsed < ErrorCode::kTimeout) error.code = parsed;
  std::string message = optionalString(*details, "message");
  if (message.empty()) message = summarize(status, body);
  if (!code.empty() && code != errorCodeName(error.code)) message = code + ": " + message;
  error.message = std::move(message);
  if (error.request_id.empty()) error.request_id = optionalString(*details, "request_id");
  return error;
}

Error errorFromResponse(const HttpResponse& response) {
  const std::string* request_id = response.header("x-exo-request-id");
  const std::string* backend = response.header("x-exo-backend");
  return errorFromBody(response.status, response.body, request_id ? *request_id : std::string(),
                       backend ? *backend : std::string());
}

} // namespace exoflow::client::detail
