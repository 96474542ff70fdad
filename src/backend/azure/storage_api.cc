#include "backend/azure/storage_api.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <pugixml.hpp>

namespace exoflow::azure {
namespace {

bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

/// The path of an http(s) URL ("" for none), without a trailing '/'.
std::string urlPath(std::string_view url) {
  const std::size_t scheme = url.find("://");
  const std::size_t slash = url.find('/', scheme == std::string_view::npos ? 0 : scheme + 3);
  if (slash == std::string_view::npos) return "";
  std::string path(url.substr(slash));
  while (path.ends_with('/'))
    path.pop_back();
  return path;
}

std::string param(const std::map<std::string, std::string>& params, const std::string& key) {
  auto it = params.find(key);
  return it == params.end() ? std::string() : it->second;
}

/// Azure's message for an error answer, from the XML or JSON body.
std::string azureErrorMessage(const net::HttpResponse& response) {
  pugi::xml_document xml;
  if (xml.load_buffer(response.body.data(), response.body.size())) {
    std::string message = xml.child("Error").child_value("Message");
    return message.substr(0, message.find('\n'));
  }
  const auto body = nlohmann::json::parse(response.body, nullptr, false);
  if (body.is_object() && body.contains("odata.error")) {
    const nlohmann::json& error = body["odata.error"];
    if (error.contains("message") && error["message"].is_object()) {
      std::string message = error["message"].value("value", "");
      return message.substr(0, message.find('\n'));
    }
  }
  return "";
}

} // namespace

Result<std::unique_ptr<Credentials>>
Credentials::create(const std::string& source, const std::map<std::string, std::string>& params,
                    net::HttpClient* http, const Env& env) {
  auto credentials = std::make_unique<Credentials>();
  credentials->source_ = source;
  if (source == "shared_key") {
    credentials->account_key_ = param(params, "account_key");
    if (!base64Decode(credentials->account_key_)) {
      return fail(ErrorCode::kInvalidArgument,
                  "credentials.azure: account_key is not a base64 storage account key");
    }
  } else if (source == "sas") {
    credentials->sas_ = param(params, "sas_token");
    if (credentials->sas_.starts_with('?')) credentials->sas_.erase(0, 1);
    if (credentials->sas_.empty()) {
      return fail(ErrorCode::kInvalidArgument, "credentials.azure: sas_token is empty");
    }
  } else if (source == "managed_identity" || source == "client_secret") {
    if (http == nullptr) {
      return fail(ErrorCode::kInternal, "credentials.azure: Entra tokens need an HTTP client");
    }
    TokenEndpoint endpoint;
    if (source == "managed_identity") {
      endpoint = managedIdentity(param(params, "client_id"), env);
    } else {
      const std::string tenant = param(params, "tenant_id");
      const std::string client = param(params, "client_id");
      const std::string secret = param(params, "client_secret");
      if (tenant.empty() || client.empty() || secret.empty()) {
        return fail(ErrorCode::kInvalidArgument,
                    "credentials.azure: client_secret needs tenant_id, client_id and "
                    "client_secret");
      }
      endpoint = clientSecret(tenant, client, secret, env);
    }
    credentials->tokens_ = std::make_unique<TokenCache>(*http, std::move(endpoint));
  } else {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("unknown Azure credentials source \"{}\"", source));
  }
  return credentials;
}

Result<void> Credentials::authorize(std::string_view account, StorageService service,
                                    SignableRequest& request) const {
  if (source_ != "shared_key") return {};
  Result<std::string> header = authorization(account, account_key_, request, service);
  if (!header) return tl::unexpected(header.error());
  request.headers.emplace_back("Authorization", std::move(*header));
  return {};
}

std::string defaultEndpointUrl(std::string_view account, StorageService service) {
  const char* name = service == StorageService::kBlob    ? "blob"
                     : service == StorageService::kQueue ? "queue"
                                                         : "table";
  return fmt::format("https://{}.{}.core.windows.net", account, name);
}

