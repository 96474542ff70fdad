// Shared Key against strings to sign worked out by hand from Microsoft's documented
// canonicalization rules (Blob/Queue: twelve standard header lines, the x-ms- headers, the
// resource with every query parameter; Table: Content-MD5, Content-Type, date and the resource
// with `comp` only), HMAC values computed independently (openssl dgst), and Azurite accepting
// what StorageApi signs for all three services while refusing a wrong key.
#include <chrono>
#include <random>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "backend/azure/shared_key.h"
#include "backend/azure/storage_api.h"
#include "support/azurite_server.h"
#include "support/emulators.h"

namespace exoflow::azure {
namespace {

using testsupport::AzuriteServer;
constexpr const char* kDate = "Sun, 06 Dec 2026 10:00:00 GMT";

testsupport::AzuriteServer& azurite() {
  static AzuriteServer server;
  return server;
}

SignableRequest queuePut() {
  SignableRequest r;
  r.method = "POST";
  r.path = "/devstoreaccount1/orders/messages";
  r.query = {{"visibilitytimeout", "0"}, {"messagettl", "60"}};
  r.headers = {{"Content-Type", "application/xml"},
               {"Content-Length", "42"},
               {"x-ms-version", "2025-05-05"},
               {"X-MS-Meta-Foo", "  a   b "},
               {"x-ms-date", kDate}};
  return r;
}

TEST(SharedKeyTest, BlobAndQueueStringToSignFollowsTheDocumentedLayout) {
  const std::string expected = "POST\n"
                               "\n"                // Content-Encoding
                               "\n"                // Content-Language
                               "42\n"              // Content-Length
                               "\n"                // Content-MD5
                               "application/xml\n" // Content-Type
                               "\n"                // Date: empty, x-ms-date is signed
                               "\n\n\n\n"          // If-Modified-Since .. If-Unmodified-Since
                               "\n"                // Range
                               "x-ms-date:Sun, 06 Dec 2026 10:00:00 GMT\n"
                               "x-ms-meta-foo:a b\n"
                               "x-ms-version:2025-05-05\n"
                               "/devstoreaccount1/devstoreaccount1/orders/messages\n"
                               "messagettl:60\n"
                               "visibilitytimeout:0";
  EXPECT_EQ(stringToSign("devstoreaccount1", queuePut(), StorageService::kQueue), expected);
  Result<std::string> header = authorization(AzuriteServer::kAccount, AzuriteServer::kAccountKey,
                                             queuePut(), StorageService::kQueue);
  ASSERT_TRUE(header);
  EXPECT_EQ(*header, "SharedKey devstoreaccount1:7N1rUS47VgAqaqAMkd4Glrzh1YzTFMWvYGWtnIxu7l0=");
}

TEST(SharedKeyTest, DocumentedEmulatorExampleWithRepeatedAndMixedCaseParameters) {
  // Microsoft's example for the emulator's path-style URL, plus a parameter given twice, a
  // zero Content-Length (signed as empty) and the conditional and range lines.
  SignableRequest r;
  r.method = "GET";
  r.path = "/myaccount/mycontainer";
  r.query = {{"restype", "container"},
             {"comp", "metadata"},
             {"timeout", "20"},
             {"Include", "b"},
             {"include", "a"}};
  r.headers = {{"x-ms-version", "2009-09-19"}, {"x-ms-date", "Sun, 11 Oct 2009 21:49:13 GMT"},
               {"Content-Length", "0"},        {"If-Match", "\"0x8D\""},
               {"Range", "bytes=0-99"},        {"Date", "ignored when x-ms-date is set"}};
  EXPECT_EQ(stringToSign("myaccount", r, StorageService::kBlob),
            "GET\n\n\n\n\n\n\n\n\"0x8D\"\n\n\nbytes=0-99\n"
            "x-ms-date:Sun, 11 Oct 2009 21:49:13 GMT\n"
            "x-ms-version:2009-09-19\n"
            "/myaccount/myaccount/mycontainer\n"
            "comp:metadata\n"
            "include:a,b\n"
            "restype:container\n"
            "timeout:20");
}

TEST(SharedKeyTest, TableStringToSignIsTheShortFormWithCompOnly) {
  SignableRequest r;
  r.method = "GET";
  r.path = "/devstoreaccount1/Tables";
  r.query = {{"$filter", "TableName eq 'x'"}};
  r.headers = {{"x-ms-date", kDate},
               {"x-ms-version", "2025-05-05"},
               {"Accept", "application/json;odata=nometadata"}};
  EXPECT_EQ(stringToSign("devstoreaccount1", r, StorageService::kTable),
            "GET\n\n\nSun, 06 Dec 2026 10:00:00 GMT\n/devstoreaccount1/devstoreaccount1/Tables");
  Result<std::string> header =
      authorization(AzuriteServer::kAccount, AzuriteServer::kAccountKey, r, StorageService::kTable);
  ASSERT_TRUE(header);
  EXPECT_EQ(*header, "SharedKey devstoreaccount1:JdKnVH0QUQVmWJuQfLzLnzcqPljYN+njK5sxNE+viK4=");

  r.method = "PUT";
  r.path = "/devstoreaccount1/sessions(PartitionKey='p',RowKey='r')";
  r.query = {{"comp", "acl"}, {"timeout", "5"}};
  r.headers.emplace_back("Content-Type", "application/json");
  r.headers.emplace_back("Content-MD5", "abc==");
  EXPECT_EQ(stringToSign("devstoreaccount1", r, StorageService::kTable),
            "PUT\nabc==\napplication/json\nSun, 06 Dec 2026 10:00:00 GMT\n"
            "/devstoreaccount1/devstoreaccount1/sessions(PartitionKey='p',RowKey='r')?comp=acl");
  EXPECT_EQ(stringToSignTableLite("devstoreaccount1", r),
            "Sun, 06 Dec 2026 10:00:00 GMT\n"
            "/devstoreaccount1/devstoreaccount1/sessions(PartitionKey='p',RowKey='r')?comp=acl");
  Result<std::string> lite = authorization(AzuriteServer::kAccount, AzuriteServer::kAccountKey, r,
                                           StorageService::kTable, true);
  ASSERT_TRUE(lite);
  EXPECT_TRUE(lite->starts_with("SharedKeyLite devstoreaccount1:")) << *lite;
}

TEST(SharedKeyTest, RefusesAKeyThatIsNotBase64) {
  EXPECT_FALSE(signature("not base64!", "x"));
  EXPECT_FALSE(Credentials::create("shared_key", {{"account_key", "not base64!"}}));
  EXPECT_FALSE(Credentials::create("mystery", {}));
}

TEST(SharedKeyTest, Base64RoundTripsAndRejectsGarbage) {
  const std::vector<std::string> cases = {"",    "f",    "fo",
                                          "foo", "foob", std::string("\0\xff\x10", 3)};
  for (const std::string& bytes : cases) {
    const std::optional<std::string> back = base64Decode(base64Encode(bytes));
    ASSERT_TRUE(back) << bytes;
    EXPECT_EQ(*back, bytes);
  }
  EXPECT_EQ(base64Encode("foob"), "Zm9vYg==");
  EXPECT_FALSE(base64Decode("Zm9vYg="));
  EXPECT_FALSE(base64Decode("Zm9v*g=="));
}

TEST(SharedKeyTest, DateIsRfc1123InGmt) {
  using namespace std::chrono;
  const system_clock::time_point t = sys_days(year(2026) / December / day(6)) + hours(10);
  EXPECT_EQ(rfc1123Date(t), kDate);
}

TEST(SharedKeyTest, ErrorCodesMapIntoTheApiSet) {
  EXPECT_EQ(mapAzureError("QueueNotFound", 404), ErrorCode::kNotFound);
  EXPECT_EQ(mapAzureError("PopReceiptMismatch", 400), ErrorCode::kNotFound);
  EXPECT_EQ(mapAzureError("ConditionNotMet", 412), ErrorCode::kPreconditionFailed);
  EXPECT_EQ(mapAzureError("UpdateConditionNotSatisfied", 412), ErrorCode::kPreconditionFailed);
  EXPECT_EQ(mapAzureError("EntityAlreadyExists", 409), ErrorCode::kAlreadyExists);
  EXPECT_EQ(mapAzureError("ServerBusy", 503), ErrorCode::kThrottled);
  EXPECT_EQ(mapAzureError("OperationTimedOut", 500), ErrorCode::kUnavailable);
  EXPECT_EQ(mapAzureError("AuthenticationFailed", 403), ErrorCode::kPermissionDenied);
  EXPECT_EQ(mapAzureError("RequestBodyTooLarge", 413), ErrorCode::kPayloadTooLarge);
  EXPECT_EQ(mapAzureError("InvalidQueryParameterValue", 400), ErrorCode::kInvalidArgument);
}

class AzuriteSharedKeyTest : public ::testing::Test {
protected:
  void SetUp() override {
    // A missing Azurite fails the test, as every missing emulator does (support/emulators.h).
    if (!azurite().available()) {
      if (testsupport::missingEmulatorsAllowed()) GTEST_SKIP() << azurite().why();
      FAIL() << azurite().why() << " (set EXOFLOW_ALLOW_MISSING_EMULATORS=1 to skip it)";
    }
    std::random_device random;
    name_ = "sk" + std::to_string(random() % 1000000);
  }

