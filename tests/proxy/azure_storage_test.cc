// exo-proxy with azure.queue, azure.blob and azure.table bindings against an Azurite started for
// the suite, checked with Microsoft's own npm clients (tests/support/azure_storage_client.js): what
// the proxy writes they read, and what they write the proxy serves (messages, blobs, entities); a
// 200 KiB message travels by claim check and its blob goes with the message; a paused Azurite and a
// refused connection answer 503 within the configured backend_timeout, and the proxy recovers by
// itself, also after Azurite restarts.
#include <chrono>
#include <csignal>
#include <memory>
#include <random>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "proxy/proxy_process.h"
#include "support/azurite_server.h"
#include "support/fake_server.h"

namespace exoflow::proxy::testing {
namespace {

using nlohmann::json;
using testsupport::AzuriteServer;

/// Microsoft's clients send an x-ms-version newer than Azurite 3.35 knows: this Azurite skips
/// the check (the proxy's pinned version needs no such leniency; the conformance suite runs
/// Azurite without it).
AzuriteServer& azurite() {
  static AzuriteServer server(true);
  return server;
}

std::string configFor(const std::string& queue, const std::string& table,
                      const std::string& queue_endpoint = azurite().queueEndpoint(),
                      const std::string& table_endpoint = azurite().tableEndpoint(),
                      const std::string& create = "true",
                      const std::string& blob_endpoint = azurite().blobEndpoint(),
                      bool objects = true) {
  const std::string assets =
      objects ? "  assets:\n"
                "    kind: objects\n"
                "    backends: [{type: azure.blob, account: devstoreaccount1, container: " +
                    queue + ", endpoint: " + blob_endpoint + ", create: " + create + "}]\n"
              : std::string();
  return "listen: 127.0.0.1:0\n"
         "token: ${EXO_TEST_TOKEN}\n"
         "data_dir: data\n"
         "limits: {backend_timeout: 2s}\n"
         "bindings:\n"
         "  orders:\n"
         "    kind: queue\n"
         "    backends: [{type: azure.queue, account: devstoreaccount1, queue: " +
         queue + ", endpoint: " + queue_endpoint + ", blob_endpoint: " + azurite().blobEndpoint() +
         ", create: " + create + "}]\n" + assets +
         "  sessions:\n"
         "    kind: kv\n"
         "    backends: [{type: azure.table, account: devstoreaccount1, table: " +
         table + ", endpoint: " + table_endpoint + ", create: " + create +
         "}]\n"
         "credentials:\n"
         "  azure: {source: shared_key, account_key: \"" +
         AzuriteServer::kAccountKey + "\"}\n";
}

/// Runs tests/support/azure_storage_client.js; its answer as JSON (null when it failed, with
/// the failure added).
json client(const std::string& args) {
  std::string out;
  const int code = azurite().client(args, &out);
  EXPECT_EQ(code, 0) << args << "\n" << out;
  if (code != 0) return nullptr;
  return json::parse(out, nullptr, false);
}

std::string quoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

class AzureStorageProxyTest : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_TRUE(azurite().available()) << azurite().why();
    std::random_device random;
    const std::string n = std::to_string(random() % 1000000);
    queue_ = "proxy-" + n;
    table_ = "proxy" + n;
    proxy_ = std::make_unique<ProxyProcess>(dir_.path(), configFor(queue_, table_));
    ASSERT_TRUE(proxy_->started()) << proxy_->errors();
  }

  TempDir dir_;
  std::string queue_;
  std::string table_;
  std::unique_ptr<ProxyProcess> proxy_;
};

TEST_F(AzureStorageProxyTest, WhatTheProxySendsMicrosoftsQueueClientReceives) {
  const HttpResponse sent = proxy_->call("POST", "/v1/queues/orders/messages",
                                         R"({"messages": [{"body": "from exo ✓ <&>"}]})");
  ASSERT_EQ(sent.status, 200) << sent.body;
  EXPECT_EQ(sent.header("x-exo-backend"), "azure.queue:devstoreaccount1");
  const std::string id = json::parse(sent.body)["messages"][0]["message_id"];

  const json got = client("queue-receive " + queue_);
  ASSERT_TRUE(got.is_object()) << got;
  EXPECT_EQ(got["messageText"], "from exo ✓ <&>");
  EXPECT_EQ(got["messageId"], id);
  EXPECT_EQ(got["dequeueCount"], 1);

  // With attributes the text is the envelope, JSON after its prefix.
  ASSERT_EQ(proxy_
                ->call("POST", "/v1/queues/orders/messages",
                       R"({"messages": [{"body": "b", "attributes": {"kind": "order"}}]})")
                .status,
            200);
  const json enveloped = client("queue-receive " + queue_);
  ASSERT_TRUE(enveloped.is_object()) << enveloped;
  const std::string text = enveloped["messageText"];
  ASSERT_EQ(text.rfind("exo1:", 0), 0U) << text;
  const json envelope = json::parse(text.substr(5));
  EXPECT_EQ(envelope["b"], "b");
  EXPECT_EQ(envelope["a"]["kind"], "order");
}

