// Microsoft Entra tokens for Azure Storage, against an IMDS and a token authority served
// locally (tests/support/fake_server.*): the token goes out as a bearer token, is cached, and
// is refreshed before it expires while calls go on with the current one; a client secret is
// sent as the client credentials grant; a refusal fails the call as PermissionDenied without
// reaching storage.
#include <chrono>
#include <ctime>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "backend/azure/storage_api.h"
#include "support/fake_server.h"

namespace exoflow::azure {
namespace {

using testsupport::FakeConnection;
using testsupport::FakeRequest;
using testsupport::FakeServer;
using namespace std::chrono_literals;

/// A header's value from a request's head (name compared without case), or "".
std::string header(const FakeRequest& r, std::string name) {
  std::string head = r.head;
  for (char& c : head)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (char& c : name)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const std::size_t at = head.find("\r\n" + name + ":");
  if (at == std::string::npos) return "";
  std::size_t start = at + 3 + name.size();
  const std::size_t end = r.head.find("\r\n", start);
  while (start < end && r.head[start] == ' ')
    ++start;
  return r.head.substr(start, end - start);
}

/// A storage account that answers every call and remembers the Authorization headers.
class FakeStorage {
public:
  FakeStorage()
      : server_([this](FakeConnection& c, int) {
          while (auto r = c.readRequest()) {
            {
              std::lock_guard lock(mutex_);
              seen_.push_back(header(*r, "authorization"));
            }
            c.respondJson("{}");
          }
        }) {}