  static std::unique_ptr<Credentials> key(const std::string& account_key) {
    auto credentials = Credentials::create("shared_key", {{"account_key", account_key}});
    EXPECT_TRUE(credentials);
    return credentials ? std::move(*credentials) : nullptr;
  }

  net::HttpClient http_;
  std::string name_;
};

TEST_F(AzuriteSharedKeyTest, AzuriteAcceptsSignedCallsOfEveryServiceAndRefusesAWrongKey) {
  auto good = key(AzuriteServer::kAccountKey);
  // A valid key of the right length that is not the account's.
  auto wrong = key(base64Encode(std::string(64, 'k')));
  ASSERT_TRUE(good && wrong);
  struct Case {
    StorageService service;
    std::string url;
    Call call;
  };
  Call create_queue{"PUT", "/" + name_, {}, {}, "", true};
  Call create_container{"PUT", "/" + name_, {{"restype", "container"}}, {}, "", true};
  Call create_table{
      "POST",
      "/Tables",
      {},
      {{"Content-Type", "application/json"}, {"Accept", "application/json;odata=nometadata"}},
      R"({"TableName":")" + name_ + R"("})",
      false};
  const std::vector<Case> cases = {
      {StorageService::kQueue, azurite().queueEndpoint(), create_queue},
      {StorageService::kBlob, azurite().blobEndpoint(), create_container},
      {StorageService::kTable, azurite().tableEndpoint(), create_table},
  };
  for (const Case& c : cases) {
    StorageApi refused(http_, *wrong, Endpoint{c.url, AzuriteServer::kAccount, c.service});
    Result<net::HttpResponse> no = refused.sendAndWait(c.call);
    ASSERT_FALSE(no) << c.url;
    EXPECT_EQ(no.error().code, ErrorCode::kPermissionDenied) << no.error().message;

    StorageApi api(http_, *good, Endpoint{c.url, AzuriteServer::kAccount, c.service});
    Result<net::HttpResponse> yes = api.sendAndWait(c.call);
    ASSERT_TRUE(yes) << c.url << ": " << yes.error().message;
    EXPECT_EQ(yes->status, 201) << c.url;
    // The same again: Azure's own "already exists" code, mapped.
    Result<net::HttpResponse> again = api.sendAndWait(c.call);
    if (c.service != StorageService::kQueue) { // a queue's repeated create is a 204
      ASSERT_FALSE(again);
      EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists) << again.error().message;
    }
  }
}

TEST_F(AzuriteSharedKeyTest, QueryParametersAndMissingResourcesMap) {
  auto good = key(AzuriteServer::kAccountKey);
  ASSERT_TRUE(good);
  StorageApi api(
      http_, *good,
      Endpoint{azurite().queueEndpoint(), AzuriteServer::kAccount, StorageService::kQueue});
  Result<net::HttpResponse> missing =
      api.sendAndWait(Call{"GET", "/" + name_, {{"comp", "metadata"}}, {}, "", true});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound) << missing.error().message;
  EXPECT_NE(missing.error().message.find("QueueNotFound"), std::string::npos)
      << missing.error().message;
  // Signed query parameters with characters that need encoding.
  Result<net::HttpResponse> listed = api.sendAndWait(
      Call{"GET", "/", {{"comp", "list"}, {"prefix", name_ + " x/y"}}, {}, "", true});
  ASSERT_TRUE(listed) << listed.error().message;
  EXPECT_EQ(listed->status, 200);
}

