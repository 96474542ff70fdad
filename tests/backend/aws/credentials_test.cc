// The AWS credentials chain: the environment, profile files, ECS container credentials and
// IMDSv2 instance-role credentials, the last two served by a local HTTP server that behaves
// like the real endpoints (session tokens, role names, expirations), including the background
// refresh before expiry.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "backend/aws/credentials.h"
#include "support/fake_server.h"

namespace exoflow::aws {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testsupport::FakeConnection;
using testsupport::FakeServer;

EnvLookup envOf(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    const auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

std::string isoTime(SystemClock::time_point t) {
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}Z",
                     std::chrono::time_point_cast<std::chrono::seconds>(t));
}

bool respond(FakeConnection& c, int status, const std::string& body) {
  return c.write(
      fmt::format("HTTP/1.1 {} X\r\nContent-Length: {}\r\n\r\n{}", status, body.size(), body));
}

std::string header(const testsupport::FakeRequest& r, const std::string& name) {
  std::string head = r.head;
  std::string lower = head;
  for (char& c : lower)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const std::size_t at = lower.find("\r\n" + name + ":");
  if (at == std::string::npos) return "";
  const std::size_t start = head.find_first_not_of(' ', at + 3 + name.size());
  return head.substr(start, head.find("\r\n", start) - start);
}

class TempFolder {
public:
  TempFolder() {
    std::string pattern = (fs::temp_directory_path() / "exo-aws-creds-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempFolder() { fs::remove_all(path_); }
  TempFolder(const TempFolder&) = delete;
  TempFolder& operator=(const TempFolder&) = delete;
  fs::path write(const std::string& name, const std::string& text) const {
    std::ofstream(path_ / name) << text;
    return path_ / name;
  }

private:
  fs::path path_;
};

// ---- environment and profiles ---------------------------------------------------------------

TEST(Credentials, EnvironmentKeysWithAndWithoutAToken) {
  auto source = environmentSource(envOf({{"AWS_ACCESS_KEY_ID", "AKID"},
                                         {"AWS_SECRET_ACCESS_KEY", "secret"},
                                         {"AWS_SESSION_TOKEN", "token"}}));
  auto c = source->fetch();
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->credentials.access_key_id, "AKID");
  EXPECT_EQ(c->credentials.secret_access_key, "secret");
  EXPECT_EQ(c->credentials.session_token, "token");
  EXPECT_FALSE(c->expiration);

  EXPECT_EQ(environmentSource(envOf({}))->fetch().error().code, ErrorCode::kNotFound);
  const auto half = environmentSource(envOf({{"AWS_ACCESS_KEY_ID", "AKID"}}))->fetch();
  ASSERT_FALSE(half);
  EXPECT_EQ(half.error().code, ErrorCode::kUnauthenticated);
  EXPECT_NE(half.error().message.find("AWS_SECRET_ACCESS_KEY"), std::string::npos);
}

TEST(Credentials, ProfilesFromTheCredentialsAndConfigFiles) {
  TempFolder dir;
  const auto credentials = dir.write("credentials", "# comment\n"
                                                    "[default]\n"
                                                    "aws_access_key_id = AKIDDEFAULT\n"
                                                    "aws_secret_access_key=secret-default\n"
                                                    "\n[shared]\n"
                                                    "aws_access_key_id = AKIDFILE\n"
                                                    "aws_secret_access_key = from-file\n");
  const auto config = dir.write("config", "[default]\nregion = eu-west-1\n"
                                          "[profile work]\n"
                                          "aws_access_key_id = AKIDWORK\n"
                                          "aws_secret_access_key = secret-work\n"
                                          "aws_session_token = tok\n"
                                          "[profile shared]\n"
                                          "aws_access_key_id = AKIDCONFIG\n"
                                          "aws_secret_access_key = from-config\n"
                                          "[profile assume]\nrole_arn = arn:aws:iam::1:role/x\n");
  const std::map<std::string, std::string> files = {
      {"AWS_SHARED_CREDENTIALS_FILE", credentials.string()}, {"AWS_CONFIG_FILE", config.string()}};
  const auto with = [&files](std::map<std::string, std::string> more) {
    more.insert(files.begin(), files.end());
    return envOf(more);
  };

  auto c = profileSource(with({}))->fetch();
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->credentials.access_key_id, "AKIDDEFAULT");
  EXPECT_EQ(c->source, "profile default");

