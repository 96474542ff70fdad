#include "backend/aws/credentials.h"

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "backend/aws/metadata_http.h"

namespace exoflow::aws {
namespace {

namespace fs = std::filesystem;

std::string trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return "";
  const auto last = text.find_last_not_of(" \t\r\n");
  return std::string(text.substr(first, last - first + 1));
}

class StaticSource : public CredentialsSource {
public:
  explicit StaticSource(Credentials credentials) : credentials_(std::move(credentials)) {}
  std::string name() const override { return "config"; }
  Result<TimedCredentials> fetch() override {
    return TimedCredentials{credentials_, std::nullopt, "config"};
  }

private:
  Credentials credentials_;
};

class EnvironmentSource : public CredentialsSource {
public:
  explicit EnvironmentSource(EnvLookup env) : env_(std::move(env)) {}
  std::string name() const override { return "environment"; }
  Result<TimedCredentials> fetch() override {
    const auto id = env_("AWS_ACCESS_KEY_ID");
    const auto secret = env_("AWS_SECRET_ACCESS_KEY");
    if (!id && !secret) return fail(ErrorCode::kNotFound, "AWS_ACCESS_KEY_ID is not set");
    if (!id || !secret || id->empty() || secret->empty()) {
      return fail(ErrorCode::kUnauthenticated,
                  "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together");
    }
    return TimedCredentials{Credentials{*id, *secret, env_("AWS_SESSION_TOKEN").value_or("")},
                            std::nullopt, "environment"};
  }

private:
  EnvLookup env_;
};

/// `[section]` -> key -> value, from an INI file as the AWS CLI writes them.
using Ini = std::map<std::string, std::map<std::string, std::string>>;

std::optional<Ini> readIni(const fs::path& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  Ini ini;
  std::string section;
  for (std::string line; std::getline(in, line);) {
    const std::string text = trim(line);
    if (text.empty() || text[0] == '#' || text[0] == ';') continue;
    if (text.front() == '[' && text.back() == ']') {
      section = trim(std::string_view(text).substr(1, text.size() - 2));
      ini[section];
      continue;
    }
    const std::size_t eq = text.find('=');
    if (eq == std::string::npos || section.empty()) continue;
    ini[section][trim(std::string_view(text).substr(0, eq))] =
        trim(std::string_view(text).substr(eq + 1));
  }
  return ini;
}

class ProfileSource : public CredentialsSource {
public:
  ProfileSource(EnvLookup env, std::string profile)
      : env_(std::move(env)), profile_(std::move(profile)) {}
  std::string name() const override { return "profile"; }

  Result<TimedCredentials> fetch() override {
    const auto env_profile = env_("AWS_PROFILE");
    const bool explicit_profile = !profile_.empty() || (env_profile && !env_profile->empty());
    const std::string profile = !profile_.empty()                  ? profile_
                                : env_profile.value_or("").empty() ? "default"
                                                                   : *env_profile;
    const std::string home = env_("HOME").value_or("");
    const fs::path credentials_file =
        env_("AWS_SHARED_CREDENTIALS_FILE").value_or(home + "/.aws/credentials");
    const fs::path config_file = env_("AWS_CONFIG_FILE").value_or(home + "/.aws/config");

    std::map<std::string, std::string> keys;
    std::string where;
    if (auto config = readIni(config_file)) {
      const std::string section = profile == "default" ? "default" : "profile " + profile;
      if (auto it = config->find(section); it != config->end()) {
        keys = it->second;
        where = config_file.string();
      }
    }
    if (auto credentials = readIni(credentials_file)) {
      if (auto it = credentials->find(profile); it != credentials->end()) {
        for (const auto& [k, v] : it->second)
          keys[k] = v; // the credentials file wins, as in the AWS CLI
        where = credentials_file.string();
      }
    }
    if (where.empty()) {
      if (explicit_profile) {
        return fail(ErrorCode::kUnauthenticated,
                    fmt::format("AWS profile '{}' is in neither {} nor {}", profile,
                                credentials_file.string(), config_file.string()));
      }
      return fail(ErrorCode::kNotFound, "no default profile");
    }
    const std::string id = keys["aws_access_key_id"];
    const std::string secret = keys["aws_secret_access_key"];
    if (id.empty() || secret.empty()) {
      for (const char* other : {"role_arn", "credential_process", "sso_session", "sso_start_url",
                                "web_identity_token_file"}) {
        if (keys.contains(other)) {
          return fail(ErrorCode::kUnauthenticated,
                      fmt::format("AWS profile '{}' ({}) uses {}, which exo-proxy does not "
                                  "support; give the profile static keys, or use the "
                                  "environment or an instance role",
                                  profile, where, other));
        }
      }
      return fail(ErrorCode::kUnauthenticated,
                  fmt::format("AWS profile '{}' ({}) has no aws_access_key_id and "
                              "aws_secret_access_key",
                              profile, where));
    }
    return TimedCredentials{Credentials{id, secret, keys["aws_session_token"]}, std::nullopt,
                            "profile " + profile};
  }

private:
  EnvLookup env_;
  std::string profile_;
};

bool allowedContainerHost(const std::string& host) {
  return host.starts_with("127.") || host == "::1" || host == "localhost" ||
         host == "169.254.170.2" || host == "169.254.170.23" || host == "fd00:ec2::23";
}

class ContainerSource : public CredentialsSource {
public:
  ContainerSource(EnvLookup env, std::chrono::milliseconds timeout)
      : env_(std::move(env)), timeout_(timeout) {}
  std::string name() const override { return "container"; }