TEST_F(AzureStorageProxyTest, WhatMicrosoftsQueueClientSendsTheProxyDeliversAndDeletes) {
  const json sent = client("queue-send " + queue_ + " " + quoted("from the client ✓"));
  ASSERT_TRUE(sent.is_object()) << sent;
  // Base64 text from another producer is a body like any other: received as it is.
  ASSERT_TRUE(client("queue-send " + queue_ + " aGVsbG8=").is_object());

  const HttpResponse got =
      proxy_->call("GET", "/v1/queues/orders/messages?max=10&wait=2&visibility=30");
  ASSERT_EQ(got.status, 200) << got.body;
  const json messages = json::parse(got.body)["messages"];
  ASSERT_EQ(messages.size(), 2U) << got.body;
  std::map<std::string, json> by_body;
  for (const json& m : messages)
    by_body[m["body"]] = m;
  ASSERT_TRUE(by_body.count("from the client ✓")) << got.body;
  ASSERT_TRUE(by_body.count("aGVsbG8=")) << got.body;
  const json& first = by_body["from the client ✓"];
  EXPECT_EQ(first["message_id"], sent["messageId"]);
  EXPECT_EQ(first["receive_count"], 1);
  EXPECT_EQ(first["attributes"], json::object());

  const HttpResponse info = proxy_->call("GET", "/v1/queues/orders");
  ASSERT_EQ(info.status, 200) << info.body;
  EXPECT_EQ(json::parse(info.body)["approximate_in_flight"], 2) << info.body;

  for (const json& m : messages) {
    const HttpResponse deleted =
        proxy_->call("DELETE", "/v1/queues/orders/messages/" + m["receipt"].get<std::string>());
    EXPECT_EQ(deleted.status, 204) << deleted.body;
  }
  // Gone from Azure itself.
  const json count = client("queue-count " + queue_);
  ASSERT_TRUE(count.is_object()) << count;
  EXPECT_EQ(count["count"], 0);
}

TEST_F(AzureStorageProxyTest, ALargeMessageTravelsByClaimCheckAndItsBlobGoesWithIt) {
  std::string body(std::size_t{200} * 1024, 'x');
  for (std::size_t i = 0; i < body.size(); i += 1000)
    body[i] = static_cast<char>('a' + (i / 1000) % 26);
  const HttpResponse sent = proxy_->call("POST", "/v1/queues/orders/messages",
                                         json{{"messages", {{{"body", body}}}}}.dump());
  ASSERT_EQ(sent.status, 200) << sent.body;
  const json blobs = client("blob-count " + queue_ + "-spill");
  ASSERT_TRUE(blobs.is_object()) << blobs;
  EXPECT_EQ(blobs["count"], 1) << "the body is not in the claim-check container";

  const HttpResponse got = proxy_->call("GET", "/v1/queues/orders/messages?wait=2");
  ASSERT_EQ(got.status, 200);
  const json messages = json::parse(got.body)["messages"];
  ASSERT_EQ(messages.size(), 1U);
  EXPECT_TRUE(messages[0]["body"] == body) << "the body did not round-trip";
  const HttpResponse deleted = proxy_->call(
      "DELETE", "/v1/queues/orders/messages/" + messages[0]["receipt"].get<std::string>());
  EXPECT_EQ(deleted.status, 204) << deleted.body;
  const json after = client("blob-count " + queue_ + "-spill");
  ASSERT_TRUE(after.is_object()) << after;
  EXPECT_EQ(after["count"], 0) << "the claim-check blob outlived its message";
}