  c = profileSource(with({{"AWS_PROFILE", "work"}}))->fetch();
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->credentials.access_key_id, "AKIDWORK");
  EXPECT_EQ(c->credentials.session_token, "tok");

  c = profileSource(with({}), "shared")->fetch();
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->credentials.secret_access_key, "from-file") << "the credentials file wins";

  c = profileSource(with({{"AWS_PROFILE", "nope"}}))->fetch();
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, ErrorCode::kUnauthenticated);
  EXPECT_NE(c.error().message.find("'nope'"), std::string::npos) << c.error().message;

  c = profileSource(with({}), "assume")->fetch();
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("role_arn"), std::string::npos) << c.error().message;

  c = profileSource(envOf({{"HOME", "/nonexistent"}}))->fetch();
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, ErrorCode::kNotFound) << "no files: try the next source";
}

TEST(Credentials, ParsesIsoTimes) {
  const auto t = parseIsoTime("2026-11-28T12:34:56Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(SystemClock::to_time_t(*t), 1795869296);
  EXPECT_EQ(parseIsoTime("2026-11-28T12:34:56.789Z"), t);
  EXPECT_EQ(parseIsoTime("2026-11-28T12:34:56+00:00"), t);
  EXPECT_FALSE(parseIsoTime("2026-11-28 12:34:56"));
  EXPECT_FALSE(parseIsoTime("2026-11-28T12:34:56+01:00"));
  EXPECT_FALSE(parseIsoTime("soon"));
}

// ---- IMDSv2 ---------------------------------------------------------------------------------

/// An IMDSv2 endpoint: tokens by PUT, role name and credentials only with a valid token; each
/// credentials fetch hands out a new key id (AKID1, AKID2...) valid for `lifetime`.
class FakeImds {
public:
  explicit FakeImds(std::chrono::seconds lifetime)
      : lifetime_(lifetime), server_([this](FakeConnection& c, int) { serve(c); }) {}

  std::string endpoint() const { return server_.endpoint(); }
  int credentialFetches() const { return fetches_.load(); }
  int refusedWithoutToken() const { return refused_.load(); }

private:
  void serve(FakeConnection& c) {
    auto r = c.readRequest();
    if (!r) return;
    if (r->method == "PUT" && r->target == "/latest/api/token") {
      if (header(*r, "x-aws-ec2-metadata-token-ttl-seconds").empty()) {
        respond(c, 400, "missing ttl");
        return;
      }
      respond(c, 200, "session-token-1");
      return;
    }
    if (header(*r, "x-aws-ec2-metadata-token") != "session-token-1") {
      ++refused_;
      respond(c, 401, "");
      return;
    }
    if (r->target == "/latest/meta-data/iam/security-credentials/") {
      respond(c, 200, "app-role");
    } else if (r->target == "/latest/meta-data/iam/security-credentials/app-role") {
      const int n = ++fetches_;
      respond(c, 200,
              fmt::format(R"({{"Code":"Success","Type":"AWS-HMAC","AccessKeyId":"AKID{}",)"
                          R"("SecretAccessKey":"secret{}","Token":"token{}","Expiration":"{}"}})",
                          n, n, n, isoTime(SystemClock::now() + lifetime_)));
    } else {
      respond(c, 404, "");
    }
  }

  std::chrono::seconds lifetime_;
  std::atomic<int> fetches_{0};
  std::atomic<int> refused_{0};
  FakeServer server_;
};

TEST(Credentials, InstanceRoleThroughImdsV2) {
  FakeImds imds(6h);
  auto source = imdsSource(envOf({{"AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.endpoint()}}), 2s);
  auto c = source->fetch();
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->credentials.access_key_id, "AKID1");
  EXPECT_EQ(c->credentials.session_token, "token1");
  EXPECT_EQ(c->source, "instance role app-role");
  ASSERT_TRUE(c->expiration);
  EXPECT_GT(*c->expiration, SystemClock::now() + 5h);
  EXPECT_EQ(imds.refusedWithoutToken(), 0) << "every metadata read carries the session token";
}

TEST(Credentials, TemporaryCredentialsAreRefreshedInTheBackgroundBeforeTheyExpire) {
  // Valid for 10 minutes and 2 seconds; refreshed 10 minutes ahead, so 2 seconds from now.
  FakeImds imds(std::chrono::seconds(602));
  std::vector<std::unique_ptr<CredentialsSource>> chain;
  chain.push_back(imdsSource(envOf({{"AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.endpoint()}}), 2s));
  CredentialsProvider provider(std::move(chain));
  auto first = provider.get();
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->credentials.access_key_id, "AKID1");

  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (provider.refreshes() < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_GE(provider.refreshes(), 2) << "no refresh before expiry";
  const int fetches = imds.credentialFetches();
  auto second = provider.get();
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_NE(second->credentials.access_key_id, "AKID1");
  EXPECT_EQ(imds.credentialFetches(), fetches) << "get() used what the refresher fetched";
}

TEST(Credentials, ExpiredCredentialsAreFetchedAgainOnUse) {
  // Already inside the expiry margin when handed out: every get() must fetch anew.
  FakeImds imds(30s);
  std::vector<std::unique_ptr<CredentialsSource>> chain;
  chain.push_back(imdsSource(envOf({{"AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.endpoint()}}), 2s));
  CredentialsProvider provider(std::move(chain));
  auto first = provider.get();
  ASSERT_TRUE(first);
  auto second = provider.get();
  ASSERT_TRUE(second);
  EXPECT_NE(first->credentials.access_key_id, second->credentials.access_key_id);
}

TEST(Credentials, AnUnreachableImdsFallsThroughAndTheErrorSaysWhereItLooked) {
  const std::string nowhere = "http://127.0.0.1:" + std::to_string(testsupport::unusedPort());
  auto env = envOf({{"AWS_EC2_METADATA_SERVICE_ENDPOINT", nowhere}, {"HOME", "/nonexistent"}});
  CredentialsProvider none(defaultChain(env, 500ms));
  auto c = none.get();
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, ErrorCode::kUnauthenticated);
  EXPECT_NE(c.error().message.find("environment, profile, container, instance role"),
            std::string::npos)
      << c.error().message;

  auto with_keys = envOf({{"AWS_EC2_METADATA_SERVICE_ENDPOINT", nowhere},
                          {"HOME", "/nonexistent"},
                          {"AWS_ACCESS_KEY_ID", "AKIDENV"},
                          {"AWS_SECRET_ACCESS_KEY", "s"}});
  CredentialsProvider env_first(defaultChain(with_keys, 500ms));
  auto keys = env_first.get();
  ASSERT_TRUE(keys) << keys.error().message;
  EXPECT_EQ(keys->credentials.access_key_id, "AKIDENV");

  EXPECT_EQ(imdsSource(envOf({{"AWS_EC2_METADATA_DISABLED", "true"}}), 500ms)->fetch().error().code,
            ErrorCode::kNotFound);
}

// ---- ECS container credentials -----------------------------------------------------------

TEST(Credentials, ContainerCredentialsWithAnAuthorizationTokenFile) {
  std::string seen_auth;
  std::string seen_target;
  std::mutex mutex;
  FakeServer ecs([&](FakeConnection& c, int) {
    auto r = c.readRequest();
    if (!r) return;
    {
      const std::lock_guard lock(mutex);
      seen_auth = header(*r, "authorization");
      seen_target = r->target;
    }
    respond(c, 200,
            fmt::format(R"({{"AccessKeyId":"AKIDECS","SecretAccessKey":"s","Token":"t",)"
                        R"("Expiration":"{}"}})",
                        isoTime(SystemClock::now() + 1h)));
  });
  TempFolder dir;
  const auto token_file = dir.write("token", "secret-auth-token\n");
  auto source = containerSource(
      envOf({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", ecs.endpoint() + "/v2/credentials/abc"},
             {"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", token_file.string()}}),
      2s);
  auto c = source->fetch();
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->credentials.access_key_id, "AKIDECS");
  ASSERT_TRUE(c->expiration);
  const std::lock_guard lock(mutex);
  EXPECT_EQ(seen_auth, "secret-auth-token");
  EXPECT_EQ(seen_target, "/v2/credentials/abc");
}

TEST(Credentials, ContainerCredentialsOnlyFromLoopbackOrLinkLocalHosts) {
  auto c = containerSource(envOf({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://10.1.2.3/creds"}}),
                           500ms)
               ->fetch();
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, ErrorCode::kUnauthenticated);
  EXPECT_NE(c.error().message.find("10.1.2.3"), std::string::npos);
  EXPECT_EQ(containerSource(envOf({}), 500ms)->fetch().error().code, ErrorCode::kNotFound);
}

TEST(Credentials, BrokenCredentialsJsonIsAClearError) {
  EXPECT_FALSE(parseCredentialsJson("not json", "x"));
  EXPECT_FALSE(parseCredentialsJson(R"({"AccessKeyId":"A"})", "x"));
  const auto failed = parseCredentialsJson(R"({"Code":"Failure","Message":"no role"})", "imds");
  ASSERT_FALSE(failed);
  EXPECT_NE(failed.error().message.find("no role"), std::string::npos);
  EXPECT_FALSE(parseCredentialsJson(
      R"({"AccessKeyId":"A","SecretAccessKey":"s","Expiration":"tomorrow"})", "x"));
}

} // namespace
} // namespace exoflow::aws