  Result<TimedCredentials> fetch() override {
    std::string url;
    if (auto relative = env_("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"); relative) {
      url = "http://169.254.170.2" + *relative;
    } else if (auto full = env_("AWS_CONTAINER_CREDENTIALS_FULL_URI"); full) {
      url = *full;
    } else {
      return fail(ErrorCode::kNotFound, "not in a container with a task role");
    }
    auto parsed = parseHttpUrl(url);
    if (!parsed)
      return fail(ErrorCode::kUnauthenticated, "container credentials: " + parsed.error().message);
    if (!allowedContainerHost(parsed->host)) {
      return fail(ErrorCode::kUnauthenticated,
                  fmt::format("container credentials: {} is not a loopback or ECS/EKS "
                              "link-local address",
                              parsed->host));
    }
    std::vector<std::pair<std::string, std::string>> headers;
    std::string token = env_("AWS_CONTAINER_AUTHORIZATION_TOKEN").value_or("");
    if (auto file = env_("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"); file && token.empty()) {
      std::ifstream in(*file);
      if (!in) {
        return fail(ErrorCode::kUnauthenticated,
                    fmt::format("container credentials: cannot read the token file {}", *file));
      }
      std::stringstream text;
      text << in.rdbuf();
      token = trim(text.str());
    }
    if (!token.empty()) headers.emplace_back("Authorization", token);
    auto response = metadataRequest(*parsed, "GET", headers, timeout_);
    if (!response)
      return fail(ErrorCode::kUnavailable, "container credentials: " + response.error().message);
    if (response->status != 200) {
      return fail(ErrorCode::kUnauthenticated,
                  fmt::format("container credentials: {} answered {}", url, response->status));
    }
    return parseCredentialsJson(response->body, "container");
  }

private:
  EnvLookup env_;
  std::chrono::milliseconds timeout_;
};

class ImdsSource : public CredentialsSource {
public:
  ImdsSource(EnvLookup env, std::chrono::milliseconds timeout)
      : env_(std::move(env)), timeout_(timeout) {}
  std::string name() const override { return "instance role (IMDSv2)"; }

