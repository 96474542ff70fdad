// The peer backend and the peer listener with two real exo-proxy processes: B serves bindings
// on local.sqlite and listens for peers with mutual TLS; A's bindings are only `peer` -> B.
// Everything an app does through A must behave as it does on B; strangers are refused.

#include <csignal>
#include <fstream>
#include <memory>

#include <arpa/inet.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <nlohmann/json.hpp>
#include <sys/socket.h>
#include <unistd.h>

#include "net/certs.h"
#include "proxy/proxy_process.h"
#include "support/local_files.h"

namespace exoflow::proxy::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kPeerToken = "peer-token-9876543210";

using testsupport::freePort;
using testsupport::writeFile;

class PeerTest : public ::testing::Test {
protected:
  void SetUp() override {
    // Certificates as `exoflow certs` makes them, and a second CA nobody trusts.
    const fs::path certs = dir_.path() / "certs";
    fs::create_directories(certs);
    auto ca = net::makeCa("exoflow test CA");
    auto foreign = net::makeCa("foreign CA");
    ASSERT_TRUE(ca && foreign);
    auto write = [&](const std::string& name, const net::PemPair& issuer) {
      auto leaf = net::makeLeaf(issuer, name, {"localhost", name}, {"127.0.0.1"});
      ASSERT_TRUE(leaf) << leaf.error().message;
      writeFile(certs / (name + ".crt"), leaf->cert);
      writeFile(certs / (name + ".key"), leaf->key);
    };
    writeFile(certs / "ca.crt", ca->cert);
    write("a", *ca);
    write("b", *ca);
    write("stranger", *foreign);
    peer_port_ = freePort();
    startB();
    startA();
  }

  std::string tls(const std::string& name) const {
    const fs::path certs = dir_.path() / "certs";
    return fmt::format("tls: {{cert: {}, key: {}, ca: {}}}\n", (certs / (name + ".crt")).string(),
                       (certs / (name + ".key")).string(), (certs / "ca.crt").string());
  }

  void startB() {
    b_.reset();
    std::string config = fmt::format("listen: 127.0.0.1:0\n"
                                     "token: ${{EXO_TEST_TOKEN}}\n"
                                     "peer_listen: 127.0.0.1:{}\n"
                                     "peer_token: {}\n"
                                     "data_dir: {}\n",
                                     peer_port_, kPeerToken, (dir_.path() / "b-data").string());
    config += tls("b");
    config += R"(bindings:
  orders:
    kind: queue
    options: {visibility_timeout: 30s}
    backends: [{type: local.sqlite}]
  assets:
    kind: objects
    backends: [{type: local.sqlite}]
  sessions:
    kind: kv
    backends: [{type: local.sqlite}]
  loop:
    kind: kv
    backends: [{type: peer, peer: site-a}]
peers:
  site-a: {url: "https://127.0.0.1:1", cloud: local, token: unused}
)";
    fs::create_directories(dir_.path() / "b");
    b_ = std::make_unique<ProxyProcess>(dir_.path() / "b", config);
    ASSERT_TRUE(b_->started()) << b_->errors();
  }

  void startA() {
    std::string config = "listen: 127.0.0.1:0\n"
                         "token: ${EXO_TEST_TOKEN}\n"
                         "limits: {backend_timeout: 3s}\n";
    config += tls("a");
    config += R"(bindings:
  jobs:
    kind: queue
    backends: [{type: peer, peer: site-b, name: orders}]
  assets:
    kind: objects
    backends: [{type: peer, peer: site-b}]
  sessions:
    kind: kv
    backends: [{type: peer, peer: site-b}]
  loop:
    kind: kv
    backends: [{type: peer, peer: site-b}]
)";
    config += fmt::format(
        "peers:\n  site-b: {{url: \"https://127.0.0.1:{}\", cloud: local, token: {}}}\n",
        peer_port_, kPeerToken);
    fs::create_directories(dir_.path() / "a");
    a_ = std::make_unique<ProxyProcess>(dir_.path() / "a", config);
    ASSERT_TRUE(a_->started()) << a_->errors();
  }

  /// curl against B's peer listener as `client` (empty: no certificate) with `token`; the HTTP
  /// status, or 0 when the TLS handshake failed.
  int curlPeer(const std::string& client, const std::string& token) const {
    const fs::path certs = dir_.path() / "certs";
    std::string command =
        fmt::format("curl -s -o /dev/null -w '%{{http_code}}' --max-time 10 --cacert {} ",
                    (certs / "ca.crt").string());
    if (!client.empty()) {
      command += fmt::format("--cert {} --key {} ", (certs / (client + ".crt")).string(),
                             (certs / (client + ".key")).string());
    }
    command +=
        fmt::format("-H 'Authorization: Bearer {}' https://127.0.0.1:{}/v1/tables/sessions/items",
                    token, peer_port_);
    std::string out;
    runCommand(command, &out);
    return std::atoi(out.c_str());
  }

  TempDir dir_;
  int peer_port_ = 0;
  std::unique_ptr<ProxyProcess> b_;
  std::unique_ptr<ProxyProcess> a_;
};

