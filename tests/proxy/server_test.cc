// The HTTP layer of the real exo-proxy binary: auth before routing, 404/405, the errors the
// HTTP layer answers itself (400, 413, 431), keep-alive, chunked bodies, Expect: 100-continue,
// slow clients, the connection limit, and the drain on SIGTERM. Nothing here times anything.
#include <csignal>
#include <future>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "proxy/proxy_fixture.h"

namespace exoflow::proxy::testing {
namespace {

using nlohmann::json;

using ServerTest = ProxyFixture;

TEST_F(ServerTest, PrintsTheAddressItListensOnFirst) {
  EXPECT_EQ(proxy_->firstLine(), "listening on 127.0.0.1:" + std::to_string(proxy_->port()));
}

TEST_F(ServerTest, RefusesRequestsWithoutTheTokenBeforeRouting) {
  for (const char* target : {"/v1/queues", "/v1/queues/orders/messages", "/v1/nothing-here",
                             "/elsewhere", "/v1/status"}) {
    const HttpResponse r = httpRequest(proxy_->port(), "GET", target);
    expectError(r, 401, "Unauthenticated");
    EXPECT_EQ(r.header("www-authenticate"), "Bearer") << target;
  }
  const HttpResponse wrong =
      httpRequest(proxy_->port(), "GET", "/v1/queues", {{"Authorization", "Bearer nope"}});
  expectError(wrong, 401, "Unauthenticated");
  const HttpResponse basic =
      httpRequest(proxy_->port(), "GET", "/v1/queues", {{"Authorization", "Basic dGVzdA=="}});
  expectError(basic, 401, "Unauthenticated");
}

TEST_F(ServerTest, AcceptsTheBearerSchemeInAnyCase) {
  const HttpResponse r = httpRequest(proxy_->port(), "GET", "/v1/queues",
                                     {{"authorization", std::string("bearer ") + kToken}});
  EXPECT_EQ(r.status, 200) << r.body;
}

TEST_F(ServerTest, UnknownRoutesAre404AndWrongMethods405) {
  expectError(proxy_->call("GET", "/v1/nothing"), 404, "NotFound");
  expectError(proxy_->call("GET", "/v1/queues/orders/other"), 404, "NotFound");
  expectError(proxy_->call("GET", "/nothing"), 404, "NotFound");
  const HttpResponse r = proxy_->call("PUT", "/v1/queues/orders/messages", "{}");
  expectError(r, 405, "MethodNotAllowed");
  EXPECT_EQ(r.header("allow"), "GET, POST");
  expectError(proxy_->call("POST", "/v1/tables/sessions/items/k", "{}"), 405, "MethodNotAllowed");
  expectError(proxy_->call("DELETE", "/healthz"), 405, "MethodNotAllowed");
}

TEST_F(ServerTest, EveryResponseHasItsOwnRequestId) {
  std::set<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    const HttpResponse r = i % 2 == 0 ? proxy_->call("GET", "/v1/queues")
                                      : httpRequest(proxy_->port(), "GET", "/healthz");
    ASSERT_TRUE(r.has("x-exo-request-id"));
    ids.insert(r.header("x-exo-request-id"));
  }
  EXPECT_EQ(ids.size(), 5U);
}

TEST_F(ServerTest, HeadersOver16KiBAre431WithARequestId) {
  HttpConnection c(proxy_->port());
  const std::string big(17 * 1024, 'a');
  auto r = c.request("GET", "/v1/queues", ProxyProcess::auth({{"X-Big", big}}));
  ASSERT_TRUE(r);
  expectError(*r, 431, "HeadersTooLarge");
  EXPECT_TRUE(r->has("x-exo-request-id"));
}

TEST_F(ServerTest, MalformedRequestsAre400WithARequestId) {
  HttpConnection c(proxy_->port());
  ASSERT_TRUE(c.send("GARBAGE\r\n\r\n"));
  auto r = c.read();
  ASSERT_TRUE(r);
  expectError(*r, 400, "InvalidArgument");
  HttpConnection bad_chunk(proxy_->port());
  std::string text = "PUT /v1/tables/sessions/items/k HTTP/1.1\r\nHost: x\r\nAuthorization: "
                     "Bearer " +
                     std::string(kToken) +
                     "\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nnot hex\r\n0\r\n\r\n";
  ASSERT_TRUE(bad_chunk.send(text));
  auto chunk_reply = bad_chunk.read();
  ASSERT_TRUE(chunk_reply);
  expectError(*chunk_reply, 400, "InvalidArgument");
}

TEST_F(ServerTest, BodiesOverTheRouteLimitAre413) {
  const std::string value = "\"" + std::string(256 * 1024, 'x') + "\"";
  expectError(proxy_->call("PUT", "/v1/tables/sessions/items/big", value), 413, "PayloadTooLarge");
}

TEST_F(ServerTest, KeepsTheConnectionAliveAcrossRequests) {
  HttpConnection c(proxy_->port());
  for (int i = 0; i < 5; ++i) {
    auto r = c.request("PUT", "/v1/tables/sessions/items/k" + std::to_string(i),
                       ProxyProcess::auth(), std::to_string(i));
    ASSERT_TRUE(r) << "request " << i << " on the same connection";
    EXPECT_EQ(r->status, 200) << r->body;
    EXPECT_FALSE(r->header("connection") == "close");
  }
  // Errors that leave the body read keep the connection too.
  auto missing = c.request("GET", "/v1/tables/sessions/items/none", ProxyProcess::auth());
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  auto unauthorized = c.request("PUT", "/v1/tables/sessions/items/x", {}, "1");
  ASSERT_TRUE(unauthorized);
  EXPECT_EQ(unauthorized->status, 401);
  auto again = c.request("GET", "/v1/tables/sessions/items/k4", ProxyProcess::auth());
  ASSERT_TRUE(again);
  EXPECT_EQ(again->body, "4");
}

TEST_F(ServerTest, AnswersPipelinedRequestsInOrder) {
  HttpConnection c(proxy_->port());
  std::string two;
  for (const char* key : {"a", "b"}) {
    two += std::string("GET /v1/tables/sessions/items/") + key +
           " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + kToken + "\r\n\r\n";
  }
  ASSERT_TRUE(c.send(two));
  auto first = c.read();
  auto second = c.read();
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->status, 404);
  EXPECT_EQ(second->status, 404);
  EXPECT_NE(first->header("x-exo-request-id"), second->header("x-exo-request-id"));
}

