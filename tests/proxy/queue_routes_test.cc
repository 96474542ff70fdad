// Queue routes of the real exo-proxy on local.sqlite: send, receive, long polling, delete,
// visibility, dead letters, dedup, queue info and list, and what the API refuses.
#include <future>
#include <thread>

#include "proxy/proxy_fixture.h"

namespace exoflow::proxy::testing {
namespace {

using nlohmann::json;

class QueueRoutesTest : public ProxyFixture {
protected:
  HttpResponse send(const std::string& queue, const json& messages) {
    return call("POST", "/v1/queues/" + queue + "/messages", json{{"messages", messages}}.dump());
  }
  json receive(const std::string& queue, const std::string& query = "") {
    const HttpResponse r = call("GET", "/v1/queues/" + queue + "/messages" + query);
    EXPECT_EQ(r.status, 200) << r.body;
    return parse(r)["messages"];
  }
};

TEST_F(QueueRoutesTest, SendsAndReceivesWithAttributes) {
  const HttpResponse sent = send(
      "orders",
      json::array({{{"body", "first"}, {"attributes", {{"kind", "new"}}}}, {{"body", "second"}}}));
  ASSERT_EQ(sent.status, 200) << sent.body;
  EXPECT_EQ(sent.header("x-exo-backend"), "local.sqlite");
  const json ids = parse(sent)["messages"];
  ASSERT_EQ(ids.size(), 2U);
  const json got = receive("orders", "?max=10");
  ASSERT_EQ(got.size(), 2U);
  std::map<std::string, json> by_body;
  for (const json& m : got)
    by_body[m["body"]] = m;
  EXPECT_EQ(by_body["first"]["attributes"], json({{"kind", "new"}}));
  EXPECT_EQ(by_body["second"]["attributes"], json::object()) << "no attributes: {}";
  EXPECT_EQ(by_body["first"]["message_id"], ids[0]["message_id"]);
  EXPECT_EQ(by_body["second"]["message_id"], ids[1]["message_id"]);
  EXPECT_EQ(by_body["first"]["receive_count"], 1);
  const std::string receipt = by_body["first"]["receipt"];
  EXPECT_EQ(receipt.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                      "0123456789-_"),
            std::string::npos);
}

TEST_F(QueueRoutesTest, AnEmptyQueueAnswersAnEmptyList) {
  const HttpResponse r = call("GET", "/v1/queues/orders/messages");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(parse(r), json::parse(R"({"messages": []})"));
  EXPECT_EQ(r.header("x-exo-backend"), "local.sqlite");
}

TEST_F(QueueRoutesTest, DeleteRemovesAndUnknownReceiptsAre404) {
  ASSERT_EQ(send("orders", json::array({{{"body", "x"}}})).status, 200);
  const json got = receive("orders");
  ASSERT_EQ(got.size(), 1U);
  const std::string receipt = got[0]["receipt"];
  const HttpResponse deleted = call("DELETE", "/v1/queues/orders/messages/" + receipt);
  EXPECT_EQ(deleted.status, 204);
  EXPECT_TRUE(deleted.body.empty());
  EXPECT_EQ(deleted.header("x-exo-backend"), "local.sqlite");
  const HttpResponse again = call("DELETE", "/v1/queues/orders/messages/" + receipt);
  EXPECT_TRUE(again.status == 204 || again.status == 404) << again.status;
  const HttpResponse bogus = call("DELETE", "/v1/queues/orders/messages/not-a-receipt");
  expectError(bogus, 404, "NotFound");
  EXPECT_EQ(bogus.header("x-exo-backend"), "local.sqlite") << "a backend 404";
  expectError(call("PATCH", "/v1/queues/orders/messages/%2F%2F", R"({"visibility": 1})"), 404,
              "NotFound");
}

TEST_F(QueueRoutesTest, BatchDeleteAnswersEachReceiptInOrder) {
  ASSERT_EQ(send("orders", json::array({{{"body", "x"}}, {{"body", "y"}}})).status, 200);
  const json got = receive("orders", "?max=10");
  ASSERT_EQ(got.size(), 2U);
  const json receipts = {got[0]["receipt"], "not-a-receipt", got[1]["receipt"], got[0]["receipt"]};
  const HttpResponse r =
      call("POST", "/v1/queues/orders/messages/delete", json{{"receipts", receipts}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-exo-backend"), "local.sqlite");
  const json results = parse(r)["results"];
  ASSERT_EQ(results.size(), 4U) << r.body;
  for (std::size_t i = 0; i < results.size(); ++i)
    EXPECT_EQ(results[i]["receipt"], receipts[i]) << r.body;
  EXPECT_EQ(results[0]["status"], 204);
  EXPECT_FALSE(results[0].contains("error"));
  EXPECT_EQ(results[1]["status"], 404);
  EXPECT_EQ(results[1]["error"]["code"], "NotFound");
  EXPECT_EQ(results[2]["status"], 204);
  EXPECT_TRUE(results[3]["status"] == 204 || results[3]["status"] == 404) << r.body;
  EXPECT_EQ(parse(call("GET", "/v1/queues/orders"))["approximate_in_flight"], 0);
}

TEST_F(QueueRoutesTest, RefusesBadBatchDeletes) {
  const std::string path = "/v1/queues/orders/messages/delete";
  for (const std::string& body :
       {std::string("not json"), std::string("[]"), std::string(R"({"receipts": "r"})"),
        std::string(R"({"receipts": []})"), std::string(R"({"receipts": [1]})"),
        std::string(R"({"receipts": [""]})"),
        json{{"receipts", std::vector<std::string>(11, "r")}}.dump()}) {
    expectError(call("POST", path, body), 400, "InvalidArgument");
  }
  expectError(call("DELETE", path), 405, "MethodNotAllowed");
  expectError(call("POST", "/v1/queues/nosuch/messages/delete", R"({"receipts": ["r"]})"), 404,
              "NotFound");
  expectError(call("POST", path, std::string(70 * 1024, ' ')), 413, "PayloadTooLarge");
}

TEST_F(QueueRoutesTest, VisibilityZeroMakesAMessageVisibleAgain) {
  ASSERT_EQ(send("orders", json::array({{{"body", "again"}}})).status, 200);
  const json first = receive("orders");
  ASSERT_EQ(first.size(), 1U);
  EXPECT_TRUE(receive("orders").empty()) << "invisible for 30s";
  const std::string receipt = first[0]["receipt"];
  const HttpResponse patched =
      call("PATCH", "/v1/queues/orders/messages/" + receipt, R"({"visibility": 0})");
  EXPECT_EQ(patched.status, 204) << patched.body;
  const json second = receive("orders");
  ASSERT_EQ(second.size(), 1U);
  EXPECT_EQ(second[0]["receive_count"], 2);
  expectError(call("PATCH", "/v1/queues/orders/messages/" + receipt, R"({"visibility": -1})"), 400,
              "InvalidArgument");
  expectError(call("PATCH", "/v1/queues/orders/messages/" + receipt, R"({"visibility": 43201})"),
              400, "InvalidArgument");
  expectError(call("PATCH", "/v1/queues/orders/messages/" + receipt, "not json"), 400,
              "InvalidArgument");
}

TEST_F(QueueRoutesTest, MovesAMessageReceivedTooOftenToTheDeadLetterQueue) {
  ASSERT_EQ(send("orders", json::array({{{"body", "poison"}}})).status, 200);
  for (int i = 0; i < 2; ++i) {
    const json got = receive("orders", "?visibility=0");
    ASSERT_EQ(got.size(), 1U) << "receive " << i;
  }
  EXPECT_TRUE(receive("orders", "?visibility=0").empty()) << "received more than twice: moved";
  const json dead = receive("orders-dlq");
  ASSERT_EQ(dead.size(), 1U);
  EXPECT_EQ(dead[0]["body"], "poison");
}

TEST_F(QueueRoutesTest, ADedupIdIsAcceptedOnce) {
  const HttpResponse first =
      send("orders",
           json::array({{{"body", "a"}, {"dedup_id", "d1"}}, {{"body", "b"}, {"dedup_id", "d1"}}}));
  ASSERT_EQ(first.status, 200) << first.body;
  const json ids = parse(first)["messages"];
  EXPECT_EQ(ids[0]["message_id"], ids[1]["message_id"]);
  const HttpResponse later = send("orders", json::array({{{"body", "c"}, {"dedup_id", "d1"}}}));
  EXPECT_EQ(parse(later)["messages"][0]["message_id"], ids[0]["message_id"]);
  EXPECT_EQ(receive("orders", "?max=10").size(), 1U);
}

TEST_F(QueueRoutesTest, ALongPollWakesWhenAMessageArrives) {
  auto poll = std::async(std::launch::async,
                         [this] { return call("GET", "/v1/queues/orders/messages?wait=20"); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ASSERT_EQ(send("orders", json::array({{{"body", "wake up"}}})).status, 200);
  const HttpResponse r = poll.get();
  ASSERT_EQ(r.status, 200) << r.body;
  const json messages = parse(r)["messages"];
  ASSERT_EQ(messages.size(), 1U) << "the poll returns the message, not an empty list";
  EXPECT_EQ(messages[0]["body"], "wake up");
}

TEST_F(QueueRoutesTest, RefusesQueryParametersOutOfRange) {
  for (const char* query : {"?max=0", "?max=11", "?max=abc", "?max=", "?wait=21", "?wait=-1",
                            "?visibility=43201", "?max=1.5", "?max=%zz"}) {
    expectError(call("GET", std::string("/v1/queues/orders/messages") + query), 400,
                "InvalidArgument");
  }
  EXPECT_EQ(call("GET", "/v1/queues/orders/messages?max=10&wait=0&visibility=43200").status, 200);
}

TEST_F(QueueRoutesTest, RefusesBadBatches) {
  for (const char* body :
       {"not json", "[]", R"({"messages": []})", R"({"messages": {}})", R"({"messages": [1]})",
        R"({"messages": [{"body": ""}]})", R"({"messages": [{"body": 5}]})",
        R"({"messages": [{"body": "x", "attributes": {"bad name": "v"}}]})",
        R"({"messages": [{"body": "x", "attributes": {"n": 1}}]})",
        R"({"messages": [{"body": "x", "attributes": []}]})",
        R"({"messages": [{"body": "x", "dedup_id": 7}]})"}) {
    expectError(call("POST", "/v1/queues/orders/messages", body), 400, "InvalidArgument");
  }
  json eleven = json::array();
  for (int i = 0; i < 11; ++i)
    eleven.push_back({{"body", "x"}});
  expectError(send("orders", eleven), 400, "InvalidArgument");
  json attributes = json::object();
  for (int i = 0; i < 11; ++i)
    attributes["a" + std::to_string(i)] = "v";
  expectError(send("orders", json::array({{{"body", "x"}, {"attributes", attributes}}})), 400,
              "InvalidArgument");
}

TEST_F(QueueRoutesTest, RefusesCharactersQueuesDoNotCarry) {
  for (const char* body : {"\\u0000", "a\\u0001b", "\\u000b", "\\ufffe", "\\uffff"}) {
    expectError(call("POST", "/v1/queues/orders/messages",
                     std::string(R"({"messages": [{"body": ")") + body + "\"}]}"),
                400, "InvalidArgument");
  }
  const std::string allowed = R"({"messages": [{"body": "tab\t lf\n cr\r é 😀 \ud7ff \ue000"}]})";
  EXPECT_EQ(call("POST", "/v1/queues/orders/messages", allowed).status, 200);
}

TEST_F(QueueRoutesTest, BodiesOverMaxMessageSizeAre413) {
  // events has max_message_size 1KiB.
  expectError(send("events", json::array({{{"body", std::string(1025, 'x')}}})), 413,
              "PayloadTooLarge");
  EXPECT_EQ(send("events", json::array({{{"body", std::string(1024, 'x')}}})).status, 200);
  // Counted in UTF-8 bytes: 342 three-byte characters are 1026 bytes.
  std::string wide;
  for (int i = 0; i < 342; ++i)
    wide += "€";
  expectError(send("events", json::array({{{"body", wide}}})), 413, "PayloadTooLarge");
  EXPECT_EQ(send("orders", json::array({{{"body", std::string(256 * 1024, 'y')}}})).status, 200);
  expectError(send("orders", json::array({{{"body", std::string(256 * 1024 + 1, 'y')}}})), 413,
              "PayloadTooLarge");
}

TEST_F(QueueRoutesTest, NamesAreCheckedAndUnknownQueuesAre404) {
  expectError(call("GET", "/v1/queues/nosuch/messages"), 404, "NotFound");
  expectError(call("GET", "/v1/queues/Bad_Name/messages"), 400, "InvalidArgument");
  expectError(call("GET", "/v1/queues/assets"), 404, "NotFound");
}

TEST_F(QueueRoutesTest, ListsQueuesWithDeadLetterQueuesAndDescribesOne) {
  const HttpResponse list = call("GET", "/v1/queues");
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(parse(list), json::parse(R"({"queues": ["events", "orders", "orders-dlq"]})"));
  ASSERT_EQ(send("orders", json::array({{{"body", "1"}}, {{"body", "2"}}})).status, 200);
  ASSERT_EQ(receive("orders").size(), 1U);
  const HttpResponse info = call("GET", "/v1/queues/orders");
  ASSERT_EQ(info.status, 200) << info.body;
  EXPECT_EQ(parse(info), json::parse(R"({"name": "orders", "approximate_messages": 1,
      "approximate_in_flight": 1, "backend": "local.sqlite"})"));
  EXPECT_EQ(info.header("x-exo-backend"), "local.sqlite");
}

TEST_F(QueueRoutesTest, CurlSendsAndReceives) {
  std::string out;
  ASSERT_EQ(runCommand(curlPrefix() + "-X POST -d '{\"messages\": [{\"body\": \"via curl\"}]}' " +
                           base() + "/v1/queues/orders/messages",
                       &out),
            0);
  EXPECT_EQ(json::parse(out)["messages"].size(), 1U) << out;
  ASSERT_EQ(runCommand(curlPrefix() + "'" + base() + "/v1/queues/orders/messages?wait=1'", &out),
            0);
  const json got = json::parse(out)["messages"];
  ASSERT_EQ(got.size(), 1U) << out;
  EXPECT_EQ(got[0]["body"], "via curl") << out;
  ASSERT_EQ(runCommand(curlPrefix() + "-X POST -d '" +
                           json{{"receipts", {got[0]["receipt"]}}}.dump() + "' " + base() +
                           "/v1/queues/orders/messages/delete",
                       &out),
            0);
  EXPECT_EQ(json::parse(out)["results"][0]["status"], 204) << out;
}

} // namespace
} // namespace exoflow::proxy::testing