TEST_F(AzureStorageProxyTest, ObjectsAreBlobsMicrosoftsBlobClientReadsAndWrites) {
  // An ordinary key is the blob's name.
  const std::string key = "orders/2026/a b ✓.json";
  const std::string path = "/v1/buckets/assets/objects/orders/2026/a%20b%20%E2%9C%93.json";
  const HttpResponse put =
      proxy_->call("PUT", path, "from exo ✓", {{"Content-Type", "text/markdown"}});
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(put.header("x-exo-backend"), "azure.blob:devstoreaccount1");
  const json names = client("blob-names " + queue_);
  ASSERT_TRUE(names.is_object()) << names;
  EXPECT_EQ(names["names"], json::array({key}));
  const json got = client("blob-get " + queue_ + " " + quoted(key));
  ASSERT_TRUE(got.is_object()) << got;
  EXPECT_EQ(got["text"], "from exo ✓");
  EXPECT_EQ(got["contentType"], "text/markdown");

  // Written by the client: served with Azure's MD5 as the ETag.
  ASSERT_TRUE(client("blob-put " + queue_ + " " + quoted(key) + " " + quoted("from the client"))
                  .is_object());
  const HttpResponse read = proxy_->call("GET", path);
  ASSERT_EQ(read.status, 200) << read.body;
  EXPECT_EQ(read.body, "from the client");
  EXPECT_EQ(read.header("content-type"), "text/plain");
  EXPECT_EQ(read.header("etag"), "\"bf973519da30f2f3543d83f363289373\"") << "not the body's MD5";
  const HttpResponse listed = proxy_->call("GET", "/v1/buckets/assets/objects?prefix=orders/");
  ASSERT_EQ(listed.status, 200) << listed.body;
  const json objects = json::parse(listed.body)["objects"];
  ASSERT_EQ(objects.size(), 1U) << listed.body;
  EXPECT_EQ(objects[0]["key"], key);
  EXPECT_EQ(objects[0]["etag"], read.header("etag"));
}

/// Every page of a listing through the proxy: objects' keys and "prefix:"-marked prefixes, each
/// page's in key order.
std::vector<std::string> listAll(ProxyProcess& proxy, const std::string& query, int* pages) {
  std::vector<std::string> out;
  std::string cursor;
  for (*pages = 0; *pages < 50; ++*pages) {
    const HttpResponse page = proxy.call("GET", "/v1/buckets/assets/objects?limit=2&" + query +
                                                    (cursor.empty() ? "" : "&cursor=" + cursor));
    EXPECT_EQ(page.status, 200) << page.body;
    if (page.status != 200) break;
    const json body = json::parse(page.body);
    std::vector<std::string> entries;
    for (const json& o : body["objects"])
      entries.push_back(o["key"]);
    for (const json& p : body["prefixes"])
      entries.push_back("prefix:" + p.get<std::string>());
    std::sort(entries.begin(), entries.end(), [](const std::string& a, const std::string& b) {
      auto bare = [](const std::string& e) { return e.rfind("prefix:", 0) == 0 ? e.substr(7) : e; };
      return bare(a) < bare(b);
    });
    out.insert(out.end(), entries.begin(), entries.end());
    if (body["next_cursor"].is_null()) {
      ++*pages;
      break;
    }
    cursor = body["next_cursor"];
  }
  return out;
}

