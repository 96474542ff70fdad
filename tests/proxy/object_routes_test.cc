// Object routes of the real exo-proxy on local.sqlite: put, get, head, delete, list, ranges,
// conditional requests, metadata, literal keys, and a 100 MiB object streamed both ways.
#include <fstream>
#include <thread>

#include "proxy/proxy_fixture.h"

namespace exoflow::proxy::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

class ObjectRoutesTest : public ProxyFixture {
protected:
  static std::string object(const std::string& key) { return "/v1/buckets/assets/objects/" + key; }
};

TEST_F(ObjectRoutesTest, PutsAndGetsWithTypeMetadataAndEtag) {
  const HttpResponse put = call("PUT", object("docs/readme.txt"), "hello world",
                                {{"Content-Type", "text/plain"}, {"x-exo-meta-Owner", "ann"}});
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(put.header("x-exo-backend"), "local.sqlite");
  const json body = parse(put);
  EXPECT_EQ(body["size"], 11);
  const std::string etag = body["etag"];
  EXPECT_EQ(put.header("etag"), etag);
  EXPECT_TRUE(etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') << etag;

  const HttpResponse got = call("GET", object("docs/readme.txt"));
  ASSERT_EQ(got.status, 200);
  EXPECT_EQ(got.body, "hello world");
  EXPECT_EQ(got.header("content-type"), "text/plain");
  EXPECT_EQ(got.header("content-length"), "11");
  EXPECT_EQ(got.header("etag"), etag);
  EXPECT_EQ(got.header("x-exo-meta-owner"), "ann");
  EXPECT_TRUE(got.header("last-modified").ends_with(" GMT")) << got.header("last-modified");
  EXPECT_EQ(got.header("x-exo-backend"), "local.sqlite");

  HttpConnection c(proxy_->port());
  ASSERT_TRUE(c.send("HEAD " + object("docs/readme.txt") + " HTTP/1.1\r\nHost: x\r\n" +
                     "Authorization: Bearer " + kToken + "\r\n\r\n"));
  auto head = c.read(true);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->header("content-length"), "11");
  EXPECT_EQ(head->header("etag"), etag);
  EXPECT_TRUE(head->body.empty());
  auto after = c.request("GET", "/healthz");
  ASSERT_TRUE(after) << "a HEAD leaves no body on the connection";
  EXPECT_EQ(after->status, 200);
}

TEST_F(ObjectRoutesTest, StoresEmptyObjectsAndAnswersHeadErrorsWithoutABody) {
  const HttpResponse put = call("PUT", object("empty"), "");
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(parse(put)["size"], 0);
  const HttpResponse got = call("GET", object("empty"));
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(got.header("content-length"), "0");
  EXPECT_TRUE(got.body.empty());
  HttpConnection c(proxy_->port());
  auto missing = c.request("HEAD", object("missing"), ProxyProcess::auth());
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(missing->header("x-exo-backend"), "local.sqlite");
  auto next = c.request("GET", object("empty"), ProxyProcess::auth());
  ASSERT_TRUE(next) << "the 404 to a HEAD carried no body";
  EXPECT_EQ(next->status, 200);
}

TEST_F(ObjectRoutesTest, DefaultsTheContentTypeAndReplacesMetadata) {
  ASSERT_EQ(call("PUT", object("k"), "1", {{"x-exo-meta-a", "1"}}).status, 200);
  ASSERT_EQ(call("PUT", object("k"), "2", {{"x-exo-meta-b", "2"}}).status, 200);
  const HttpResponse got = call("GET", object("k"));
  EXPECT_EQ(got.header("content-type"), "application/octet-stream");
  EXPECT_FALSE(got.has("x-exo-meta-a"));
  EXPECT_EQ(got.header("x-exo-meta-b"), "2");
}

TEST_F(ObjectRoutesTest, ServesRangesAnd416) {
  ASSERT_EQ(call("PUT", object("r"), "0123456789").status, 200);
  const HttpResponse middle = call("GET", object("r"), {}, {{"Range", "bytes=2-4"}});
  EXPECT_EQ(middle.status, 206);
  EXPECT_EQ(middle.body, "234");
  EXPECT_EQ(middle.header("content-range"), "bytes 2-4/10");
  const HttpResponse tail = call("GET", object("r"), {}, {{"Range", "bytes=7-"}});
  EXPECT_EQ(tail.status, 206);
  EXPECT_EQ(tail.body, "789");
  const HttpResponse suffix = call("GET", object("r"), {}, {{"Range", "bytes=-2"}});
  EXPECT_EQ(suffix.status, 206);
  EXPECT_EQ(suffix.body, "89");
  EXPECT_EQ(suffix.header("content-range"), "bytes 8-9/10");
  const HttpResponse beyond = call("GET", object("r"), {}, {{"Range", "bytes=10-"}});
  expectError(beyond, 416, "RangeNotSatisfiable");
  EXPECT_EQ(beyond.header("content-range"), "bytes */10");
  const HttpResponse ignored = call("GET", object("r"), {}, {{"Range", "lines=1-2"}});
  EXPECT_EQ(ignored.status, 200);
  EXPECT_EQ(ignored.body, "0123456789");
}