// A SAS token from Microsoft's own client (an account SAS, signed version pinned to the one the
// backends speak) authorizes calls without Shared Key; a token with a forged signature does not.
TEST_F(AzuriteSharedKeyTest, AnAccountSasFromMicrosoftsClientAuthorizesCalls) {
  std::string out;
  ASSERT_EQ(azurite().client(std::string("account-sas bqt ") + std::string(kApiVersion), &out), 0)
      << out;
  const std::string sas = nlohmann::json::parse(out)["sas"];
  ASSERT_NE(sas.find("sig="), std::string::npos) << sas;
  auto credentials = Credentials::create("sas", {{"sas_token", "?" + sas}});
  ASSERT_TRUE(credentials);
  StorageApi api(
      http_, **credentials,
      Endpoint{azurite().queueEndpoint(), AzuriteServer::kAccount, StorageService::kQueue});
  Result<net::HttpResponse> created = api.sendAndWait(Call{"PUT", "/" + name_, {}, {}, "", true});
  ASSERT_TRUE(created) << created.error().message;
  EXPECT_EQ(created->status, 201);

  std::string forged = sas;
  const std::size_t sig = forged.find("sig=") + 4;
  forged[sig] = forged[sig] == 'A' ? 'B' : 'A';
  auto wrong = Credentials::create("sas", {{"sas_token", forged}});
  ASSERT_TRUE(wrong);
  StorageApi refused(
      http_, **wrong,
      Endpoint{azurite().queueEndpoint(), AzuriteServer::kAccount, StorageService::kQueue});
  Result<net::HttpResponse> no =
      refused.sendAndWait(Call{"GET", "/" + name_, {{"comp", "metadata"}}, {}, "", true});
  ASSERT_FALSE(no);
  EXPECT_EQ(no.error().code, ErrorCode::kPermissionDenied) << no.error().message;
}

} // namespace
} // namespace exoflow::azure