// A key Azure would refuse or change ("." segments, a trailing dot, an empty segment, a
// backslash) is stored whole below "~" as letter pairs (names.h); Microsoft's client reads and
// writes it by that name, and listings stay in key order across natural and escaped keys.
TEST_F(AzureStorageProxyTest, KeysAzureCannotHoldAreEscapedAndListedInKeyOrder) {
  for (const std::string path :
       {"reports/2026/q1.pdf", "reports/2026-old", "reports/x", "reports/.%2Fdraft.",
        "reports/%2Fempty", "reports/a%5Cb", "reports/2026/.%2Fx"}) {
    const HttpResponse put = proxy_->call("PUT", "/v1/buckets/assets/objects/" + path, path);
    ASSERT_EQ(put.status, 200) << path << ": " << put.body;
  }
  const json names = client("blob-names " + queue_);
  ASSERT_TRUE(names.is_object()) << names;
  const std::vector<std::string> on_azure = names["names"];
  for (const char* natural : {"reports/2026/q1.pdf", "reports/2026-old", "reports/x"}) {
    EXPECT_NE(std::find(on_azure.begin(), on_azure.end(), natural), on_azure.end()) << natural;
  }
  EXPECT_EQ(on_azure.size(), 7U) << names;
  const json draft = client("blob-get " + queue_ + " '~HcGfHaGpHcHeHdCpCoCpGeHcGbGgHeCo'");
  ASSERT_TRUE(draft.is_object()) << draft;
  EXPECT_EQ(draft["text"], "reports/.%2Fdraft.");
  // The client writes "notes/.." by its escaped name; the proxy serves it by its key.
  ASSERT_TRUE(client("blob-put " + queue_ + " '~GoGpHeGfHdCpCoCo' " + quoted("dots")).is_object());
  const HttpResponse dots = proxy_->call("GET", "/v1/buckets/assets/objects/notes/%2E%2E");
  ASSERT_EQ(dots.status, 200) << dots.body;
  EXPECT_EQ(dots.body, "dots");

  int pages = 0;
  EXPECT_EQ(listAll(*proxy_, "prefix=", &pages),
            (std::vector<std::string>{"notes/..", "reports/./draft.", "reports//empty",
                                      "reports/2026-old", "reports/2026/./x", "reports/2026/q1.pdf",
                                      "reports/a\\b", "reports/x"}));
  EXPECT_EQ(pages, 4);
  EXPECT_EQ(listAll(*proxy_, "prefix=reports/&delimiter=/", &pages),
            (std::vector<std::string>{"prefix:reports/./", "prefix:reports//", "reports/2026-old",
                                      "prefix:reports/2026/", "reports/a\\b", "reports/x"}));
  // "reports/2026/" ends the second page from the natural range; the escaped range's (of
  // "reports/2026/./x") is not listed again on the third.
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(listAll(*proxy_, "prefix=reports/.&delimiter=/", &pages),
            (std::vector<std::string>{"prefix:reports/./"}));
}

TEST_F(AzureStorageProxyTest, TableItemsAndTheirVersionsAreSharedWithMicrosoftsTableClient) {
  // An ordinary key is the entity's RowKey.
  const std::string key = "user:42 ✓";
  const std::string path = "/v1/tables/sessions/items/user:42%20%E2%9C%93";
  const HttpResponse put = proxy_->call("PUT", path, R"({"n": 1})");
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(put.header("x-exo-backend"), "azure.table:devstoreaccount1");
  const std::string etag = put.header("etag");

  const json entity = client("table-get " + table_ + " exo " + quoted(key));
  ASSERT_TRUE(entity.is_object()) << entity;
  EXPECT_EQ(json::parse(entity["v0"].get<std::string>()), json({{"n", 1}})) << entity;
  EXPECT_EQ(entity["n"], 1);

  // The client writes over the proxy's version with If-Match; the proxy's old version then fails.
  json update = {{"partitionKey", "exo"}, {"rowKey", key}, {"n", 1}, {"v0", R"({"n": 2})"}};
  const json updated =
      client("table-update " + table_ + " " + quoted(update.dump()) + " " + quoted(entity["etag"]));
  ASSERT_TRUE(updated.is_object() && updated.contains("etag")) << updated;
  const HttpResponse got = proxy_->call("GET", path);
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(json::parse(got.body), json({{"n", 2}}));
  EXPECT_NE(got.header("etag"), etag);
  const HttpResponse stale = proxy_->call("PUT", path, "3", {{"If-Match", etag}});
  EXPECT_EQ(stale.status, 412) << stale.body;

  // And the other way: the client's stale ETag fails once the proxy wrote.
  const HttpResponse next = proxy_->call("PUT", path, "4", {{"If-Match", got.header("etag")}});
  ASSERT_EQ(next.status, 200) << next.body;
  const json refused = client("table-update " + table_ + " " + quoted(update.dump()) + " " +
                              quoted(updated["etag"]));
  EXPECT_EQ(refused["error"], 412) << refused;
}