TEST_F(ObjectRoutesTest, AnswersNotModifiedAndRefusesOverwritesWithIfNoneMatch) {
  const HttpResponse put = call("PUT", object("c"), "v1");
  const std::string etag = put.header("etag");
  const HttpResponse same = call("GET", object("c"), {}, {{"If-None-Match", etag}});
  EXPECT_EQ(same.status, 304);
  EXPECT_TRUE(same.body.empty());
  EXPECT_EQ(same.header("etag"), etag);
  EXPECT_EQ(call("GET", object("c"), {}, {{"If-None-Match", "\"other\""}}).status, 200);
  expectError(call("PUT", object("c"), "v2", {{"If-None-Match", "*"}}), 412, "PreconditionFailed");
  EXPECT_EQ(call("GET", object("c")).body, "v1");
  EXPECT_EQ(call("PUT", object("fresh"), "new", {{"If-None-Match", "*"}}).status, 200);
}

TEST_F(ObjectRoutesTest, DeletesAndMissingObjectsAre404) {
  ASSERT_EQ(call("PUT", object("gone"), "x").status, 200);
  EXPECT_EQ(call("DELETE", object("gone")).status, 204);
  EXPECT_EQ(call("DELETE", object("gone")).status, 204) << "also when it did not exist";
  const HttpResponse missing = call("GET", object("gone"));
  expectError(missing, 404, "NotFound");
  EXPECT_EQ(missing.header("x-exo-backend"), "local.sqlite");
  expectError(call("GET", "/v1/buckets/nosuch/objects/x"), 404, "NotFound");
}

TEST_F(ObjectRoutesTest, StoresDotsAndSlashesLiterally) {
  for (const std::string key : {"..", "../escape", "a/../b", "a//b", "%2E%2E%2Fup", "./x"}) {
    const HttpResponse put = call("PUT", object(key), "v:" + key);
    ASSERT_EQ(put.status, 200) << key << ": " << put.body;
  }
  EXPECT_EQ(call("GET", object("..")).body, "v:..");
  EXPECT_EQ(call("GET", object("../escape")).body, "v:../escape");
  EXPECT_EQ(call("GET", object("a//b")).body, "v:a//b");
  EXPECT_EQ(call("GET", object("b")).status, 404) << "a/../b is not resolved to b";
  EXPECT_EQ(call("GET", object("..%2Fup")).body, "v:%2E%2E%2Fup") << "decoded: ../up";
  const json list = parse(call("GET", "/v1/buckets/assets/objects"));
  std::vector<std::string> keys;
  for (const json& o : list["objects"])
    keys.push_back(o["key"]);
  EXPECT_EQ(keys, (std::vector<std::string>{"..", "../escape", "../up", "./x", "a/../b", "a//b"}));
  EXPECT_FALSE(fs::exists(dir_.path() / "escape"));
  EXPECT_FALSE(fs::exists(dir_.path() / "data" / "escape"));
  EXPECT_FALSE(fs::exists(dir_.path() / "up"));
}

TEST_F(ObjectRoutesTest, RefusesBadKeys) {
  expectError(call("PUT", object("bad%01key"), "x"), 400, "InvalidArgument");
  expectError(call("PUT", object("bad%7Fkey"), "x"), 400, "InvalidArgument");
  expectError(call("PUT", object("bad%FFutf8"), "x"), 400, "InvalidArgument");
  expectError(call("PUT", object("bad%zz"), "x"), 400, "InvalidArgument");
  expectError(call("PUT", object(std::string(1025, 'k')), "x"), 400, "InvalidArgument");
  EXPECT_EQ(call("PUT", object(std::string(1024, 'k')), "x").status, 200);
  expectError(call("GET", "/v1/buckets/assets/objects/"), 400, "InvalidArgument");
}

TEST_F(ObjectRoutesTest, ListsWithPrefixDelimiterAndCursor) {
  for (const char* key : {"a/1", "a/2", "b/1", "c", "d"}) {
    ASSERT_EQ(call("PUT", object(key), "x").status, 200);
  }
  const HttpResponse grouped = call("GET", "/v1/buckets/assets/objects?delimiter=/");
  ASSERT_EQ(grouped.status, 200) << grouped.body;
  EXPECT_EQ(grouped.header("x-exo-backend"), "local.sqlite");
  const json g = parse(grouped);
  EXPECT_EQ(g["prefixes"], json::parse(R"(["a/", "b/"])"));
  ASSERT_EQ(g["objects"].size(), 2U);
  EXPECT_EQ(g["objects"][0]["key"], "c");
  EXPECT_EQ(g["objects"][0]["size"], 1);
  EXPECT_TRUE(g["objects"][0]["etag"].is_string());
  const std::string modified = g["objects"][0]["last_modified"];
  EXPECT_TRUE(modified.size() >= 20 && modified.back() == 'Z' && modified[10] == 'T') << modified;
  EXPECT_TRUE(g["next_cursor"].is_null());

  const json prefixed = parse(call("GET", "/v1/buckets/assets/objects?prefix=a%2F"));
  EXPECT_EQ(prefixed["objects"].size(), 2U);

  std::vector<std::string> seen;
  std::string cursor;
  for (int page = 0; page < 10; ++page) {
    std::string target = "/v1/buckets/assets/objects?limit=2";
    if (!cursor.empty()) target += "&cursor=" + urlEncode(cursor);
    const json p = parse(call("GET", target));
    EXPECT_LE(p["objects"].size(), 2U);
    for (const json& o : p["objects"])
      seen.push_back(o["key"]);
    if (p["next_cursor"].is_null()) break;
    cursor = p["next_cursor"];
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"a/1", "a/2", "b/1", "c", "d"}));
  for (const char* query : {"?limit=0", "?limit=1001", "?limit=x"}) {
    expectError(call("GET", std::string("/v1/buckets/assets/objects") + query), 400,
                "InvalidArgument");
  }
}

