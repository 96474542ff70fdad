// SigV4 against AWS's published vectors (tests/data/sigv4, both layouts, header and presigned
// forms) and S3's rules against the worked examples in the Amazon S3 documentation.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "backend/aws/sigv4.h"

namespace exoflow::aws {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const fs::path kVectors = fs::path(EXOFLOW_SOURCE_DIR) / "tests/data/sigv4";
constexpr const char* kLongToken =
    "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfp"
    "SPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQ"
    "DYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+"
    "scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==";

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << "missing " << path;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::chrono::system_clock::time_point at(int y, unsigned m, unsigned d, int hour, int minute) {
  using namespace std::chrono;
  return sys_days(year(y) / month(m) / day(d)) + hours(hour) + minutes(minute);
}

/// A raw request file: `METHOD target HTTP/1.1`, `Name:value` lines (a line starting with
/// whitespace continues the one before), an empty line, the body. The signer adds X-Amz-Date
/// and the token itself, so those are taken out.
SigningRequest parseRequest(const std::string& text) {
  SigningRequest request;
  std::size_t pos = text.find('\n');
  const std::string first = text.substr(0, pos);
  const std::size_t method_end = first.find(' ');
  const std::size_t version = first.rfind(' ');
  request.method = first.substr(0, method_end);
  const std::string target = first.substr(method_end + 1, version - method_end - 1);
  const std::size_t question = target.find('?');
  request.path = target.substr(0, question);
  if (question != std::string::npos) request.query = target.substr(question + 1);
  std::string body;
  while (pos != std::string::npos && pos < text.size()) {
    const std::size_t start = pos + 1;
    pos = text.find('\n', start);
    const std::string line = text.substr(start, pos == std::string::npos ? pos : pos - start);
    if (line.empty()) {
      if (pos != std::string::npos) body = text.substr(pos + 1);
      break;
    }
    if (line[0] == ' ' || line[0] == '\t') {
      request.headers.back().second += "\n" + line;
      continue;
    }
    const std::size_t colon = line.find(':');
    request.headers.emplace_back(line.substr(0, colon), line.substr(colon + 1));
  }
  std::erase_if(request.headers, [](const auto& h) {
    std::string lower = h.first;
    for (char& c : lower)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return lower == "x-amz-date" || lower == "x-amz-security-token";
  });
  request.payload_hash = sha256Hex(body);
  return request;
}

SigningParams vectorParams() {
  SigningParams params;
  params.region = "us-east-1";
  params.service = "service";
  params.time = at(2015, 8, 30, 12, 36);
  return params;
}

// ---- aws-c-auth layout: every case, header and query forms ----------------------------------

std::vector<std::string> casesIn(const fs::path& dir, const std::string& marker) {
  std::vector<std::string> names;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.path().filename() == marker ||
        (marker == ".req" && entry.path().extension() == ".req")) {
      names.push_back(fs::relative(entry.path().parent_path(), dir).string());
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

class AwsCAuthVector : public testing::TestWithParam<std::string> {};

TEST_P(AwsCAuthVector, HeaderAndQuerySigningMatch) {
  const fs::path dir = kVectors / "aws-c-auth-v4" / GetParam();
  const auto context = nlohmann::json::parse(slurp(dir / "context.json"));
  const SigningRequest request = parseRequest(slurp(dir / "request.txt"));
  Credentials credentials{context["credentials"]["access_key_id"],
                          context["credentials"]["secret_access_key"],
                          context["credentials"].value("token", "")};
  SigningParams params = vectorParams();
  params.normalize_path = context["normalize"];
  params.content_sha256_header = context["sign_body"];
  params.sign_session_token = !context.value("omit_session_token", false);

  const Signed header = signHeaders(request, credentials, params);
  EXPECT_EQ(header.canonical_request, slurp(dir / "header-canonical-request.txt"));
  EXPECT_EQ(header.string_to_sign, slurp(dir / "header-string-to-sign.txt"));
  EXPECT_EQ(header.signature, slurp(dir / "header-signature.txt"));
  // Every header the signer adds appears in the expected signed request.
  const std::string signed_request = slurp(dir / "header-signed-request.txt");
  for (const auto& [name, value] : header.headers) {
    EXPECT_NE(signed_request.find(name + ":" + value), std::string::npos) << name;
  }

  const Signed query =
      presign(request, credentials, params, std::chrono::seconds(context["expiration_in_seconds"]));
  EXPECT_EQ(query.canonical_request, slurp(dir / "query-canonical-request.txt"));
  EXPECT_EQ(query.string_to_sign, slurp(dir / "query-string-to-sign.txt"));
  EXPECT_EQ(query.signature, slurp(dir / "query-signature.txt"));
  // The signed request's query holds exactly our parameters, in whatever order.
  const std::string sent = slurp(dir / "query-signed-request.txt");
  const std::string sent_query =
      sent.substr(sent.find('?') + 1, sent.find(" HTTP/1.1") - sent.find('?') - 1);
  const auto split = [](const std::string& q) {
    std::vector<std::string> parts;
    std::stringstream in(q);
    for (std::string part; std::getline(in, part, '&');)
      parts.push_back(part);
    std::sort(parts.begin(), parts.end());
    return parts;
  };
  EXPECT_EQ(split(query.query), split(sent_query));
}

INSTANTIATE_TEST_SUITE_P(Vectors, AwsCAuthVector,
                         testing::ValuesIn(casesIn(kVectors / "aws-c-auth-v4", "context.json")),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (char& c : name)
                             if (std::isalnum(static_cast<unsigned char>(c)) == 0) c = '_';
                           return name;
                         });

// ---- botocore layout: .creq, .sts, .authz --------------------------------------------------

class BotocoreVector : public testing::TestWithParam<std::string> {};

TEST_P(BotocoreVector, CanonicalRequestStringToSignAndAuthorizationMatch) {
  const fs::path dir = kVectors / "aws4_testsuite" / GetParam();
  const std::string name = dir.filename().string();
  const SigningRequest request = parseRequest(slurp(dir / (name + ".req")));
  Credentials credentials{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};
  SigningParams params = vectorParams();
  if (name == "get-vanilla-with-session-token") {
    credentials.session_token = "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267";
  } else if (name.starts_with("post-sts-header-")) {
    credentials.session_token = kLongToken;
    params.sign_session_token = name == "post-sts-header-before";
  }
  const Signed out = signHeaders(request, credentials, params);
  EXPECT_EQ(out.canonical_request, slurp(dir / (name + ".creq")));
  EXPECT_EQ(out.string_to_sign, slurp(dir / (name + ".sts")));
  std::string authorization;
  for (const auto& [header, value] : out.headers) {
    if (header == "Authorization") authorization = value;
  }
  EXPECT_EQ(authorization, slurp(dir / (name + ".authz")));
}

INSTANTIATE_TEST_SUITE_P(Vectors, BotocoreVector,
                         testing::ValuesIn(casesIn(kVectors / "aws4_testsuite", ".req")),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (char& c : name)
                             if (std::isalnum(static_cast<unsigned char>(c)) == 0) c = '_';
                           return name;
                         });

