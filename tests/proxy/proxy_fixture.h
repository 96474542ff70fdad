#pragma once
// The fixture of the route tests: a real exo-proxy on the default config in a fresh folder.

#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "proxy/http_client.h"
#include "proxy/proxy_process.h"

namespace exoflow::proxy::testing {

class ProxyFixture : public ::testing::Test {
protected:
  void SetUp() override { start(); }

  /// (Re)starts the proxy with the default config and `limits`.
  void start(const std::string& limits = "") {
    proxy_.reset();
    proxy_ = std::make_unique<ProxyProcess>(dir_.path(), defaultConfig(limits));
    ASSERT_TRUE(proxy_->started()) << proxy_->errors();
  }

  HttpResponse call(std::string_view method, std::string_view target, std::string_view body = {},
                    Headers extra = {}) const {
    return proxy_->call(method, target, body, std::move(extra));
  }

  static nlohmann::json parse(const HttpResponse& r) {
    return nlohmann::json::parse(r.body, nullptr, false);
  }

  /// The API's error format, with the request id of the header.
  static void expectError(const HttpResponse& r, int status, const std::string& code) {
    EXPECT_EQ(r.status, status) << r.body;
    const nlohmann::json body = parse(r);
    ASSERT_TRUE(body.is_object()) << r.body;
    EXPECT_EQ(body["error"]["code"], code) << r.body;
    EXPECT_TRUE(body["error"]["message"].is_string());
    EXPECT_EQ(body["error"]["request_id"], r.header("x-exo-request-id"));
    EXPECT_EQ(r.header("content-type"), "application/json");
  }

  std::string base() const { return "http://127.0.0.1:" + std::to_string(proxy_->port()); }

  TempDir dir_;
  std::unique_ptr<ProxyProcess> proxy_;
};

} // namespace exoflow::proxy::testing