TEST_F(PeerTest, QueuesPassThroughWithReceiptsAttributesAndDedup) {
  const json batch = {
      {"messages",
       {{{"body", "first"}, {"attributes", {{"kind", "order"}}}, {"dedup_id", "d1"}},
        {{"body", "again"}, {"dedup_id", "d1"}},
        {{"body", "second"}}}}};
  HttpResponse sent = a_->call("POST", "/v1/queues/jobs/messages", batch.dump());
  ASSERT_EQ(sent.status, 200) << sent.body;
  EXPECT_EQ(sent.header("x-exo-backend"), "peer:site-b");
  const json ids = json::parse(sent.body)["messages"];
  ASSERT_EQ(ids.size(), 3U);
  EXPECT_EQ(ids[0]["message_id"], ids[1]["message_id"]) << "dedup_id must hold through a peer";

  // B sees exactly the two messages that were enqueued.
  const HttpResponse stats = b_->call("GET", "/v1/queues/orders");
  ASSERT_EQ(stats.status, 200);
  EXPECT_EQ(json::parse(stats.body)["approximate_messages"], 2);

  HttpResponse got = a_->call("GET", "/v1/queues/jobs/messages?max=10&wait=1&visibility=60");
  ASSERT_EQ(got.status, 200) << got.body;
  json messages = json::parse(got.body)["messages"];
  ASSERT_EQ(messages.size(), 2U);
  json first = messages[0]["body"] == "first" ? messages[0] : messages[1];
  json second = messages[0]["body"] == "first" ? messages[1] : messages[0];
  EXPECT_EQ(first["attributes"], (json{{"kind", "order"}}));
  EXPECT_EQ(second["attributes"], json::object());
  EXPECT_EQ(first["receive_count"], 1);
  EXPECT_EQ(first["message_id"], ids[0]["message_id"]);

  // The receipt B issued works through A: visible again at once, received a second time.
  const std::string receipt = first["receipt"];
  EXPECT_EQ(a_->call("PATCH", "/v1/queues/jobs/messages/" + receipt, R"({"visibility": 0})").status,
            204);
  got = a_->call("GET", "/v1/queues/jobs/messages?max=10&wait=1&visibility=60");
  messages = json::parse(got.body)["messages"];
  ASSERT_EQ(messages.size(), 1U) << got.body;
  EXPECT_EQ(messages[0]["body"], "first");
  EXPECT_EQ(messages[0]["receive_count"], 2);
  EXPECT_EQ(
      a_->call("DELETE", "/v1/queues/jobs/messages/" + messages[0]["receipt"].get<std::string>())
          .status,
      204);
  EXPECT_EQ(
      a_->call("DELETE", "/v1/queues/jobs/messages/" + second["receipt"].get<std::string>()).status,
      204);
  EXPECT_EQ(a_->call("DELETE", "/v1/queues/jobs/messages/bm90LWEtcmVjZWlwdA").status, 404);

  const HttpResponse info = a_->call("GET", "/v1/queues/jobs");
  ASSERT_EQ(info.status, 200) << info.body;
  EXPECT_EQ(json::parse(info.body)["approximate_messages"], 0);
  EXPECT_EQ(json::parse(info.body)["approximate_in_flight"], 0);
}

