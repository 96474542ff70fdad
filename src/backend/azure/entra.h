#pragma once
// Microsoft Entra access tokens for Azure Storage (resource https://storage.azure.com/): from
// managed identity (the instance metadata service, IMDS) or from a client secret (the tenant's
// OAuth 2.0 token endpoint). A token is fetched on first use and refreshed before it expires:
// once less than 5 minutes (or half its lifetime, for short-lived ones) remain, the next call
// starts a refresh in the background and goes on with the current token; only an expired or
// missing token makes calls wait for the fetch. Fetches go through the shared HTTP client,
// so nothing blocks its thread.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "common/error.h"
#include "net/http_client.h"

namespace exoflow::azure {

/// An environment variable's value, or "" when unset.
using Env = std::function<std::string(const std::string&)>;
Env processEnv();

/// Where and how to ask for a token.
struct TokenEndpoint {
  /// Builds the token request (a fresh one for each fetch).
  std::function<net::HttpRequest()> request;
  std::string what; ///< for error messages: "managed identity", "client secret"
};

/// IMDS: GET <host>/metadata/identity/oauth2/token with `Metadata: true`; <host> is
/// AZURE_POD_IDENTITY_AUTHORITY_HOST when set, else http://169.254.169.254. `client_id` picks a
/// user-assigned identity.
TokenEndpoint managedIdentity(const std::string& client_id, const Env& env);

/// POST <authority>/<tenant>/oauth2/v2.0/token with the client credentials grant; <authority>
/// is AZURE_AUTHORITY_HOST when set, else https://login.microsoftonline.com.
TokenEndpoint clientSecret(const std::string& tenant_id, const std::string& client_id,
                           const std::string& client_secret, const Env& env);

class TokenCache {
public:
  TokenCache(net::HttpClient& http, TokenEndpoint endpoint);

  using Done = std::function<void(Result<std::string>)>;
  /// A valid access token; `done` runs inline when one is cached, else on the HTTP client's
  /// thread once fetched. kUnavailable when the endpoint cannot be reached, kPermissionDenied
  /// when it refuses.
  void token(Done done);

private:
  struct State;
  /// Fetches a token and hands it (or the failure) to every call waiting for one.
  static void fetch(const std::shared_ptr<State>& state);

  std::shared_ptr<State> state_;
};

} // namespace exoflow::azure
