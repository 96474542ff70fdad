// exo-proxy with an aws.s3 binding against a moto server started for the suite: what the proxy
// puts, the AWS CLI reads straight from moto (a multipart object too); what the AWS CLI puts,
// the proxy serves, ranges and listings included; a missing bucket stops the start; a paused
// moto and a refused connection answer 503.
#include <chrono>
#include <csignal>
#include <fstream>
#include <memory>
#include <random>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "proxy/cloud_backend_fixture.h"
#include "proxy/proxy_process.h"
#include "support/fake_server.h"
#include "support/moto_server.h"

namespace exoflow::proxy::testing {
namespace {

using nlohmann::json;
using testsupport::awsCli;

testsupport::MotoServer& moto() {
  return sharedMoto();
}

std::string configFor(const std::string& bucket, const std::string& endpoint = moto().endpoint(),
                      const std::string& backend_timeout = "10s") {
  return oneBindingConfig("assets", "objects",
                          "{type: aws.s3, region: us-east-1, bucket: " + bucket +
                              ", endpoint: " + endpoint + ", path_style: true}",
                          backend_timeout);
}

std::string readFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class AwsS3ProxyTest : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_TRUE(moto().available()) << moto().why();
    std::random_device random;
    bucket_ = "proxy-" + std::to_string(random() % 1000000);
    ASSERT_EQ(awsCli(moto().endpoint(), "s3api create-bucket --bucket " + bucket_), 0);
    proxy_ =
        std::make_unique<ProxyProcess>(dir_.path(), configFor(bucket_, moto().endpoint(), "2s"));
    ASSERT_TRUE(proxy_->started()) << proxy_->errors();
  }

  /// `s3api <args>` against this test's bucket; the parsed JSON it printed (null if none).
  json cli(const std::string& args, int* code = nullptr) {
    std::string out;
    const int rc = awsCli(moto().endpoint(), "s3api " + args + " --bucket " + bucket_, &out);
    if (code != nullptr) *code = rc;
    if (out.find_first_not_of(" \n") == std::string::npos) return nullptr;
    return json::parse(out, nullptr, false);
  }

  TempDir dir_;
  std::string bucket_;
  std::unique_ptr<ProxyProcess> proxy_;
};

TEST_F(AwsS3ProxyTest, WhatTheProxyPutsTheAwsCliReads) {
  const HttpResponse put =
      proxy_->call("PUT", "/v1/buckets/assets/objects/docs/r%C3%A9sum%C3%A9%20v1.txt",
                   "hello from exo", {{"Content-Type", "text/plain"}, {"x-exo-meta-owner", "ada"}});
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(put.header("x-exo-backend"), "aws.s3:us-east-1");

  int code = 0;
  const std::filesystem::path out = dir_.path() / "got.txt";
  const json got = cli("get-object --key 'docs/résumé v1.txt' '" + out.string() + "'", &code);
  ASSERT_EQ(code, 0);
  EXPECT_EQ(readFile(out), "hello from exo");
  EXPECT_EQ(got["ContentType"], "text/plain");
  EXPECT_EQ(got["Metadata"]["owner"], "ada");
  EXPECT_EQ(got["ETag"], json::parse(put.body)["etag"]);
}

// 20 MiB: past the one-request size, so the proxy uploads parts; S3 sees one ordinary object.
TEST_F(AwsS3ProxyTest, ALargeObjectGoesUpInPartsAndReadsBackWhole) {
  std::string body(20 << 20, '\0');
  std::mt19937 random(7);
  for (char& c : body)
    c = static_cast<char>(random());
  const HttpResponse put = proxy_->call("PUT", "/v1/buckets/assets/objects/big.bin", body);
  ASSERT_EQ(put.status, 200) << put.body;
  const std::string etag = json::parse(put.body)["etag"];
  EXPECT_EQ(etag.substr(etag.size() - 3), "-3\"") << "three parts of 8, 8 and 4 MiB: " << etag;

  int code = 0;
  const std::filesystem::path out = dir_.path() / "big.bin";
  const json got = cli("get-object --key big.bin '" + out.string() + "'", &code);
  ASSERT_EQ(code, 0);
  EXPECT_EQ(got["ETag"], etag);
  EXPECT_TRUE(readFile(out) == body) << "the bytes S3 holds differ from those put";
  // No upload was left open.
  const json uploads = cli("list-multipart-uploads");
  EXPECT_TRUE(uploads.is_null() || !uploads.contains("Uploads") || uploads["Uploads"].empty())
      << uploads.dump();

  const HttpResponse range = proxy_->call("GET", "/v1/buckets/assets/objects/big.bin", {},
                                          {{"Range", "bytes=8388600-8388615"}});
  ASSERT_EQ(range.status, 206);
  EXPECT_EQ(range.body, body.substr(8388600, 16));
  const HttpResponse whole = proxy_->call("GET", "/v1/buckets/assets/objects/big.bin");
  ASSERT_EQ(whole.status, 200);
  EXPECT_TRUE(whole.body == body) << "the proxy read back other bytes";
}