TEST_F(PeerTest, ObjectsStreamThroughWithRangesMetadataAndPages) {
  // Larger than two download pieces, so it is read back in several ranged GETs.
  std::string big(9 * 1024 * 1024 + 123, '\0');
  for (std::size_t i = 0; i < big.size(); ++i)
    big[i] = static_cast<char>('a' + (i * 7 + i / 4096) % 26);
  HttpResponse put =
      a_->call("PUT", "/v1/buckets/assets/objects/dir/big.bin", big,
               {{"Content-Type", "application/x-test"}, {"x-exo-meta-owner", "ann"}});
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(json::parse(put.body)["size"], big.size());
  const std::string etag = put.header("etag");

  HttpResponse got = a_->call("GET", "/v1/buckets/assets/objects/dir/big.bin");
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_TRUE(got.body == big) << "the body came back different (" << got.body.size() << " bytes)";
  EXPECT_EQ(got.header("etag"), etag);
  EXPECT_EQ(got.header("content-type"), "application/x-test");
  EXPECT_EQ(got.header("x-exo-meta-owner"), "ann");
  // The same object read on B directly.
  EXPECT_EQ(b_->call("GET", "/v1/buckets/assets/objects/dir/big.bin").body.size(), big.size());

  got = a_->call("GET", "/v1/buckets/assets/objects/dir/big.bin", {},
                 {{"Range", "bytes=4194000-4194999"}});
  ASSERT_EQ(got.status, 206);
  EXPECT_EQ(got.body, big.substr(4194000, 1000));
  EXPECT_EQ(got.header("content-range"), fmt::format("bytes 4194000-4194999/{}", big.size()));
  got = a_->call("GET", "/v1/buckets/assets/objects/dir/big.bin", {}, {{"Range", "bytes=-10"}});
  ASSERT_EQ(got.status, 206);
  EXPECT_EQ(got.body, big.substr(big.size() - 10));
  got =
      a_->call("GET", "/v1/buckets/assets/objects/dir/big.bin", {}, {{"Range", "bytes=8388000-"}});
  ASSERT_EQ(got.status, 206);
  EXPECT_TRUE(got.body == big.substr(8388000));
  EXPECT_EQ(a_->call("GET", "/v1/buckets/assets/objects/dir/big.bin", {},
                     {{"Range", fmt::format("bytes={}-", big.size() + 5)}})
                .status,
            416);
  const HttpResponse head = a_->call("HEAD", "/v1/buckets/assets/objects/dir/big.bin");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.header("content-length"), std::to_string(big.size()));

  // A chunked upload (no length known in advance) goes on chunked to the peer.
  {
    HttpConnection c(a_->port());
    ASSERT_TRUE(c.send(fmt::format("PUT /v1/buckets/assets/objects/chunked HTTP/1.1\r\n"
                                   "Host: x\r\nAuthorization: Bearer {}\r\n"
                                   "Transfer-Encoding: chunked\r\n\r\n"
                                   "5\r\nhello\r\n7\r\n, peer!\r\n0\r\n\r\n",
                                   kToken)));
    const auto r = c.read();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 200) << r->body;
    EXPECT_EQ(b_->call("GET", "/v1/buckets/assets/objects/chunked").body, "hello, peer!");
  }

  // A conditional put: the key exists.
  EXPECT_EQ(a_->call("PUT", "/v1/buckets/assets/objects/dir/big.bin", "x", {{"If-None-Match", "*"}})
                .status,
            412);
  EXPECT_EQ(a_->call("PUT", "/v1/buckets/assets/objects/empty", "").status, 200);
  got = a_->call("GET", "/v1/buckets/assets/objects/empty");
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(got.body, "");
  EXPECT_EQ(a_->call("GET", "/v1/buckets/assets/objects/missing").status, 404);

  // Pages of two: every key once, in order, with the prefix grouping of the delimiter.
  for (const char* key : {"p/1", "p/2", "p/3", "p/sub/4", "q"})
    ASSERT_EQ(a_->call("PUT", fmt::format("/v1/buckets/assets/objects/{}", key), key).status, 200);
  std::vector<std::string> seen;
  std::string cursor;
  for (int page = 0; page < 10; ++page) {
    std::string target = "/v1/buckets/assets/objects?prefix=p%2F&delimiter=%2F&limit=2";
    if (!cursor.empty()) target += "&cursor=" + urlEncode(cursor);
    const HttpResponse listed = a_->call("GET", target);
    ASSERT_EQ(listed.status, 200) << listed.body;
    const json body = json::parse(listed.body);
    for (const auto& o : body["objects"])
      seen.push_back(o["key"]);
    for (const auto& p : body["prefixes"])
      seen.push_back(p);
    if (body["next_cursor"].is_null()) break;
    cursor = body["next_cursor"];
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"p/1", "p/2", "p/3", "p/sub/"}));
  EXPECT_EQ(a_->call("DELETE", "/v1/buckets/assets/objects/dir/big.bin").status, 204);
  EXPECT_EQ(b_->call("GET", "/v1/buckets/assets/objects/dir/big.bin").status, 404);
}