  std::vector<std::string> seen() {
    std::lock_guard lock(mutex_);
    return seen_;
  }
  std::string endpoint() const { return server_.endpoint() + "/devstoreaccount1"; }

private:
  std::mutex mutex_;
  std::vector<std::string> seen_;
  FakeServer server_;
};

Result<net::HttpResponse> callStorage(net::HttpClient& http, const Credentials& credentials,
                                      const FakeStorage& storage) {
  StorageApi api(http, credentials,
                 Endpoint{storage.endpoint(), "devstoreaccount1", StorageService::kQueue});
  return api.sendAndWait(Call{"GET", "/orders", {{"comp", "metadata"}}, {}, "", true});
}

TEST(EntraTest, AManagedIdentityTokenIsCachedAndRefreshedBeforeItExpires) {
  std::mutex mutex;
  int issued = 0;
  std::string bad_request;
  FakeServer imds([&](FakeConnection& c, int) {
    while (auto r = c.readRequest()) {
      int n = 0;
      {
        std::lock_guard lock(mutex);
        n = ++issued;
        if (header(*r, "metadata") != "true" ||
            r->target.find("resource=https%3A%2F%2Fstorage.azure.com%2F") == std::string::npos ||
            r->target.find("client_id=my-identity") == std::string::npos ||
            !r->target.starts_with("/metadata/identity/oauth2/token?api-version=2018-02-01")) {
          bad_request = r->head;
        }
      }
      // IMDS's shape: numbers as strings, expires_on in epoch seconds; 10 s to live.
      const std::time_t expires = std::time(nullptr) + 10;
      c.respondJson(
          fmt::format(R"({{"access_token":"token-{}","expires_in":"10","expires_on":"{}",)"
                      R"("resource":"https://storage.azure.com/","token_type":"Bearer"}})",
                      n, expires));
    }
  });
  FakeStorage storage;
  net::HttpClient http;
  const std::string host = imds.endpoint();
  auto credentials = Credentials::create(
      "managed_identity", {{"client_id", "my-identity"}}, &http, [&](const std::string& name) {
        return name == "AZURE_POD_IDENTITY_AUTHORITY_HOST" ? host : std::string();
      });
  ASSERT_TRUE(credentials) << credentials.error().message;

  ASSERT_TRUE(callStorage(http, **credentials, storage));
  ASSERT_TRUE(callStorage(http, **credentials, storage));
  EXPECT_EQ(storage.seen(), (std::vector<std::string>{"Bearer token-1", "Bearer token-1"}));
  {
    std::lock_guard lock(mutex);
    EXPECT_EQ(issued, 1) << "a valid token was fetched again";
    EXPECT_EQ(bad_request, "") << "not the IMDS token request";
  }

  // Within the refresh margin (half of a short lifetime: 4.5 to 5 s here) but still valid (for
  // 3 s or more): the call goes on with the current token and a refresh starts behind it.
  std::this_thread::sleep_for(6s);
  ASSERT_TRUE(callStorage(http, **credentials, storage));
  EXPECT_EQ(storage.seen().back(), "Bearer token-1") << ::testing::PrintToString(storage.seen());
  // The authority counts a token before the client has read and stored it: wait for the calls
  // to carry the new one.
  for (int i = 0; i < 100 && storage.seen().back() != "Bearer token-2"; ++i) {
    std::this_thread::sleep_for(50ms);
    ASSERT_TRUE(callStorage(http, **credentials, storage));
  }
  EXPECT_EQ(storage.seen().back(), "Bearer token-2") << "the token was not refreshed";
  std::lock_guard lock(mutex);
  EXPECT_EQ(issued, 2);
}

TEST(EntraTest, AClientSecretIsSentAsTheClientCredentialsGrant) {
  std::mutex mutex;
  FakeRequest asked;
  FakeServer authority([&](FakeConnection& c, int) {
    while (auto r = c.readRequest()) {
      {
        std::lock_guard lock(mutex);
        asked = *r;
      }
      c.respondJson(R"({"token_type":"Bearer","expires_in":3599,"access_token":"cs-token"})");
    }
  });
  FakeStorage storage;
  net::HttpClient http;
  const std::string host = authority.endpoint();
  auto credentials = Credentials::create(
      "client_secret", {{"tenant_id", "tenant-1"}, {"client_id", "app"}, {"client_secret", "s3/t"}},
      &http, [&](const std::string& name) { return name == "AZURE_AUTHORITY_HOST" ? host : ""; });
  ASSERT_TRUE(credentials) << credentials.error().message;
  ASSERT_TRUE(callStorage(http, **credentials, storage));
  EXPECT_EQ(storage.seen(), (std::vector<std::string>{"Bearer cs-token"}));
  std::lock_guard lock(mutex);
  EXPECT_EQ(asked.method, "POST");
  EXPECT_EQ(asked.target, "/tenant-1/oauth2/v2.0/token");
  EXPECT_EQ(header(asked, "content-type"), "application/x-www-form-urlencoded");
  EXPECT_EQ(asked.body, "grant_type=client_credentials&client_id=app&client_secret=s3%2Ft&"
                        "scope=https%3A%2F%2Fstorage.azure.com%2F.default");
}

TEST(EntraTest, ARefusedTokenFailsTheCallWithoutReachingStorage) {
  FakeServer authority([&](FakeConnection& c, int) {
    while (auto r = c.readRequest()) {
      c.respondJson(R"({"error":"invalid_client","error_description":"AADSTS7000215: Invalid )"
                    R"(client secret provided."})",
                    401);
    }
  });
  FakeStorage storage;
  net::HttpClient http;
  const std::string host = authority.endpoint();
  auto credentials = Credentials::create(
      "client_secret", {{"tenant_id", "t"}, {"client_id", "app"}, {"client_secret", "wrong"}},
      &http, [&](const std::string& name) { return name == "AZURE_AUTHORITY_HOST" ? host : ""; });
  ASSERT_TRUE(credentials);
  Result<net::HttpResponse> r = callStorage(http, **credentials, storage);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kPermissionDenied) << r.error().message;
  EXPECT_NE(r.error().message.find("AADSTS7000215"), std::string::npos) << r.error().message;
  EXPECT_TRUE(storage.seen().empty());
  EXPECT_FALSE(Credentials::create("client_secret", {{"tenant_id", "t"}}, &http))
      << "client_secret without its keys";
}

TEST(EntraTest, AnUnreachableIdentityEndpointIsUnavailable) {
  FakeStorage storage;
  net::HttpClientOptions options;
  options.retry.max_attempts = 1;
  net::HttpClient http(options);
  const std::string host = "http://127.0.0.1:" + std::to_string(testsupport::unusedPort());
  auto credentials = Credentials::create("managed_identity", {}, &http,
                                         [&](const std::string&) { return std::string(host); });
  ASSERT_TRUE(credentials);
  Result<net::HttpResponse> r = callStorage(http, **credentials, storage);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable) << r.error().message;
}

} // namespace
} // namespace exoflow::azure
