// exoflow status: what a running exo-proxy says of its bindings and peers (GET /v1/status),
// as text for people or as the proxy's JSON for scripts.
#include <cstdio>
#include <cstdlib>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "net/http_client.h"

namespace exoflow::cli {

namespace {

using nlohmann::json;

struct StatusOptions {
  std::string endpoint;
  std::string token;
  std::string output = "text";
};

std::string envOr(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}

/// A member as text: strings as they are, numbers and booleans as JSON writes them, "" for
/// null or absent.
std::string text(const json& object, const char* key) {
  if (!object.is_object() || !object.contains(key)) return "";
  const json& v = object.at(key);
  if (v.is_null()) return "";
  return v.is_string() ? v.get<std::string>() : v.dump();
}

/// A number of milliseconds as "12.3 ms", or "?" when unknown.
std::string milliseconds(const json& value) {
  return value.is_number() ? fmt::format("{:.1f} ms", value.get<double>()) : "?";
}

std::string healthWord(const json& healthy) {
  if (healthy.is_boolean()) return healthy.get<bool>() ? "healthy" : "UNHEALTHY";
  return "unknown";
}

/// One backend's health and why it is out, as one word or a few.
std::string backendHealth(const json& b) {
  std::string out = healthWord(b.value("healthy", json()));
  if (b.value("ejected", false)) out += ", ejected";
  if (b.value("check_failed", false)) out += ", checks failing";
  if (b.value("active", false)) out += ", active";
  return out;
}

/// The replication lag of a binding in seconds: its own field, else the top-level map's.
json lagOf(const json& status, const std::string& name, const json& binding) {
  if (binding.contains("replication_lag_seconds")) return binding["replication_lag_seconds"];
  const json& lags = status.value("replication_lag_seconds", json::object());
  return lags.is_object() && lags.contains(name) ? lags[name] : json();
}

std::string renderText(const json& status) {
  std::string out;
  const json& identity = status.value("identity", json::object());
  out += fmt::format("proxy: {}{}\n", text(identity, "cloud"),
                     text(identity, "region").empty() ? "" : " " + text(identity, "region"));
  const json& bindings = status.value("bindings", json::object());
  for (const auto& [name, b] : bindings.items()) {
    out += fmt::format("\n{} ({}): {}, active {}\n", name, text(b, "kind"),
                       healthWord(b.value("healthy", json())), text(b, "active"));
    for (const json& backend : b.value("backends", json::array())) {
      out += fmt::format("  {:<32} {}", text(backend, "backend"), backendHealth(backend));
      const std::string error = text(backend, "last_error");
      out += error.empty() ? "\n" : fmt::format(" (last error: {})\n", error);
    }
    const std::string replication = text(b, "replication");
    if (!replication.empty() && replication != "none") {
      const json lag = lagOf(status, name, b);
      out += fmt::format("  replication {}, lag {}\n", replication,
                         lag.is_number() ? fmt::format("{:g}s", lag.get<double>()) : "unknown");
    }
    const json& failovers = b.value("failovers", json::array());
    const std::string total = text(b, "failovers_total");
    out += fmt::format("  failovers: {}\n", total.empty() ? "0" : total);
    for (const json& f : failovers) {
      out += fmt::format("    {}  {} -> {}: {}\n", text(f, "at"), text(f, "from"), text(f, "to"),
                         text(f, "reason"));
    }
  }
  const json& peers = status.value("peers", json::object());
  out += peers.empty() ? "\npeers: none\n" : "\npeers:\n";
  for (const auto& [name, p] : peers.items()) {
    std::string where = text(p, "cloud");
    if (!text(p, "region").empty()) where += " " + text(p, "region");
    out +=
        fmt::format("  {:<20} {:<16} {:<9} rtt {} (last {}), priority {}", name, where,
                    healthWord(p.value("healthy", json())), milliseconds(p.value("rtt_ms", json())),
                    milliseconds(p.value("last_rtt_ms", json())),
                    text(p, "priority").empty() ? "0" : text(p, "priority"));
    const std::string error = text(p, "last_error");
    out += error.empty() ? "\n" : fmt::format(" (last error: {})\n", error);
  }
  return out;
}

int runStatus(const StatusOptions& options) {
  std::string base = options.endpoint;
  while (!base.empty() && base.back() == '/')
    base.pop_back();
  if (!base.starts_with("http://") && !base.starts_with("https://")) {
    std::fprintf(stderr, "exoflow: error: --endpoint %s is not an http:// or https:// URL\n",
                 options.endpoint.c_str());
    return kExitUsage;
  }
  net::HttpClientOptions http;
  http.connect_timeout = std::chrono::seconds(5);
  http.request_timeout = std::chrono::seconds(15);
  http.retry.max_attempts = 2;
  net::HttpClient client(http);
  net::HttpRequest request;
  request.url = base + "/v1/status";
  request.idempotent = true;
  if (!options.token.empty()) {
    request.headers.emplace_back("Authorization", "Bearer " + options.token);
  }
  const Result<net::HttpResponse> answer = client.sendAndWait(std::move(request));
  if (!answer) {
    std::fprintf(stderr, "exoflow: error: cannot reach the proxy at %s: %s\n", base.c_str(),
                 answer.error().message.c_str());
    return kExitUsage;
  }
  if (answer->status == 401) {
    std::fprintf(stderr,
                 "exoflow: error: the proxy at %s refused the token (HTTP 401); pass --token or "
                 "set EXO_TOKEN to the proxy's token\n",
                 base.c_str());
    return kExitUsage;
  }
  const json body = json::parse(answer->body, nullptr, false);
  if (answer->status != 200) {
    std::string message = text(body.is_object() ? body.value("error", json()) : json(), "message");
    if (message.empty()) message = answer->body.substr(0, 200);
    std::fprintf(stderr, "exoflow: error: %s/v1/status answered HTTP %d: %s\n", base.c_str(),
                 answer->status, message.c_str());
    return kExitUsage;
  }
  if (!body.is_object() || !body.contains("bindings") || !body["bindings"].is_object()) {
    std::fprintf(stderr,
                 "exoflow: error: the answer of %s/v1/status is not an exo-proxy status (%s)\n",
                 base.c_str(), body.is_discarded() ? "not JSON" : "no \"bindings\" object");
    return kExitUsage;
  }
  if (options.output == "json") {
    std::printf("%s\n", body.dump(2).c_str());
  } else {
    std::fputs(renderText(body).c_str(), stdout);
  }
  for (const auto& [name, b] : body["bindings"].items()) {
    if (b.value("healthy", json(true)) == json(false)) return kExitInvalid;
  }
  return kExitOk;
}

} // namespace

void addStatusCommand(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<StatusOptions>();
  options->endpoint = envOr("EXO_ENDPOINT", "http://127.0.0.1:7420");
  options->token = envOr("EXO_TOKEN", "");
  CLI::App* cmd = app.add_subcommand(
      "status",
      "Show a running proxy's bindings (active backend, health, replication lag, recent\n"
      "failovers) and its peers (health, round-trip time), from its GET /v1/status.\n"
      "Exit status: 0 every binding has a healthy backend, 1 some binding has none,\n"
      "2 usage error, proxy unreachable, token refused or an answer that is not a status.");
  cmd->add_option("--endpoint", options->endpoint,
                  "The proxy's app listener (default $EXO_ENDPOINT or http://127.0.0.1:7420)")
      ->type_name("URL");
  cmd->add_option("--token", options->token, "Its bearer token (default $EXO_TOKEN)")
      ->type_name("TOKEN");
  cmd->add_option("-o,--output", options->output, "text for people, json (the proxy's answer)")
      ->capture_default_str()
      ->check(CLI::IsMember({"text", "json"}))
      ->type_name("FORMAT");
  cmd->callback([options, &exit_code] { exit_code = runStatus(*options); });
}

} // namespace exoflow::cli