TEST_F(PeerTest, KvPassesThroughWithVersionsConditionsAndPrefixes) {
  const std::string value = R"({"n": 123456789012345678901234567890, "s": "x"})";
  HttpResponse put = a_->call("PUT", "/v1/tables/sessions/items/user%2F1", value);
  ASSERT_EQ(put.status, 200) << put.body;
  const std::string version = json::parse(put.body)["version"];
  EXPECT_EQ(put.header("etag"), "\"" + version + "\"");

  HttpResponse got = a_->call("GET", "/v1/tables/sessions/items/user%2F1");
  ASSERT_EQ(got.status, 200);
  EXPECT_NE(got.body.find("123456789012345678901234567890"), std::string::npos) << got.body;
  EXPECT_EQ(got.header("etag"), "\"" + version + "\"");

  EXPECT_EQ(
      a_->call("PUT", "/v1/tables/sessions/items/user%2F1", "1", {{"If-Match", "\"nope\""}}).status,
      412);
  EXPECT_EQ(
      a_->call("PUT", "/v1/tables/sessions/items/user%2F1", "1", {{"If-None-Match", "*"}}).status,
      412);
  put = a_->call("PUT", "/v1/tables/sessions/items/user%2F1", "2",
                 {{"If-Match", "\"" + version + "\""}});
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_NE(json::parse(put.body)["version"], version);
  EXPECT_EQ(a_->call("DELETE", "/v1/tables/sessions/items/user%2F1", {},
                     {{"If-Match", "\"" + version + "\""}})
                .status,
            412);

  for (int i = 2; i <= 5; ++i)
    ASSERT_EQ(
        a_->call("PUT", fmt::format("/v1/tables/sessions/items/user%2F{}", i), std::to_string(i))
            .status,
        200);
  ASSERT_EQ(a_->call("PUT", "/v1/tables/sessions/items/zeta", "0").status, 200);
  std::vector<std::string> keys;
  std::string cursor;
  for (int page = 0; page < 10; ++page) {
    std::string target = "/v1/tables/sessions/items?prefix=user%2F&limit=2";
    if (!cursor.empty()) target += "&cursor=" + urlEncode(cursor);
    const HttpResponse listed = a_->call("GET", target);
    ASSERT_EQ(listed.status, 200) << listed.body;
    const json body = json::parse(listed.body);
    for (const auto& item : body["items"]) {
      keys.push_back(item["key"]);
      EXPECT_FALSE(item["version"].get<std::string>().empty());
    }
    if (body["next_cursor"].is_null()) break;
    cursor = body["next_cursor"];
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"user/1", "user/2", "user/3", "user/4", "user/5"}));
  EXPECT_EQ(a_->call("GET", "/v1/tables/sessions/items/absent").status, 404);
}

TEST_F(PeerTest, StrangersAndWrongTokensAreRefused) {
  EXPECT_EQ(curlPeer("a", kPeerToken), 200) << "a peer with our CA's certificate and the token";
  EXPECT_EQ(curlPeer("stranger", kPeerToken), 0) << "a certificate from another CA";
  EXPECT_EQ(curlPeer("", kPeerToken), 0) << "no client certificate";
  EXPECT_EQ(curlPeer("a", "wrong-token"), 401);
  EXPECT_EQ(curlPeer("a", kToken), 401) << "the app token must not open the peer listener";
  // ...nor the peer token the app listener.
  const HttpResponse app = httpRequest(b_->port(), "GET", "/v1/tables/sessions/items",
                                       {{"Authorization", std::string("Bearer ") + kPeerToken}});
  EXPECT_EQ(app.status, 401);
}

TEST_F(PeerTest, ARequestFromAPeerIsNeverForwardedAgain) {
  // B's "loop" binding is only a peer: B must refuse rather than forward.
  const HttpResponse r = a_->call("GET", "/v1/tables/loop/items/k");
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_NE(r.body.find("not forwarded"), std::string::npos) << r.body;
}

TEST_F(PeerTest, APeerThatIsDownIsUnavailableUntilItIsBack) {
  ASSERT_EQ(a_->call("PUT", "/v1/tables/sessions/items/k", "1").status, 200);
  ASSERT_EQ(b_->stop(SIGTERM), 0);
  HttpResponse r = a_->call("GET", "/v1/tables/sessions/items/k");
  EXPECT_EQ(r.status, 503) << r.body;
  r = a_->call("POST", "/v1/queues/jobs/messages", R"({"messages": [{"body": "x"}]})");
  EXPECT_EQ(r.status, 503) << r.body;
  startB();
  r = a_->call("GET", "/v1/tables/sessions/items/k");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "1");
}

} // namespace
} // namespace exoflow::proxy::testing
