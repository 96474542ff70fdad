#pragma once
// Where AWS credentials come from, in the order the AWS CLI and SDKs look: the proxy config's
// static keys, the environment, the shared credentials and config files (with profiles), ECS
// container credentials, and EC2 instance-role credentials through IMDSv2. Temporary credentials
// are refreshed by a background thread well before they expire, so a request never waits on a
// metadata endpoint once the first credentials are in.

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "backend/aws/sigv4.h"
#include "common/error.h"

namespace exoflow::aws {

using SystemClock = std::chrono::system_clock;

struct TimedCredentials {
  Credentials credentials;
  std::optional<SystemClock::time_point> expiration; ///< none for long-term keys
  std::string source;                                ///< "environment", "profile default", ...
};

/// One place credentials may come from. fetch() blocks (metadata endpoints: bounded by their
/// timeout). kNotFound means "not configured here, try the next one"; any other error means
/// the source is configured but broken, and stops the chain with that error.
class CredentialsSource {
public:
  virtual ~CredentialsSource() = default;
  virtual std::string name() const = 0;
  virtual Result<TimedCredentials> fetch() = 0;
};

/// Reads one environment variable; tests pass their own.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
EnvLookup processEnvironment();

std::unique_ptr<CredentialsSource> staticSource(Credentials credentials);
/// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN.
std::unique_ptr<CredentialsSource> environmentSource(EnvLookup env);
/// `profile` (empty: $AWS_PROFILE, else "default") from $AWS_SHARED_CREDENTIALS_FILE
/// (~/.aws/credentials) and $AWS_CONFIG_FILE (~/.aws/config, `[profile name]` sections).
std::unique_ptr<CredentialsSource> profileSource(EnvLookup env, std::string profile = "");
/// $AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (on 169.254.170.2) or
/// $AWS_CONTAINER_CREDENTIALS_FULL_URI (loopback or the ECS/EKS link-local addresses), with
/// $AWS_CONTAINER_AUTHORIZATION_TOKEN or the token in $AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE.
std::unique_ptr<CredentialsSource> containerSource(EnvLookup env,
                                                   std::chrono::milliseconds timeout);
/// IMDSv2: a session token (PUT /latest/api/token), the role name, the role's credentials.
/// Endpoint $AWS_EC2_METADATA_SERVICE_ENDPOINT or http://169.254.169.254; off when
/// $AWS_EC2_METADATA_DISABLED is "true".
std::unique_ptr<CredentialsSource> imdsSource(EnvLookup env, std::chrono::milliseconds timeout);

/// The standard chain: environment, profile, container, IMDS.
std::vector<std::unique_ptr<CredentialsSource>> defaultChain(EnvLookup env,
                                                             std::chrono::milliseconds timeout);

/// Caches the first source in the chain that has credentials, and keeps temporary ones fresh:
/// a background thread fetches new ones `refresh_ahead` before expiry (retrying with back-off
/// while the old ones are still valid); get() fetches itself only when it has nothing valid.
class CredentialsProvider {
public:
  struct Options {
    std::chrono::seconds refresh_ahead{std::chrono::minutes(10)};
    std::chrono::seconds expiry_margin{std::chrono::minutes(1)}; ///< treat as expired this early
    std::function<SystemClock::time_point()> now = [] { return SystemClock::now(); };
  };

  CredentialsProvider(std::vector<std::unique_ptr<CredentialsSource>> chain, Options options);
  explicit CredentialsProvider(std::vector<std::unique_ptr<CredentialsSource>> chain)
      : CredentialsProvider(std::move(chain), Options()) {}
  ~CredentialsProvider();
  CredentialsProvider(const CredentialsProvider&) = delete;
  CredentialsProvider& operator=(const CredentialsProvider&) = delete;

  /// Valid credentials, or why there are none (kUnauthenticated when no source has any; the
  /// source's own error when one is configured but failing).
  Result<TimedCredentials> get();
  /// How many fetches succeeded so far (for tests and metrics).
  int refreshes() const;

private:
  Result<TimedCredentials> fetchChain();
  bool valid(const TimedCredentials& c) const;
  void refreshLoop();

  std::vector<std::unique_ptr<CredentialsSource>> chain_;
  Options options_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::optional<TimedCredentials> current_;
  std::size_t source_index_ = 0;
  int refreshes_ = 0;
  bool stopping_ = false;
  /// The last failure of the whole chain: repeated within a few seconds, not refetched, so a
  /// machine without credentials does not wait on the metadata endpoints for every request.
  std::optional<std::pair<SystemClock::time_point, Error>> last_failure_;
  std::mutex fetch_mutex_; ///< one fetch at a time
  std::thread refresher_;
};

/// Parses the credentials JSON of IMDS and ECS ({AccessKeyId, SecretAccessKey, Token,
/// Expiration}); `source` names it in errors.
Result<TimedCredentials> parseCredentialsJson(std::string_view json, const std::string& source);
/// RFC 3339 / ISO 8601 UTC time ("2026-11-28T12:00:00Z", fractions allowed).
std::optional<SystemClock::time_point> parseIsoTime(std::string_view text);

} // namespace exoflow::aws
