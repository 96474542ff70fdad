#pragma once
// Azure Storage's REST calls (Blob, Queue, Table): a request below a service endpoint, dated,
// versioned, authorized by Shared Key or a SAS token, sent with the pooled HTTP client; Azure's
// error answers (x-ms-error-code, the XML <Code> or the Table JSON's odata.error) mapped into
// the API's closed set of codes.

#include <utility>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "backend/azure/entra.h"
#include "backend/azure/shared_key.h"
#include "common/error.h"
#include "net/http_client.h"

namespace exoflow::azure {

/// The x-ms-version every call pins: Azurite 3.35 accepts it without --skipApiVersionCheck.
inline constexpr std::string_view kApiVersion = "2025-05-05";

/// How calls to a storage account are authorized, from the proxy config's `credentials.azure`:
/// `shared_key` (account_key), `sas` (sas_token), or a Microsoft Entra token from
/// `managed_identity` (optional client_id) or `client_secret` (tenant_id, client_id,
/// client_secret), fetched with `http` (required for those two).
class Credentials {
public:
  static Result<std::unique_ptr<Credentials>>
  create(const std::string& source, const std::map<std::string, std::string>& params,
         net::HttpClient* http = nullptr, const Env& env = processEnv());

  /// Adds what authorizes `request` for `account`: the Authorization header for Shared Key
  /// (its x-ms-date must be set), nothing for SAS (see sasQuery()).
  Result<void> authorize(std::string_view account, StorageService service,
                         SignableRequest& request) const;
  /// The SAS token's query parameters to append ("sv=...&sig=..."), or "".
  const std::string& sasQuery() const { return sas_; }
  /// Whether calls carry an Entra bearer token (token() gives it).
  bool usesToken() const { return tokens_ != nullptr; }
  void token(TokenCache::Done done) const { tokens_->token(std::move(done)); }

private:
  std::string source_;
  std::string account_key_;
  std::string sas_;
  std::unique_ptr<TokenCache> tokens_;
};

/// A service endpoint of one account: Azure's https://<account>.<service>.core.windows.net, or
/// an emulator's path-style http://127.0.0.1:10001/<account>.
struct Endpoint {
  std::string url; ///< without a trailing '/'
  std::string account;
  StorageService service = StorageService::kQueue;
};

/// `https://<account>.{blob,queue,table}.core.windows.net`
std::string defaultEndpointUrl(std::string_view account, StorageService service);

/// One call below the endpoint.
struct Call {
  std::string method = "GET";
  /// Percent-encoded, below the endpoint's own path: "/orders/messages".
  std::string path = "/";
  /// Decoded names and values; encoded on the wire.
  std::vector<std::pair<std::string, std::string>> query;
  net::Headers headers;
  std::string body;
  bool idempotent = false;
};

/// The API code for an Azure error code ("QueueNotFound", "ServerBusy") and HTTP status:
/// throttling (ServerBusy, 429) -> kThrottled, other 5xx -> kUnavailable, missing resources ->
/// kNotFound, failed conditions -> kPreconditionFailed, existing ones -> kAlreadyExists,
/// refused credentials -> kPermissionDenied, bad input -> kInvalidArgument.
ErrorCode mapAzureError(std::string_view code, int status);

/// The error code of an answer: x-ms-error-code, else the XML <Code>, else the Table JSON's
/// odata.error.code; "" when there is none.
std::string azureErrorCode(const net::HttpResponse& response);

/// Percent-encodes all but A-Z a-z 0-9 - . _ ~ (and '/' when `keep_slash`).
std::string percentEncode(std::string_view text, bool keep_slash);

class StorageApi {
public:
  StorageApi(net::HttpClient& http, const Credentials& credentials, Endpoint endpoint);

  using Done = std::function<void(Result<net::HttpResponse>)>;
  /// Sends `call`; `done` gets a 2xx answer, or a mapped error whose message carries Azure's
  /// code and message. Runs `done` on the HTTP client's thread, or inline when signing fails.
  void send(Call call, Done done);
  /// The same, waiting (set-up outside the request path, tests).
  Result<net::HttpResponse> sendAndWait(Call call);

  const Endpoint& endpoint() const { return endpoint_; }
  /// The host part of the endpoint ("127.0.0.1:10001", "acct.queue.core.windows.net").
  std::string location() const { return net::hostHeader(endpoint_.url); }

private:
  net::HttpClient& http_;
  const Credentials& credentials_;
  Endpoint endpoint_;
  std::string base_path_; ///< the endpoint URL's own path ("/devstoreaccount1" or "")
};

} // namespace exoflow::azure