/// Writes `size` bytes of a fixed pseudo-random pattern.
void writePattern(const fs::path& path, std::uint64_t size) {
  std::ofstream out(path, std::ios::binary);
  std::string block(1 << 20, '\0');
  std::uint32_t x = 12345;
  for (char& c : block) {
    x = x * 1103515245 + 12345;
    c = static_cast<char>(x >> 24);
  }
  for (std::uint64_t written = 0; written < size; written += block.size()) {
    out.write(block.data(),
              static_cast<std::streamsize>(std::min<std::uint64_t>(block.size(), size - written)));
  }
}

#if !defined(__SANITIZE_ADDRESS__)
/// The peak resident memory of a process, in bytes (VmHWM).
std::uint64_t peakMemory(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("VmHWM:")) return std::stoull(line.substr(6)) * 1024;
  }
  return 0;
}
#endif

TEST_F(ObjectRoutesTest, StreamsA100MiBObjectBothWays) {
  constexpr std::uint64_t kSize = 100ULL << 20;
  const fs::path source = dir_.path() / "big.bin";
  const fs::path copy = dir_.path() / "big.copy";
  writePattern(source, kSize);
  std::string out;
  ASSERT_EQ(
      runCommand(curlPrefix() + "-T '" + source.string() + "' " + base() + object("big.bin"), &out),
      0);
  const json put = json::parse(out, nullptr, false);
  ASSERT_TRUE(put.is_object()) << out;
  EXPECT_EQ(put["size"], kSize);
  ASSERT_EQ(runCommand(curlPrefix() + "-D '" + (dir_.path() / "headers.txt").string() + "' -o '" +
                           copy.string() + "' " + base() + object("big.bin"),
                       &out),
            0);
  EXPECT_EQ(fs::file_size(copy), kSize);
  EXPECT_EQ(runCommand("cmp -s '" + source.string() + "' '" + copy.string() + "'"), 0)
      << "the bytes read back are the bytes written";
  std::ifstream headers(dir_.path() / "headers.txt");
  std::string text((std::istreambuf_iterator<char>(headers)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("ETag: " + put["etag"].get<std::string>()), std::string::npos) << text;
#if !defined(__SANITIZE_ADDRESS__) // ASan's shadow memory and quarantine say nothing here
  // Neither direction held the object in memory.
  EXPECT_LT(peakMemory(proxy_->pid()), 64ULL << 20);
#endif
}

TEST_F(ObjectRoutesTest, AnUploadCutShortLeavesNothing) {
  {
    HttpConnection c(proxy_->port());
    ASSERT_TRUE(c.send("PUT " + object("partial") +
                       " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + kToken +
                       "\r\nContent-Length: 10485760\r\n\r\n"));
    ASSERT_TRUE(c.send(std::string(1 << 20, 'p')));
  } // the client goes away mid-body
  bool gone = false;
  for (int i = 0; i < 100 && !gone; ++i) {
    gone = call("GET", object("partial")).status == 404;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(gone);
  EXPECT_EQ(call("PUT", object("partial"), "whole").status, 200) << "the key is usable";
  EXPECT_EQ(call("GET", object("partial")).body, "whole");
}

TEST_F(ObjectRoutesTest, CurlUploadsWithExpectContinue) {
  const fs::path file = dir_.path() / "two-mib.bin";
  writePattern(file, 2 << 20);
  std::string out;
  // curl sends Expect: 100-continue for bodies over 1 MiB.
  ASSERT_EQ(
      runCommand(curlPrefix() + "-v -T '" + file.string() + "' " + base() + object("two") + " 2>&1",
                 &out),
      0);
  EXPECT_NE(out.find("Expect: 100-continue"), std::string::npos) << out;
  EXPECT_NE(out.find("HTTP/1.1 100 Continue"), std::string::npos) << out;
  EXPECT_NE(out.find("HTTP/1.1 200 OK"), std::string::npos) << out;
}

} // namespace
} // namespace exoflow::proxy::testing