TEST_F(ServerTest, TakesChunkedRequestBodies) {
  HttpConnection c(proxy_->port());
  std::string text = "PUT /v1/tables/sessions/items/chunked HTTP/1.1\r\nHost: x\r\n"
                     "Authorization: Bearer " +
                     std::string(kToken) +
                     "\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "5\r\n{\"a\":\r\n"
                     "3\r\n 42\r\n"
                     "1\r\n}\r\n"
                     "0\r\n\r\n";
  ASSERT_TRUE(c.send(text));
  auto put = c.read();
  ASSERT_TRUE(put);
  EXPECT_EQ(put->status, 200) << put->body;
  auto got = c.request("GET", "/v1/tables/sessions/items/chunked", ProxyProcess::auth());
  ASSERT_TRUE(got);
  EXPECT_EQ(json::parse(got->body), json::parse(R"({"a": 42})"));
}

TEST_F(ServerTest, SendsContinueBeforeReadingAnExpectedBody) {
  HttpConnection c(proxy_->port());
  const std::string body = R"({"messages": [{"body": "after continue"}]})";
  std::string head = "POST /v1/queues/orders/messages HTTP/1.1\r\nHost: x\r\n"
                     "Authorization: Bearer " +
                     std::string(kToken) +
                     "\r\nExpect: 100-continue\r\nContent-Length: " + std::to_string(body.size()) +
                     "\r\n\r\n";
  ASSERT_TRUE(c.send(head));
  auto interim = c.read(false, 10'000, true);
  ASSERT_TRUE(interim) << "100 Continue comes before the body is sent";
  EXPECT_EQ(interim->status, 100);
  ASSERT_TRUE(c.send(body));
  auto response = c.read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200) << response->body;
  EXPECT_EQ(json::parse(response->body)["messages"].size(), 1U);
}

TEST_F(ServerTest, RejectsAnExpectedBodyWithoutWaitingForIt) {
  HttpConnection c(proxy_->port());
  std::string head = "PUT /v1/tables/sessions/items/k HTTP/1.1\r\nHost: x\r\n"
                     "Expect: 100-continue\r\nContent-Length: 1000000\r\n\r\n";
  ASSERT_TRUE(c.send(head));
  auto r = c.read(false, 10'000);
  ASSERT_TRUE(r) << "the final status comes without the body being sent";
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(r->header("connection"), "close");
}

TEST_F(ServerTest, ShedsASlowClientWhileServingOthers) {
  start("{header_timeout: 1s}");
  HttpConnection slow(proxy_->port());
  ASSERT_TRUE(slow.send("GET /v1/queues HTTP/1.1\r\nHost: x\r\n"));
  bool shed = false;
  for (int i = 0; i < 100 && !shed; ++i) {
    // Others are served while the slow client dribbles its header.
    const HttpResponse r = httpRequest(proxy_->port(), "GET", "/healthz");
    EXPECT_EQ(r.status, 200);
    slow.send("X-Slow: 1\r\n");
    shed = slow.closedWithin(100);
  }
  EXPECT_TRUE(shed) << "a header that never ends is cut off after header_timeout";
}

TEST_F(ServerTest, ClosesConnectionsBeyondTheLimitPromptly) {
  start("{max_connections: 3}");
  std::vector<std::unique_ptr<HttpConnection>> open;
  for (int i = 0; i < 3; ++i) {
    open.push_back(std::make_unique<HttpConnection>(proxy_->port()));
    auto r = open.back()->request("GET", "/healthz");
    ASSERT_TRUE(r) << "connection " << i << " is within the limit";
  }
  HttpConnection extra(proxy_->port());
  EXPECT_TRUE(extra.closedWithin(5000)) << "a fourth connection is closed at once";
  open.pop_back();
  bool served = false;
  for (int i = 0; i < 50 && !served; ++i) {
    served = httpRequest(proxy_->port(), "GET", "/healthz").status == 200;
    if (!served) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(served) << "a freed slot takes a new connection";
}

TEST_F(ServerTest, DrainsOnSigtermFinishingInFlightRequests) {
  // A long poll is in flight when SIGTERM arrives: it completes, then the process exits 0.
  HttpConnection idle(proxy_->port());
  ASSERT_TRUE(idle.request("GET", "/healthz"));
  auto poll = std::async(std::launch::async, [&] {
    return httpRequest(proxy_->port(), "GET", "/v1/queues/events/messages?wait=2",
                       ProxyProcess::auth());
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ::kill(proxy_->pid(), SIGTERM);
  EXPECT_TRUE(idle.closedWithin(5000)) << "idle connections close at once";
  const HttpResponse r = poll.get();
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("connection"), "close");
  EXPECT_EQ(proxy_->wait(30'000), 0) << proxy_->errors();
  EXPECT_EQ(httpRequest(proxy_->port(), "GET", "/healthz").status, 0) << "no longer listening";
}

TEST_F(ServerTest, StopsCleanlyOnSigint) {
  EXPECT_EQ(proxy_->stop(SIGINT), 0);
}

TEST_F(ServerTest, CurlSeesAuthRoutesAndChunkedUploads) {
  const std::string base = "http://127.0.0.1:" + std::to_string(proxy_->port());
  std::string out;
  ASSERT_EQ(runCommand("curl -sS -o /dev/null -w '%{http_code}' " + base + "/v1/queues", &out), 0);
  EXPECT_EQ(out, "401");
  ASSERT_EQ(runCommand("curl -sS -D - -o /dev/null " + base + "/v1/queues", &out), 0);
  EXPECT_NE(out.find("WWW-Authenticate: Bearer"), std::string::npos) << out;
  ASSERT_EQ(runCommand(curlPrefix() + "-o /dev/null -w '%{http_code}' " + base + "/v1/nope", &out),
            0);
  EXPECT_EQ(out, "404");
  ASSERT_EQ(runCommand(curlPrefix() + "-o /dev/null -w '%{http_code}' -X PATCH " + base +
                           "/v1/queues/orders",
                       &out),
            0);
  EXPECT_EQ(out, "405");
  ASSERT_EQ(runCommand("printf '{\"chunked\": true}' | " + curlPrefix() +
                           "-H 'Transfer-Encoding: chunked' -T - " + base +
                           "/v1/tables/sessions/items/by-curl",
                       &out),
            0);
  EXPECT_NE(out.find("\"version\""), std::string::npos) << out;
  ASSERT_EQ(runCommand(curlPrefix() + base + "/v1/tables/sessions/items/by-curl", &out), 0);
  EXPECT_EQ(json::parse(out), json::parse(R"({"chunked": true})"));
}

} // namespace
} // namespace exoflow::proxy::testing