// Table forbids / \ # ? in keys: such a key is stored below "~" as letter pairs, which the
// client reads and writes by that RowKey, and listings keep the keys' order.
TEST_F(AzureStorageProxyTest, TableKeysWithCharactersAzureForbidsAreEscaped) {
  ASSERT_EQ(proxy_->call("PUT", "/v1/tables/sessions/items/user%2F1%23%3F", "1").status, 200);
  ASSERT_EQ(proxy_->call("PUT", "/v1/tables/sessions/items/user0", "2").status, 200);
  const json rows = client("table-row-keys " + table_ + " exo");
  ASSERT_TRUE(rows.is_object()) << rows;
  EXPECT_EQ(rows["rowKeys"], json::array({"user0", "~HfHdGfHcCpDbCdDp"}));
  const json entity = client("table-get " + table_ + " exo '~HfHdGfHcCpDbCdDp'");
  ASSERT_TRUE(entity.is_object()) << entity;
  EXPECT_EQ(entity["v0"], "1");
  const json written = {{"partitionKey", "exo"}, {"rowKey", "~GbCpGc"}, {"n", 1}, {"v0", "3"}};
  ASSERT_TRUE(client("table-upsert " + table_ + " " + quoted(written.dump())).is_object());
  const HttpResponse got = proxy_->call("GET", "/v1/tables/sessions/items/a%2Fb");
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(got.body, "3");
  const HttpResponse listed = proxy_->call("GET", "/v1/tables/sessions/items?limit=2");
  ASSERT_EQ(listed.status, 200) << listed.body;
  const json items = json::parse(listed.body)["items"];
  ASSERT_EQ(items.size(), 2U) << listed.body;
  EXPECT_EQ(items[0]["key"], "a/b");
  EXPECT_EQ(items[1]["key"], "user/1#?") << "'/' sorts before '0' whatever the RowKeys";
}