TEST(SigV4Vectors, AllCasesAreFound) {
  EXPECT_EQ(casesIn(kVectors / "aws-c-auth-v4", "context.json").size(), 38U);
  EXPECT_EQ(casesIn(kVectors / "aws4_testsuite", ".req").size(), 34U);
}

// ---- S3, from the worked examples of the Amazon S3 API reference --------------------------

const Credentials kS3Example{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                             ""};

SigningParams s3Params() {
  SigningParams params;
  params.region = "us-east-1";
  params.service = "s3";
  params.time = at(2013, 5, 24, 0, 0);
  params.normalize_path = false;
  params.encode_path = false;
  params.content_sha256_header = true;
  return params;
}

TEST(SigV4S3, GetObjectWithARange) {
  SigningRequest request{"GET",
                         "/test.txt",
                         "",
                         {{"Host", "examplebucket.s3.amazonaws.com"}, {"Range", "bytes=0-9"}},
                         sha256Hex("")};
  const Signed out = signHeaders(request, kS3Example, s3Params());
  EXPECT_EQ(out.signature, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  EXPECT_EQ(out.headers.at(1).first, "x-amz-content-sha256");
  EXPECT_EQ(out.headers.at(1).second, sha256Hex(""));
}

TEST(SigV4S3, PresignedGetSignsUnsignedPayload) {
  SigningRequest request{"GET",
                         "/test.txt",
                         "",
                         {{"Host", "examplebucket.s3.amazonaws.com"}},
                         std::string(kUnsignedPayload)};
  SigningParams params = s3Params();
  params.content_sha256_header = false;
  const Signed out = presign(request, kS3Example, params, 86400s);
  EXPECT_EQ(out.signature, "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
  EXPECT_NE(out.query.find("X-Amz-Expires=86400"), std::string::npos);
  EXPECT_TRUE(out.canonical_request.ends_with("\nUNSIGNED-PAYLOAD"));
}

TEST(SigV4S3, ThePathIsSignedAsSentWithoutASecondEncoding) {
  SigningRequest request{"GET", "/my%20bucket/a%2Fb/../c", "", {{"Host", "h"}}, sha256Hex("")};
  const Signed s3 = signHeaders(request, kS3Example, s3Params());
  EXPECT_EQ(s3.canonical_request.substr(0, s3.canonical_request.find('\n', 4)),
            "GET\n/my%20bucket/a%2Fb/../c");
  SigningParams other = s3Params();
  other.normalize_path = true;
  other.encode_path = true;
  const Signed sqs = signHeaders(request, kS3Example, other);
  EXPECT_EQ(sqs.canonical_request.substr(0, sqs.canonical_request.find('\n', 4)),
            "GET\n/my%2520bucket/c");
}

TEST(SigV4S3, StreamingChunksChainFromTheSeedSignature) {
  SigningRequest request{"PUT",
                         "/examplebucket/chunkObject.txt",
                         "",
                         {{"Host", "s3.amazonaws.com"},
                          {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
                          {"Content-Encoding", "aws-chunked"},
                          {"Content-Length", "66824"},
                          {"x-amz-decoded-content-length", "66560"}},
                         std::string(kStreamingPayload)};
  const Signed seed = signHeaders(request, kS3Example, s3Params());
  EXPECT_EQ(seed.signature, "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9");

  ChunkSigner chunks(seed, kS3Example, s3Params());
  const std::string first = chunks.frame(std::string(65536, 'a'));
  const std::string second = chunks.frame(std::string(1024, 'a'));
  const std::string last = chunks.frame("");
  EXPECT_TRUE(
      first.starts_with("10000;chunk-signature="
                        "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n"));
  EXPECT_TRUE(
      second.starts_with("400;chunk-signature="
                         "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n"));
  EXPECT_EQ(last, "0;chunk-signature="
                  "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n");
  EXPECT_EQ(first.size() + second.size() + last.size(), 66824U);
  EXPECT_EQ(ChunkSigner::encodedLength(66560, 65536), 66824U);
  EXPECT_EQ(ChunkSigner::encodedLength(0, 65536), last.size());
}

TEST(SigV4, UriEncodingFollowsAwsRules) {
  EXPECT_EQ(uriEncode("a b/c~d_e-f.g*h+i=", true), "a%20b/c~d_e-f.g%2Ah%2Bi%3D");
  EXPECT_EQ(uriEncode("a/b", false), "a%2Fb");
  EXPECT_EQ(uriEncode("\xE1\x88\xB4", false), "%E1%88%B4");
  EXPECT_EQ(amzDate(at(2015, 8, 30, 12, 36)), "20150830T123600Z");
}

TEST(SigV4, ATokenIsSignedOrAddedAfterwards) {
  SigningRequest request{"GET", "/", "", {{"Host", "h"}}, sha256Hex("")};
  SigningParams params = vectorParams();
  const Credentials with_token{"AKID", "secret", "tok en"};
  const Signed signed_token = signHeaders(request, with_token, params);
  EXPECT_NE(signed_token.canonical_request.find("x-amz-security-token:tok en\n"),
            std::string::npos);
  params.sign_session_token = false;
  const Signed after = signHeaders(request, with_token, params);
  EXPECT_EQ(after.canonical_request.find("x-amz-security-token"), std::string::npos);
  EXPECT_EQ(after.headers.back().first, "X-Amz-Security-Token");
  const Signed presigned = presign(request, with_token, vectorParams(), 60s);
  EXPECT_NE(presigned.query.find("X-Amz-Security-Token=tok%20en"), std::string::npos);
}

} // namespace
} // namespace exoflow::aws