ErrorCode mapAzureError(std::string_view code, int status) {
  if (code == "ServerBusy" || status == 429) return ErrorCode::kThrottled;
  if (status >= 500) return ErrorCode::kUnavailable;
  if (contains(code, "NotFound") || code == "PopReceiptMismatch" || status == 404) {
    return ErrorCode::kNotFound;
  }
  if (code == "ConditionNotMet" || code == "UpdateConditionNotSatisfied" ||
      contains(code, "ConditionNotMet") || status == 412) {
    return ErrorCode::kPreconditionFailed;
  }
  if (contains(code, "AlreadyExists") || contains(code, "BeingDeleted") || status == 409) {
    return ErrorCode::kAlreadyExists;
  }
  if (contains(code, "Authentication") || contains(code, "Authorization") ||
      contains(code, "InsufficientAccountPermissions") || status == 403) {
    return ErrorCode::kPermissionDenied;
  }
  if (contains(code, "TooLarge") || status == 413) return ErrorCode::kPayloadTooLarge;
  if (code == "InvalidRange" || status == 416) return ErrorCode::kRangeNotSatisfiable;
  if (status == 400) return ErrorCode::kInvalidArgument;
  return ErrorCode::kInternal;
}

std::string azureErrorCode(const net::HttpResponse& response) {
  std::string code = response.header("x-ms-error-code");
  if (!code.empty()) return code;
  pugi::xml_document xml;
  if (xml.load_buffer(response.body.data(), response.body.size())) {
    return xml.child("Error").child_value("Code");
  }
  const auto body = nlohmann::json::parse(response.body, nullptr, false);
  if (body.is_object() && body.contains("odata.error") && body["odata.error"].is_object()) {
    return body["odata.error"].value("code", "");
  }
  return "";
}

std::string percentEncode(std::string_view text, bool keep_slash) {
  constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) != 0 || c == '-' || c == '.' || c == '_' || c == '~' ||
        (keep_slash && c == '/')) {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

StorageApi::StorageApi(net::HttpClient& http, const Credentials& credentials, Endpoint endpoint)
    : http_(http), credentials_(credentials), endpoint_(std::move(endpoint)) {
  while (endpoint_.url.ends_with('/'))
    endpoint_.url.pop_back();
  base_path_ = urlPath(endpoint_.url);
}

void StorageApi::send(Call call, Done done) {
  SignableRequest sign;
  sign.method = call.method;
  sign.path = base_path_ + call.path;
  sign.query = call.query;
  sign.headers = std::move(call.headers);
  sign.headers.emplace_back("x-ms-date", rfc1123Date(std::chrono::system_clock::now()));
  sign.headers.emplace_back("x-ms-version", std::string(kApiVersion));
  if (!call.body.empty()) {
    sign.headers.emplace_back("Content-Length", std::to_string(call.body.size()));
  }
  if (!credentials_.usesToken()) {
    if (auto ok = credentials_.authorize(endpoint_.account, endpoint_.service, sign); !ok) {
      return done(tl::unexpected(ok.error()));
    }
  }
  net::HttpRequest request;
  request.method = call.method;
  std::string query;
  for (const auto& [name, value] : call.query) {
    query += query.empty() ? '?' : '&';
    query += percentEncode(name, false) + "=" + percentEncode(value, false);
  }
  if (!credentials_.sasQuery().empty()) {
    query += (query.empty() ? "?" : "&") + credentials_.sasQuery();
  }
  request.url = endpoint_.url + call.path + query;
  request.body = std::move(call.body);
  request.idempotent = call.idempotent;
  for (auto& header : sign.headers) {
    // The client sets Content-Length itself.
    if (header.first != "Content-Length") request.headers.push_back(std::move(header));
  }
  std::string what = fmt::format("{} {}", call.method, sign.path);
  auto handle = [what = std::move(what),
                 done = std::move(done)](Result<net::HttpResponse> response) {
    if (!response) {
      return done(tl::unexpected(
          Error{response.error().code, fmt::format("{}: {}", what, response.error().message)}));
    }
    if (response->status / 100 != 2) {
      const std::string code = azureErrorCode(*response);
      const std::string message = azureErrorMessage(*response);
      return done(fail(mapAzureError(code, response->status),
                       fmt::format("{} failed: {} {}{}", what, response->status, code,
                                   message.empty() ? "" : ": " + message)));
    }
    done(std::move(*response));
  };
  if (!credentials_.usesToken()) return http_.send(std::move(request), std::move(handle));
  // The token may come later (a fetch): the request waits for it, not the caller's thread.
  credentials_.token([http = &http_, request = std::move(request),
                      handle = std::move(handle)](Result<std::string> token) mutable {
    if (!token) return handle(tl::unexpected(token.error()));
    request.headers.emplace_back("Authorization", "Bearer " + *token);
    http->send(std::move(request), std::move(handle));
  });
}

Result<net::HttpResponse> StorageApi::sendAndWait(Call call) {
  return net::waitFor<net::HttpResponse>(
      [&](net::ResponseHandler done) { send(std::move(call), std::move(done)); });
}

} // namespace exoflow::azure