// Azurite stopped (SIGSTOP; a killed Azurite would forget its queues): calls answer 503 within
// the configured backend_timeout (2 s here) instead of hanging, and once Azurite runs again the
// proxy serves again by itself.
TEST_F(AzureStorageProxyTest, APausedAzuriteIsUnavailableWithinTheTimeoutAndTheProxyRecovers) {
  const std::string send = R"({"messages": [{"body": "m"}]})";
  ASSERT_EQ(proxy_->call("POST", "/v1/queues/orders/messages", send).status, 200);
  ASSERT_EQ(proxy_->call("PUT", "/v1/tables/sessions/items/k", "1").status, 200);
  ASSERT_EQ(::kill(azurite().pid(), SIGSTOP), 0);
  struct Resume {
    ~Resume() { ::kill(azurite().pid(), SIGCONT); }
  } resume;
  for (const auto& [method, target] :
       {std::pair<std::string, std::string>{"POST", "/v1/queues/orders/messages"},
        {"GET", "/v1/queues/orders/messages?wait=1"},
        {"GET", "/v1/queues/orders"},
        {"GET", "/v1/tables/sessions/items/k"},
        {"PUT", "/v1/tables/sessions/items/k"}}) {
    const auto start = std::chrono::steady_clock::now();
    const std::string body = method == "POST" ? send : method == "PUT" ? "2" : "";
    const HttpResponse r = proxy_->call(method, target, body);
    const auto took = std::chrono::steady_clock::now() - start;
    EXPECT_EQ(r.status, 503) << method << " " << target << ": " << r.body;
    EXPECT_EQ(json::parse(r.body, nullptr, false)["error"]["code"], "Unavailable") << r.body;
    // backend_timeout is 2 s: the bound leaves room for a loaded machine, not for a hang.
    EXPECT_LT(took, std::chrono::seconds(10)) << method << " " << target;
  }
  ASSERT_EQ(::kill(azurite().pid(), SIGCONT), 0);
  int status = 0;
  for (int i = 0; i < 50 && status != 200; ++i) {
    status = proxy_->call("POST", "/v1/queues/orders/messages", send).status;
    if (status != 200) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_EQ(status, 200) << "the proxy did not recover after Azurite resumed";
  const HttpResponse got = proxy_->call("GET", "/v1/queues/orders/messages?max=10&wait=2");
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_FALSE(json::parse(got.body)["messages"].empty());
  EXPECT_EQ(proxy_->call("GET", "/v1/tables/sessions/items/k").status, 200);
}

// Azurite stopped (its ports refuse) and started again on the same ports and data: 503 while
// it is down, served again once it is back, with what was sent before.
TEST_F(AzureStorageProxyTest, AnAzuriteRestartIsUnavailableWhileDownAndServedAfter) {
  ASSERT_EQ(proxy_
                ->call("POST", "/v1/queues/orders/messages",
                       R"({"messages": [{"body": "before the restart"}]})")
                .status,
            200);
  ASSERT_EQ(proxy_->call("PUT", "/v1/tables/sessions/items/k", "1").status, 200);
  azurite().stop();
  const HttpResponse down = proxy_->call("GET", "/v1/queues/orders");
  EXPECT_EQ(down.status, 503) << down.body;
  EXPECT_EQ(proxy_->call("GET", "/v1/tables/sessions/items/k").status, 503);
  ASSERT_TRUE(azurite().restart()) << azurite().why();
  const HttpResponse got = proxy_->call("GET", "/v1/queues/orders/messages?wait=2");
  ASSERT_EQ(got.status, 200) << got.body;
  const json messages = json::parse(got.body)["messages"];
  ASSERT_EQ(messages.size(), 1U) << got.body;
  EXPECT_EQ(messages[0]["body"], "before the restart");
  const HttpResponse item = proxy_->call("GET", "/v1/tables/sessions/items/k");
  EXPECT_EQ(item.status, 200) << item.body;
  EXPECT_EQ(item.body, "1");
}

TEST(AzureStorageProxyStartTest, ARefusedConnectionIsUnavailable) {
  ASSERT_TRUE(azurite().available()) << azurite().why();
  const std::string endpoint =
      "http://127.0.0.1:" + std::to_string(testsupport::unusedPort()) + "/devstoreaccount1";
  TempDir dir;
  ProxyProcess proxy(dir.path(),
                     configFor("orders", "sessions", endpoint, endpoint, "false", endpoint));
  ASSERT_TRUE(proxy.started()) << proxy.errors();
  for (const auto& [method, target] :
       {std::pair<std::string, std::string>{"POST", "/v1/queues/orders/messages"},
        {"GET", "/v1/buckets/assets/objects/k"},
        {"GET", "/v1/tables/sessions/items/k"}}) {
    const HttpResponse r = proxy.call(method, target, R"({"messages": [{"body": "m"}]})");
    EXPECT_EQ(r.status, 503) << r.body;
    EXPECT_EQ(json::parse(r.body, nullptr, false)["error"]["code"], "Unavailable") << r.body;
  }
}

// On an Azure node the backends name the region the proxy's identity gives (their endpoints
// name only the account); elsewhere the account.
TEST(AzureStorageProxyStartTest, OnAnAzureNodeTheBackendsNameItsRegion) {
  ASSERT_TRUE(azurite().available()) << azurite().why();
  TempDir dir;
  ProxyProcess proxy(dir.path(), "identity: {cloud: azure, region: eastus}\n" +
                                     configFor("region-queue", "regiontable"));
  ASSERT_TRUE(proxy.started()) << proxy.errors();
  const HttpResponse sent =
      proxy.call("POST", "/v1/queues/orders/messages", R"({"messages": [{"body": "m"}]})");
  EXPECT_EQ(sent.status, 200) << sent.body;
  EXPECT_EQ(sent.header("x-exo-backend"), "azure.queue:eastus");
  const HttpResponse put = proxy.call("PUT", "/v1/buckets/assets/objects/k", "v");
  EXPECT_EQ(put.header("x-exo-backend"), "azure.blob:eastus");
  const HttpResponse item = proxy.call("PUT", "/v1/tables/sessions/items/k", "1");
  EXPECT_EQ(item.header("x-exo-backend"), "azure.table:eastus");

  TempDir aws_dir;
  ProxyProcess on_aws(aws_dir.path(), "identity: {cloud: aws, region: us-east-1}\n" +
                                          configFor("region-queue", "regiontable"));
  ASSERT_TRUE(on_aws.started()) << on_aws.errors();
  EXPECT_EQ(on_aws.call("PUT", "/v1/tables/sessions/items/k", "2").header("x-exo-backend"),
            "azure.table:devstoreaccount1");
}

TEST(AzureStorageProxyStartTest, AQueueThatDoesNotExistStopsTheStartNamingIt) {
  ASSERT_TRUE(azurite().available()) << azurite().why();
  TempDir dir;
  ProxyProcess proxy(dir.path(), configFor("no-such-queue", "nosuchtable",
                                           azurite().queueEndpoint(), azurite().tableEndpoint(),
                                           "false", azurite().blobEndpoint(), false));
  EXPECT_FALSE(proxy.started());
  EXPECT_EQ(proxy.wait(30'000), 1);
  EXPECT_NE(proxy.errors().find("Azure queue \"no-such-queue\""), std::string::npos)
      << proxy.errors();
}

} // namespace
} // namespace exoflow::proxy::testing