  Result<TimedCredentials> fetch() override {
    if (env_("AWS_EC2_METADATA_DISABLED").value_or("") == "true") {
      return fail(ErrorCode::kNotFound, "IMDS is disabled");
    }
    std::string endpoint =
        env_("AWS_EC2_METADATA_SERVICE_ENDPOINT").value_or("http://169.254.169.254");
    while (endpoint.ends_with('/'))
      endpoint.pop_back();
    auto base = parseHttpUrl(endpoint + "/latest/api/token");
    if (!base) return fail(ErrorCode::kUnauthenticated, "IMDS endpoint: " + base.error().message);
    auto token = metadataRequest(*base, "PUT", {{"X-aws-ec2-metadata-token-ttl-seconds", "21600"}},
                                 timeout_);
    // Unreachable: not on EC2, or the hop limit keeps us out. The next source may have keys.
    if (!token) return fail(ErrorCode::kNotFound, "IMDS: " + token.error().message);
    if (token->status != 200) {
      return fail(ErrorCode::kUnauthenticated,
                  fmt::format("IMDS refused a session token ({})", token->status));
    }
    const std::vector<std::pair<std::string, std::string>> auth = {
        {"X-aws-ec2-metadata-token", trim(token->body)}};
    HttpUrl url = *base;
    url.target = "/latest/meta-data/iam/security-credentials/";
    auto role = metadataRequest(url, "GET", auth, timeout_);
    if (!role) return fail(ErrorCode::kUnavailable, "IMDS: " + role.error().message);
    if (role->status == 404) {
      return fail(ErrorCode::kNotFound, "this instance has no instance profile");
    }
    const std::string name = trim(role->body.substr(0, role->body.find('\n')));
    if (role->status != 200 || name.empty()) {
      return fail(ErrorCode::kUnauthenticated,
                  fmt::format("IMDS: no role name ({})", role->status));
    }
    url.target += name;
    auto credentials = metadataRequest(url, "GET", auth, timeout_);
    if (!credentials) return fail(ErrorCode::kUnavailable, "IMDS: " + credentials.error().message);
    if (credentials->status != 200) {
      return fail(
          ErrorCode::kUnauthenticated,
          fmt::format("IMDS: credentials of role {} answered {}", name, credentials->status));
    }
    return parseCredentialsJson(credentials->body, "instance role " + name);
  }

private:
  EnvLookup env_;
  std::chrono::milliseconds timeout_;
};

} // namespace

EnvLookup processEnvironment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str()); // NOLINT(concurrency-mt-unsafe)
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

std::unique_ptr<CredentialsSource> staticSource(Credentials credentials) {
  return std::make_unique<StaticSource>(std::move(credentials));
}
std::unique_ptr<CredentialsSource> environmentSource(EnvLookup env) {
  return std::make_unique<EnvironmentSource>(std::move(env));
}
std::unique_ptr<CredentialsSource> profileSource(EnvLookup env, std::string profile) {
  return std::make_unique<ProfileSource>(std::move(env), std::move(profile));
}
std::unique_ptr<CredentialsSource> containerSource(EnvLookup env,
                                                   std::chrono::milliseconds timeout) {
  return std::make_unique<ContainerSource>(std::move(env), timeout);
}
std::unique_ptr<CredentialsSource> imdsSource(EnvLookup env, std::chrono::milliseconds timeout) {
  return std::make_unique<ImdsSource>(std::move(env), timeout);
}

std::vector<std::unique_ptr<CredentialsSource>> defaultChain(EnvLookup env,
                                                             std::chrono::milliseconds timeout) {
  std::vector<std::unique_ptr<CredentialsSource>> chain;
  chain.push_back(environmentSource(env));
  chain.push_back(profileSource(env));
  chain.push_back(containerSource(env, timeout));
  chain.push_back(imdsSource(env, timeout));
  return chain;
}

std::optional<SystemClock::time_point> parseIsoTime(std::string_view text) {
  std::tm tm{};
  int consumed = 0;
  const std::string s(text);
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) != 6 ||
      consumed != 19) {
    return std::nullopt;
  }
  std::string_view rest = std::string_view(s).substr(19);
  if (rest.starts_with('.')) {
    rest.remove_prefix(1);
    while (!rest.empty() && rest.front() >= '0' && rest.front() <= '9')
      rest.remove_prefix(1);
  }
  if (rest != "Z" && rest != "+00:00") return std::nullopt;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  const std::time_t t = ::timegm(&tm);
  if (t == -1) return std::nullopt;
  return SystemClock::from_time_t(t);
}

