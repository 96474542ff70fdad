// Unit tests of the API's small parts: routing, query strings, percent-decoding, validation,
// ETag matching and the metrics text.
#include <gtest/gtest.h>

#include "proxy/api_util.h"
#include "proxy/metrics.h"
#include "proxy/router.h"
#include "proxy/validation.h"

namespace exoflow::proxy {
namespace {

TEST(RouterTest, MatchesEveryRoute) {
  struct Case {
    const char* path;
    RouteKind kind;
    const char* name;
    const char* rest;
  };
  for (const Case& c : std::initializer_list<Case>{
           {"/healthz", RouteKind::kHealthz, "", ""},
           {"/readyz", RouteKind::kReadyz, "", ""},
           {"/metrics", RouteKind::kMetrics, "", ""},
           {"/v1/status", RouteKind::kStatus, "", ""},
           {"/v1/queues", RouteKind::kQueues, "", ""},
           {"/v1/queues/orders", RouteKind::kQueue, "orders", ""},
           {"/v1/queues/orders/messages", RouteKind::kMessages, "orders", ""},
           {"/v1/queues/orders/messages/abc-_", RouteKind::kMessage, "orders", "abc-_"},
           {"/v1/buckets/assets/objects", RouteKind::kObjects, "assets", ""},
           {"/v1/buckets/assets/objects/a/b//c", RouteKind::kObject, "assets", "a/b//c"},
           {"/v1/buckets/assets/objects/%2E%2E%2Fx", RouteKind::kObject, "assets", "../x"},
           {"/v1/buckets/assets/objects/", RouteKind::kObject, "assets", ""},
           {"/v1/tables/t1/items", RouteKind::kItems, "t1", ""},
           {"/v1/tables/t1/items/a%20b", RouteKind::kItem, "t1", "a b"},
           {"/v1/databases/db", RouteKind::kDatabase, "db", ""},
       }) {
    auto route = matchRoute(c.path);
    ASSERT_TRUE(route) << c.path;
    EXPECT_EQ(route->kind, c.kind) << c.path;
    EXPECT_EQ(route->name, c.name) << c.path;
    EXPECT_EQ(route->rest, c.rest) << c.path;
  }
}

TEST(RouterTest, RefusesWhatIsNotARoute) {
  for (const char* path :
       {"/", "/v1", "/v1/", "/v2/queues", "/v1/queues/", "/v1/queues/a/b", "/v1/queues/a/messages/",
        "/v1/queues/a/messages/r/x", "/v1/buckets/a", "/v1/buckets/a/items",
        "/v1/tables/a/objects/k", "/v1/databases", "/v1/databases/a/b", "/healthz/"}) {
    auto route = matchRoute(path);
    ASSERT_FALSE(route) << path;
    EXPECT_EQ(route.error().code, ErrorCode::kNotFound) << path;
  }
  EXPECT_EQ(matchRoute("/v1/tables/t/items/%zz").error().code, ErrorCode::kInvalidArgument);
}

TEST(RouterTest, KnowsTheMethodsOfEachRoute) {
  EXPECT_TRUE(allowsMethod(RouteKind::kObject, "HEAD"));
  EXPECT_TRUE(allowsMethod(RouteKind::kMessages, "POST"));
  EXPECT_FALSE(allowsMethod(RouteKind::kMessages, "PUT"));
  EXPECT_FALSE(allowsMethod(RouteKind::kItem, "HEAD"));
  EXPECT_FALSE(allowsMethod(RouteKind::kQueues, "GE"));
  EXPECT_EQ(allowedMethods(RouteKind::kMessage), "DELETE, PATCH");
}

TEST(QueryTest, DecodesAndChecksRanges) {
  auto q = Query::parse("max=10&prefix=a%2Fb+c&empty=&max=3&flag");
  ASSERT_TRUE(q);
  EXPECT_EQ(*q->integer("max", 1, 10, 1), 10) << "the first of repeated names wins";
  EXPECT_EQ(*q->text("prefix"), "a/b c");
  EXPECT_EQ(*q->text("absent"), "");
  EXPECT_EQ(*q->integer("absent", 0, 5, 4), 4);
  EXPECT_FALSE(q->integer("empty", 0, 5, 1));
  EXPECT_FALSE(q->integer("max", 1, 9, 1)) << "out of range is refused, not clamped";
  EXPECT_FALSE(Query::parse("a=%G0"));
  auto bad_utf8 = Query::parse("prefix=%FF");
  ASSERT_TRUE(bad_utf8);
  EXPECT_FALSE(bad_utf8->text("prefix"));
  for (const char* text : {"n=-1", "n=+1", "n=1e3", "n=0x10", "n=99999999999"}) {
    EXPECT_FALSE(Query::parse(text)->integer("n", 0, 100000, 0)) << text;
  }
}

TEST(PercentDecodeTest, DecodesEscapesAndRefusesBrokenOnes) {
  EXPECT_EQ(*percentDecode("a%20b%2fc", false), "a b/c");
  EXPECT_EQ(*percentDecode("a+b", false), "a+b");
  EXPECT_EQ(*percentDecode("a+b", true), "a b");
  EXPECT_FALSE(percentDecode("%", false));
  EXPECT_FALSE(percentDecode("%4", false));
  EXPECT_FALSE(percentDecode("%4g", false));
}

TEST(ValidationTest, ChecksMessageBodies) {
  EXPECT_TRUE(checkMessageBody("hello\t\n\r", 100));
  EXPECT_TRUE(checkMessageBody("\xF0\x9F\x98\x80", 100));
  EXPECT_EQ(checkMessageBody("", 100).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(checkMessageBody("abc", 2).error().code, ErrorCode::kPayloadTooLarge);
  EXPECT_EQ(checkMessageBody(std::string("a\0b", 3), 100).error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(checkMessageBody("\xEF\xBF\xBE", 100).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(checkMessageBody("\xED\xA0\x80", 100).error().code, ErrorCode::kInvalidArgument)
      << "an encoded surrogate is not UTF-8";
  EXPECT_EQ(checkMessageBody("\xC0\xAF", 100).error().code, ErrorCode::kInvalidArgument)
      << "overlong";
}

TEST(ValidationTest, ChecksKeysNamesAndAttributes) {
  EXPECT_TRUE(checkKey("a/../b", 1024, "object key"));
  EXPECT_FALSE(checkKey("", 1024, "object key"));
  EXPECT_FALSE(checkKey(std::string(1025, 'k'), 1024, "object key"));
  EXPECT_FALSE(checkKey("a\x7f", 1024, "object key"));
  EXPECT_FALSE(checkKey("a\x1f", 1024, "object key"));
  EXPECT_TRUE(checkKey("caf\xC3\xA9", 1024, "object key"));
  EXPECT_TRUE(isServiceName("orders"));
  EXPECT_TRUE(isServiceName("orders-dlq"));
  EXPECT_FALSE(isServiceName("Orders"));
  EXPECT_FALSE(isServiceName("a--b"));
  EXPECT_FALSE(isServiceName("o"));
  EXPECT_TRUE(checkAttributeName("Trace.Id-1_x"));
  EXPECT_FALSE(checkAttributeName(""));
  EXPECT_FALSE(checkAttributeName("a b"));
  EXPECT_FALSE(checkAttributeName(std::string(257, 'a')));
}

TEST(EtagTest, MatchesListsWeakTagsAndStar) {
  EXPECT_TRUE(etagListMatches("\"a\"", "\"a\""));
  EXPECT_TRUE(etagListMatches("\"x\", W/\"a\"", "\"a\""));
  EXPECT_TRUE(etagListMatches(" * ", "\"a\""));
  EXPECT_FALSE(etagListMatches("\"b\"", "\"a\""));
  EXPECT_EQ(*unquoteVersion("\"v1\""), "v1");
  EXPECT_EQ(*unquoteVersion("v1"), "v1");
  EXPECT_EQ(*unquoteVersion("W/\"v1\""), "v1");
  EXPECT_FALSE(unquoteVersion("\"\""));
}

TEST(ConstantTimeEqualsTest, ComparesWholeStrings) {
  EXPECT_TRUE(constantTimeEquals("secret", "secret"));
  EXPECT_FALSE(constantTimeEquals("secret", "secreT"));
  EXPECT_FALSE(constantTimeEquals("secret", "secret2"));
  EXPECT_FALSE(constantTimeEquals("", "x"));
}

TEST(DatesTest, FormatsHttpAndRfc3339) {
  const auto t = std::chrono::system_clock::time_point(std::chrono::milliseconds(784111777123));
  EXPECT_EQ(httpDate(t), "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(rfc3339(t), "1994-11-06T08:49:37.123Z");
}

TEST(ErrorResponseTest, IsTheApiErrorFormat) {
  const Response r = errorResponse({ErrorCode::kNotFound, "no \"x\""}, "id-1");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, R"({"error":{"code":"NotFound","message":"no \"x\"","request_id":"id-1"}})");
  const Response auth = errorResponse({ErrorCode::kUnauthenticated, "no"}, "id-2");
  EXPECT_EQ(auth.status, 401);
  bool challenge = false;
  for (const auto& [name, value] : auth.headers)
    challenge |= name == "WWW-Authenticate";
  EXPECT_TRUE(challenge);
}

TEST(MetricsTest, DeclaresFamiliesBeforeSamples) {
  Metrics metrics;
  const std::string empty = metrics.render();
  for (const char* family : {"exo_requests_total counter", "exo_request_duration_seconds histogram",
                             "exo_backend_up gauge", "exo_failovers_total counter",
                             "exo_replication_lag_seconds gauge"}) {
    EXPECT_NE(empty.find(std::string("# TYPE ") + family), std::string::npos) << family;
  }
  metrics.recordRequest("orders", "send", 200, 0.02);
  metrics.declareBinding("assets", true);
  const std::string text = metrics.render();
  EXPECT_NE(text.find("exo_requests_total{service=\"orders\",op=\"send\",code=\"200\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("exo_request_duration_seconds_bucket{service=\"orders\",op=\"send\","
                      "le=\"0.025\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("exo_request_duration_seconds_bucket{service=\"orders\",op=\"send\","
                      "le=\"0.01\"} 0"),
            std::string::npos);
  EXPECT_NE(text.find("exo_replication_lag_seconds{binding=\"assets\"} 0"), std::string::npos);
}

} // namespace
} // namespace exoflow::proxy
