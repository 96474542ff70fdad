// Operations and database routes of the real exo-proxy: health, readiness, metrics, status,
// database credentials, and how a bad config or usage ends the process.
#include "proxy/proxy_fixture.h"

namespace exoflow::proxy::testing {
namespace {

using nlohmann::json;

using OpsRoutesTest = ProxyFixture;

TEST_F(OpsRoutesTest, HealthAndReadinessNeedNoToken) {
  const HttpResponse health = httpRequest(proxy_->port(), "GET", "/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(parse(health), json::parse(R"({"status": "ok"})"));
  const HttpResponse ready = httpRequest(proxy_->port(), "GET", "/readyz");
  ASSERT_EQ(ready.status, 200) << ready.body;
  const json body = parse(ready);
  EXPECT_EQ(body["status"], "ok");
  for (const char* binding : {"orders", "events", "assets", "sessions", "db"}) {
    EXPECT_EQ(body["bindings"][binding]["healthy"], true) << binding;
    EXPECT_TRUE(body["bindings"][binding]["backend"].is_string()) << binding;
  }
  EXPECT_EQ(body["bindings"]["orders"]["backend"], "local.sqlite");
}

TEST_F(OpsRoutesTest, MetricsDeclareEveryFamily) {
  ASSERT_EQ(call("GET", "/v1/queues/orders/messages").status, 200);
  const HttpResponse metrics = httpRequest(proxy_->port(), "GET", "/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_TRUE(metrics.header("content-type").starts_with("text/plain"));
  for (const char* line :
       {"# TYPE exo_requests_total counter", "# TYPE exo_request_duration_seconds histogram",
        "# TYPE exo_backend_up gauge", "# TYPE exo_failovers_total counter",
        "# TYPE exo_replication_lag_seconds gauge",
        "exo_requests_total{service=\"orders\",op=\"receive\",code=\"200\"} 1",
        "exo_backend_up{binding=\"orders\",backend=\"local.sqlite\"} 1",
        "exo_failovers_total{binding=\"orders\"} 0",
        "exo_request_duration_seconds_count{service=\"orders\",op=\"receive\"} 1"}) {
    EXPECT_NE(metrics.body.find(line), std::string::npos) << line << "\n" << metrics.body;
  }
}

TEST_F(OpsRoutesTest, StatusListsBindingsAndTheirBackends) {
  expectError(httpRequest(proxy_->port(), "GET", "/v1/status"), 401, "Unauthenticated");
  const HttpResponse status = call("GET", "/v1/status");
  ASSERT_EQ(status.status, 200) << status.body;
  const json body = parse(status);
  EXPECT_EQ(body["identity"]["cloud"], "local");
  const json& orders = body["bindings"]["orders"];
  EXPECT_EQ(orders["kind"], "queue");
  EXPECT_EQ(orders["active"], "local.sqlite");
  EXPECT_EQ(orders["dead_letter_queue"], "orders-dlq");
  ASSERT_EQ(orders["backends"].size(), 1U);
  EXPECT_EQ(orders["backends"][0]["healthy"], true);
  EXPECT_EQ(orders["backends"][0]["active"], true);
  EXPECT_EQ(body["bindings"]["assets"]["replication"], "none");
  EXPECT_TRUE(body["peers"].is_object());
}

TEST_F(OpsRoutesTest, DatabaseCredentialsComeFromTheBinding) {
  const HttpResponse db = call("GET", "/v1/databases/db");
  ASSERT_EQ(db.status, 200) << db.body;
  EXPECT_EQ(parse(db), json::parse(R"({"engine": "postgres", "host": "127.0.0.1", "port": 5432,
      "database": "shop", "user": "app", "password": "p@ss", "sslmode": "disable"})"));
  EXPECT_EQ(db.header("x-exo-backend"), "local.postgres");
  expectError(call("GET", "/v1/databases/orders"), 404, "NotFound");
  expectError(call("GET", "/v1/databases/nosuch"), 404, "NotFound");
  expectError(httpRequest(proxy_->port(), "GET", "/v1/databases/db"), 401, "Unauthenticated");
}

class ProxyStartTest : public ::testing::Test {
protected:
  TempDir dir_;
};

TEST_F(ProxyStartTest, ABadConfigExitsWith2AndItsDiagnostics) {
  ProxyProcess proxy(dir_.path(), "listen: 127.0.0.1:0\ntoken: ${EXO_UNSET_TOKEN}\nbindings:\n"
                                  "  orders: {kind: queue, backends: [{type: peer, "
                                  "peer: p}]}\n");
  EXPECT_FALSE(proxy.started());
  EXPECT_EQ(proxy.wait(10'000), 2);
  const std::string errors = proxy.errors();
  EXPECT_NE(errors.find("proxy.yaml:2:8: error: token: environment variable EXO_UNSET_TOKEN is "
                        "not set"),
            std::string::npos)
      << errors;
  EXPECT_NE(errors.find("proxy.yaml:4:55: error: bindings.orders.backends[0].peer: no peer named "
                        "\"p\""),
            std::string::npos)
      << errors;
}

TEST_F(ProxyStartTest, UsageErrorsExitWith2AndHelpWith0) {
  std::string out;
  EXPECT_EQ(runCommand(std::string(EXO_PROXY_BINARY) + " 2>&1", &out), 2) << out;
  EXPECT_EQ(runCommand(std::string(EXO_PROXY_BINARY) + " --bogus 2>&1", &out), 2) << out;
  EXPECT_EQ(runCommand(std::string(EXO_PROXY_BINARY) + " --help", &out), 0);
  EXPECT_NE(out.find("--config"), std::string::npos) << out;
  EXPECT_EQ(runCommand(std::string(EXO_PROXY_BINARY) + " --version", &out), 0);
  EXPECT_FALSE(out.empty());
  EXPECT_EQ(runCommand(std::string(EXO_PROXY_BINARY) + " --config /nonexistent.yaml 2>&1", &out),
            2);
  EXPECT_NE(out.find("/nonexistent.yaml:1:1: error: cannot open"), std::string::npos) << out;
}

TEST_F(ProxyStartTest, AnAddressInUseExitsWith1) {
  ProxyProcess first(dir_.path(), defaultConfig());
  ASSERT_TRUE(first.started()) << first.errors();
  std::string config = defaultConfig();
  config.replace(config.find("127.0.0.1:0"), 11, "127.0.0.1:" + std::to_string(first.port()));
  std::filesystem::create_directories(dir_.path() / "second");
  ProxyProcess second(dir_.path() / "second", config);
  EXPECT_FALSE(second.started());
  EXPECT_EQ(second.wait(10'000), 1) << second.errors();
}

} // namespace
} // namespace exoflow::proxy::testing
