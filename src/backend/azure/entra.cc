#include "backend/azure/entra.h"

#include <charconv>
#include <cstdlib>
#include <mutex>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "backend/azure/storage_api.h"

namespace exoflow::azure {
namespace {

using Clock = std::chrono::system_clock;
using nlohmann::json;

constexpr std::string_view kResource = "https://storage.azure.com/";
constexpr std::chrono::minutes kRefreshMargin{5};

/// Seconds as a JSON number or a string of digits (IMDS sends strings); -1 for neither.
std::int64_t seconds(const json& value) {
  if (value.is_number_integer()) return value.get<std::int64_t>();
  if (!value.is_string()) return -1;
  const std::string& text = value.get_ref<const std::string&>();
  std::int64_t out = 0;
  const char* end = text.data() + text.size();
  auto [at, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc() && at == end ? out : -1;
}

} // namespace

Env processEnv() {
  return [](const std::string& name) {
    const char* value = std::getenv(name.c_str());
    return value == nullptr ? std::string() : std::string(value);
  };
}

TokenEndpoint managedIdentity(const std::string& client_id, const Env& env) {
  std::string host = env("AZURE_POD_IDENTITY_AUTHORITY_HOST");
  if (host.empty()) host = "http://169.254.169.254";
  while (host.ends_with('/'))
    host.pop_back();
  std::string url =
      fmt::format("{}/metadata/identity/oauth2/token?api-version=2018-02-01&resource={}", host,
                  percentEncode(kResource, false));
  if (!client_id.empty()) url += "&client_id=" + percentEncode(client_id, false);
  return TokenEndpoint{[url] {
                         net::HttpRequest request;
                         request.method = "GET";
                         request.url = url;
                         request.headers = {{"Metadata", "true"}};
                         request.idempotent = true;
                         return request;
                       },
                       "managed identity"};
}

TokenEndpoint clientSecret(const std::string& tenant_id, const std::string& client_id,
                           const std::string& client_secret, const Env& env) {
  std::string authority = env("AZURE_AUTHORITY_HOST");
  if (authority.empty()) authority = "https://login.microsoftonline.com";
  while (authority.ends_with('/'))
    authority.pop_back();
  const std::string url =
      fmt::format("{}/{}/oauth2/v2.0/token", authority, percentEncode(tenant_id, false));
  const std::string body =
      fmt::format("grant_type=client_credentials&client_id={}&client_secret={}&scope={}",
                  percentEncode(client_id, false), percentEncode(client_secret, false),
                  percentEncode(std::string(kResource) + ".default", false));
  return TokenEndpoint{[url, body] {
                         net::HttpRequest request;
                         request.method = "POST";
                         request.url = url;
                         request.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
                         request.body = body;
                         request.idempotent = true; // asking for a token twice is harmless
                         return request;
                       },
                       "client secret"};
}

struct TokenCache::State {
  net::HttpClient* http = nullptr;
  TokenEndpoint endpoint;
  std::mutex mutex;
  std::string token;
  Clock::time_point obtained;
  Clock::time_point expires;
  bool fetching = false;
  std::vector<Done> waiting;
};

TokenCache::TokenCache(net::HttpClient& http, TokenEndpoint endpoint)
    : state_(std::make_shared<State>()) {
  state_->http = &http;
  state_->endpoint = std::move(endpoint);
}

void TokenCache::token(Done done) {
  // Without a valid token the call waits for the fetch; with one it goes on at once.
  Done now_or_never;
  std::string current;
  bool refresh = false;
  {
    std::lock_guard lock(state_->mutex);
    const Clock::time_point now = Clock::now();
    if (!state_->token.empty() && now < state_->expires) {
      const auto margin =
          std::min<Clock::duration>(kRefreshMargin, (state_->expires - state_->obtained) / 2);
      refresh = now >= state_->expires - margin && !state_->fetching;
      current = state_->token;
      now_or_never = std::move(done);
    } else {
      state_->waiting.push_back(std::move(done));
      refresh = !state_->fetching;
    }
    if (refresh) state_->fetching = true;
  }
  if (refresh) fetch(state_);
  if (now_or_never) now_or_never(std::move(current));
}

void TokenCache::fetch(const std::shared_ptr<State>& state) {
  const Clock::time_point asked = Clock::now();
  state->http->send(state->endpoint.request(), [state, asked](Result<net::HttpResponse> r) {
    Result<std::string> outcome = fail(ErrorCode::kInternal, "no token");
    if (!r) {
      outcome = fail(r.error().code,
                     fmt::format("Entra token ({}): {}", state->endpoint.what, r.error().message));
    } else {
      const json body = json::parse(r->body, nullptr, false);
      if (r->status / 100 != 2) {
        std::string reason = body.is_object() ? body.value("error_description", "") : "";
        if (reason.empty() && body.is_object()) reason = body.value("error", "");
        outcome = fail(r->status >= 500 || r->status == 429 ? ErrorCode::kUnavailable
                                                            : ErrorCode::kPermissionDenied,
                       fmt::format("Entra token ({}) refused: {} {}", state->endpoint.what,
                                   r->status, reason));
      } else if (!body.is_object() || !body.contains("access_token") ||
                 !body["access_token"].is_string()) {
        outcome = fail(ErrorCode::kUnavailable,
                       fmt::format("Entra token ({}): no access_token", state->endpoint.what));
      } else {
        Clock::time_point expires = asked + std::chrono::hours(1);
        if (const std::int64_t on = seconds(body.value("expires_on", json())); on > 0) {
          expires = Clock::time_point(std::chrono::seconds(on));
        } else if (const std::int64_t in = seconds(body.value("expires_in", json())); in > 0) {
          expires = asked + std::chrono::seconds(in);
        }
        outcome = body["access_token"].get<std::string>();
        std::lock_guard lock(state->mutex);
        state->token = *outcome;
        state->obtained = asked;
        state->expires = expires;
      }
    }
    std::vector<Done> waiting;
    {
      std::lock_guard lock(state->mutex);
      state->fetching = false;
      waiting.swap(state->waiting);
    }
    for (Done& done : waiting)
      done(outcome);
  });
}

} // namespace exoflow::azure