// A client that breaks off a large PUT: the parts already in S3 are dropped with the upload,
// and no object appears.
TEST_F(AwsS3ProxyTest, ABrokenOffLargeUploadLeavesNoPartsBehind) {
  {
    HttpConnection connection(proxy_->port());
    ASSERT_TRUE(connection.connected());
    ASSERT_TRUE(connection.send("PUT /v1/buckets/assets/objects/cut.bin HTTP/1.1\r\n"
                                "Host: 127.0.0.1\r\nAuthorization: Bearer " +
                                std::string(kToken) + "\r\nContent-Length: 33554432\r\n\r\n"));
    const std::string mib(1 << 20, 'x');
    for (int i = 0; i < 18; ++i) // past two parts
      ASSERT_TRUE(connection.send(mib));
    // Give the proxy time to start the multipart upload with what it got.
    json uploads;
    for (int i = 0; i < 100; ++i) {
      uploads = cli("list-multipart-uploads");
      if (uploads.is_object() && uploads.contains("Uploads") && !uploads["Uploads"].empty()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_TRUE(uploads.is_object() && uploads.contains("Uploads")) << "no multipart upload began";
  } // the connection closes mid-body
  json uploads;
  for (int i = 0; i < 100; ++i) {
    uploads = cli("list-multipart-uploads");
    if (uploads.is_null() || !uploads.contains("Uploads") || uploads["Uploads"].empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(uploads.is_null() || !uploads.contains("Uploads") || uploads["Uploads"].empty())
      << "the multipart upload was left open: " << uploads.dump();
  EXPECT_EQ(proxy_->call("HEAD", "/v1/buckets/assets/objects/cut.bin").status, 404);
}

TEST_F(AwsS3ProxyTest, WhatTheAwsCliPutsTheProxyServesListsAndDeletes) {
  const std::filesystem::path file = dir_.path() / "in.txt";
  std::ofstream(file) << "0123456789 from the cli";
  int code = 0;
  cli("put-object --key 'in/cli.txt' --body '" + file.string() +
          "' --content-type text/csv --metadata team=ops",
      &code);
  ASSERT_EQ(code, 0);

  const HttpResponse got = proxy_->call("GET", "/v1/buckets/assets/objects/in/cli.txt");
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(got.body, "0123456789 from the cli");
  EXPECT_EQ(got.header("content-type"), "text/csv");
  EXPECT_EQ(got.header("x-exo-meta-team"), "ops");

  const HttpResponse part =
      proxy_->call("GET", "/v1/buckets/assets/objects/in/cli.txt", {}, {{"Range", "bytes=-8"}});
  ASSERT_EQ(part.status, 206);
  EXPECT_EQ(part.body, " the cli");
  EXPECT_EQ(part.header("content-range"), "bytes 15-22/23");

  const HttpResponse listed = proxy_->call("GET", "/v1/buckets/assets/objects?delimiter=/");
  ASSERT_EQ(listed.status, 200) << listed.body;
  EXPECT_EQ(json::parse(listed.body)["prefixes"], json::array({"in/"})) << listed.body;

  ASSERT_EQ(proxy_->call("DELETE", "/v1/buckets/assets/objects/in/cli.txt").status, 204);
  cli("head-object --key in/cli.txt", &code);
  EXPECT_NE(code, 0) << "the object is still in S3";
}

TEST(AwsS3ProxyStartTest, ABucketThatDoesNotExistStopsTheStartNamingIt) {
  ASSERT_TRUE(moto().available()) << moto().why();
  TempDir dir;
  ProxyProcess proxy(dir.path(), configFor("no-such-bucket"));
  EXPECT_FALSE(proxy.started());
  EXPECT_EQ(proxy.wait(30'000), 1);
  EXPECT_NE(proxy.errors().find("S3 bucket \"no-such-bucket\""), std::string::npos)
      << proxy.errors();
}

// moto stopped (SIGSTOP; a killed moto would forget its buckets): calls answer 503 within the
// configured backend_timeout (2 s here) instead of hanging, and once moto runs again the proxy
// serves again by itself.
TEST_F(AwsS3ProxyTest, APausedMotoIsUnavailableWithinTheTimeoutAndTheProxyRecovers) {
  ASSERT_EQ(proxy_->call("PUT", "/v1/buckets/assets/objects/k", "v").status, 200);
  expectUnavailableWhilePausedThenRecovers(*proxy_, moto().pid(), "aws.s3:us-east-1",
                                           {{"PUT", "/v1/buckets/assets/objects/k2", "v2"},
                                            {"GET", "/v1/buckets/assets/objects/k", ""},
                                            {"HEAD", "/v1/buckets/assets/objects/k", ""},
                                            {"GET", "/v1/buckets/assets/objects?prefix=k", ""}},
                                           {"PUT", "/v1/buckets/assets/objects/k2", "v2"});
  const HttpResponse got = proxy_->call("GET", "/v1/buckets/assets/objects/k2");
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(got.body, "v2");
}

TEST(AwsS3ProxyStartTest, ARefusedConnectionIsUnavailable) {
  const std::string endpoint = "http://127.0.0.1:" + std::to_string(testsupport::unusedPort());
  TempDir dir;
  ProxyProcess proxy(dir.path(), configFor("assets", endpoint, "2s"));
  ASSERT_TRUE(proxy.started()) << proxy.errors();
  expectUnavailable(
      proxy, "aws.s3:us-east-1",
      {{"PUT", "/v1/buckets/assets/objects/k", "v"}, {"GET", "/v1/buckets/assets/objects/k", ""}});
}

} // namespace
} // namespace exoflow::proxy::testing