Result<TimedCredentials> parseCredentialsJson(std::string_view json, const std::string& source) {
  const auto doc = nlohmann::json::parse(json, nullptr, false);
  if (!doc.is_object()) {
    return fail(ErrorCode::kUnauthenticated, source + ": the credentials are not JSON");
  }
  if (doc.contains("Code") && doc["Code"] != "Success") {
    return fail(ErrorCode::kUnauthenticated,
                fmt::format("{}: {}", source, doc.value("Message", doc["Code"].dump())));
  }
  const auto text = [&doc](const char* key) {
    const auto it = doc.find(key);
    return it != doc.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  TimedCredentials out{Credentials{text("AccessKeyId"), text("SecretAccessKey"), text("Token")},
                       std::nullopt, source};
  if (out.credentials.access_key_id.empty() || out.credentials.secret_access_key.empty()) {
    return fail(ErrorCode::kUnauthenticated, source + ": no AccessKeyId or SecretAccessKey");
  }
  if (const std::string expiration = text("Expiration"); !expiration.empty()) {
    out.expiration = parseIsoTime(expiration);
    if (!out.expiration) {
      return fail(ErrorCode::kUnauthenticated,
                  fmt::format("{}: unreadable Expiration '{}'", source, expiration));
    }
  }
  return out;
}

CredentialsProvider::CredentialsProvider(std::vector<std::unique_ptr<CredentialsSource>> chain,
                                         Options options)
    : chain_(std::move(chain)), options_(std::move(options)),
      refresher_([this] { refreshLoop(); }) {}

CredentialsProvider::~CredentialsProvider() {
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  refresher_.join();
}

bool CredentialsProvider::valid(const TimedCredentials& c) const {
  return !c.expiration || options_.now() + options_.expiry_margin < *c.expiration;
}

int CredentialsProvider::refreshes() const {
  const std::lock_guard lock(mutex_);
  return refreshes_;
}

Result<TimedCredentials> CredentialsProvider::fetchChain() {
  std::vector<std::string> tried;
  for (auto& source : chain_) {
    auto result = source->fetch();
    if (result) return result;
    if (result.error().code != ErrorCode::kNotFound) return result;
    tried.push_back(source->name());
  }
  std::string list;
  for (const auto& name : tried)
    list += (list.empty() ? "" : ", ") + name;
  return fail(ErrorCode::kUnauthenticated,
              fmt::format("no AWS credentials found (looked in: {})", list));
}

Result<TimedCredentials> CredentialsProvider::get() {
  {
    const std::lock_guard lock(mutex_);
    if (current_ && valid(*current_)) return *current_;
  }
  const std::lock_guard fetching(fetch_mutex_);
  {
    const std::lock_guard lock(mutex_);
    if (current_ && valid(*current_)) return *current_; // fetched while we waited
  }
  {
    const std::lock_guard lock(mutex_);
    if (last_failure_ && options_.now() - last_failure_->first < std::chrono::seconds(2)) {
      return tl::unexpected(last_failure_->second);
    }
  }
  auto fetched = fetchChain();
  if (!fetched) {
    const std::lock_guard lock(mutex_);
    last_failure_.emplace(options_.now(), fetched.error());
    return fetched;
  }
  {
    const std::lock_guard lock(mutex_);
    current_ = *fetched;
    last_failure_.reset();
    ++refreshes_;
  }
  wake_.notify_all();
  return fetched;
}

void CredentialsProvider::refreshLoop() {
  std::chrono::seconds backoff(1);
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    if (!current_ || !current_->expiration) {
      wake_.wait(lock);
      continue;
    }
    const auto due = *current_->expiration - options_.refresh_ahead;
    if (options_.now() < due) {
      wake_.wait_for(lock, due - options_.now());
      continue;
    }
    const auto expiration = current_->expiration;
    lock.unlock();
    std::optional<Result<TimedCredentials>> fetched;
    {
      const std::lock_guard fetching(fetch_mutex_);
      fetched = fetchChain();
    }
    lock.lock();
    if (*fetched && (*fetched)->expiration != expiration) {
      current_ = **fetched;
      ++refreshes_;
      backoff = std::chrono::seconds(1);
      continue;
    }
    // Failed, or the source still hands out the same credentials: try again a little later,
    // while the ones we have are still good.
    wake_.wait_for(lock, backoff);
    backoff = std::min(backoff * 2, std::chrono::seconds(60));
  }
}

} // namespace exoflow::aws
