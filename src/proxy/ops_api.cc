// Operations and databases: /healthz, /readyz (from the health of every binding's chain),
// /metrics, /v1/status and /v1/databases/{db}.
#include <cmath>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "proxy/api_internal.h"
#include "proxy/validation.h"

namespace exoflow::proxy {

namespace {

using nlohmann::json;

std::string dump(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

/// A binding's chain as status and readiness show it: its health and each backend's
/// x-exo-backend value. A database binding has no health of its own (its credentials come
/// from the config).
struct ChainView {
  const failover::ChainHealth* health = nullptr;
  std::vector<std::string> backends;
  const failover::Replicator* replicator = nullptr; ///< objects and kv with replication
};

template <typename Entry> ChainView viewOf(const Entry& entry) {
  ChainView view{&entry.health(), {}, nullptr};
  if constexpr (requires { entry.replicator; }) view.replicator = entry.replicator.get();
  for (const auto& b : entry.chain)
    view.backends.push_back(b->describe());
  return view;
}

ChainView chainOf(const Bindings& bindings, const Binding& binding) {
  if (const QueueEntry* q = bindings.queue(binding.name)) return viewOf(*q);
  if (const ObjectEntry* o = bindings.objects(binding.name)) return viewOf(*o);
  if (const KvEntry* k = bindings.kv(binding.name)) return viewOf(*k);
  ChainView view;
  for (const BackendEntry& e : binding.backends)
    view.backends.push_back(e.spec.type);
  return view;
}

/// /readyz: a binding is ready while any backend of its chain is healthy.
Response readiness(const ApiState& state) {
  bool all = true;
  json bindings = json::object();
  for (const auto& [name, binding] : state.bindings.config().bindings) {
    const ChainView chain = chainOf(state.bindings, binding);
    const std::optional<std::size_t> active =
        chain.health != nullptr ? chain.health->active() : std::optional<std::size_t>(0);
    all = all && active.has_value();
    bindings[name] = {{"backend", chain.backends.at(active.value_or(0))},
                      {"healthy", active.has_value()}};
  }
  const json out = {{"status", all ? "ok" : "unavailable"}, {"bindings", std::move(bindings)}};
  return jsonResponse(all ? 200 : 503, dump(out));
}

/// Brings exo_backend_up and exo_failovers_total up to date with the chains' health.
void refreshHealthMetrics(const ApiState& state) {
  for (const auto& [name, binding] : state.bindings.config().bindings) {
    const ChainView chain = chainOf(state.bindings, binding);
    if (chain.health == nullptr) {
      for (const std::string& backend : chain.backends)
        state.metrics.setBackendUp(name, backend, true);
      continue;
    }
    const std::vector<failover::BackendHealth> health = chain.health->snapshot();
    for (std::size_t i = 0; i < chain.backends.size(); ++i)
      state.metrics.setBackendUp(name, chain.backends[i], health[i].healthy);
    state.metrics.setFailovers(name, chain.health->failoverCount());
    if (chain.replicator != nullptr) {
      state.metrics.setReplicationLag(name, chain.replicator->status().lag_seconds);
    }
  }
}

std::string replicationName(Replication r) {
  switch (r) {
  case Replication::kNone:
    return "none";
  case Replication::kAsync:
    return "async";
  case Replication::kSync:
    return "sync";
  }
  return "none";
}

/// One binding in /v1/status: each backend's health, the active one, recent failovers.
json chainStatus(const Binding& binding, const ChainView& chain) {
  std::vector<failover::BackendHealth> health(chain.backends.size());
  std::optional<std::size_t> active = 0;
  json failovers = json::array();
  std::uint64_t failovers_total = 0;
  if (chain.health != nullptr) {
    health = chain.health->snapshot();
    active = chain.health->active();
    for (const failover::FailoverEvent& e : chain.health->failovers()) {
      failovers.push_back({{"at", rfc3339(e.at)},
                           {"from", chain.backends.at(e.from)},
                           {"to", chain.backends.at(e.to)},
                           {"reason", e.reason}});
    }
    failovers_total = chain.health->failoverCount();
  }
  json backends = json::array();
  for (std::size_t i = 0; i < chain.backends.size(); ++i) {
    json b = {{"type", binding.backends[i].spec.type},
              {"backend", chain.backends[i]},
              {"healthy", health[i].healthy},
              {"active", active == i}};
    if (chain.health != nullptr) {
      b["ejected"] = health[i].ejected;
      b["check_failed"] = health[i].check_down;
      b["ejections"] = health[i].ejections;
      b["last_error"] = health[i].last_error.empty() ? json() : json(health[i].last_error);
    }
    backends.push_back(std::move(b));
  }
  // With nothing healthy, the chain still tries its first backend.
  return {{"kind", bindingKindName(binding.kind)},
          {"active", chain.backends.empty() ? "" : chain.backends.at(active.value_or(0))},
          {"healthy", active.has_value()},
          {"backends", std::move(backends)},
          {"failovers", std::move(failovers)},
          {"failovers_total", failovers_total}};
}

/// A number of milliseconds, or null when unknown.
json milliseconds(const std::optional<double>& ms) {
  return ms ? json(std::round(*ms * 1000.0) / 1000.0) : json();
}

/// The peers in /v1/status: where they are, their health (null until checks decide) and the
/// round trip of their health checks.
json peersStatus(const ApiState& state) {
  const ProxyConfig& config = state.bindings.config();
  json peers = json::object();
  for (const failover::PeerStatus& p : state.bindings.peerSet().snapshot()) {
    const Peer& peer = config.peers.at(p.name);
    peers[p.name] = {{"url", peer.url},
                     {"cloud", peer.cloud},
                     {"region", peer.region},
                     {"priority", p.priority},
                     {"healthy", p.healthy ? json(*p.healthy) : json()},
                     {"rtt_ms", milliseconds(p.rtt_ms)},
                     {"last_rtt_ms", milliseconds(p.last_rtt_ms)},
                     {"last_error", p.last_error.empty() ? json() : json(p.last_error)}};
  }
  return peers;
}

/// Brings exo_peer_up and exo_peer_rtt_seconds up to date with the peer set.
void refreshPeerMetrics(const ApiState& state) {
  for (const failover::PeerStatus& p : state.bindings.peerSet().snapshot()) {
    state.metrics.setPeer(p.name, p.healthy,
                          p.rtt_ms ? std::optional<double>(*p.rtt_ms / 1000.0) : std::nullopt);
  }
}

Response status(const ApiState& state) {
  const ProxyConfig& config = state.bindings.config();
  json bindings = json::object();
  json lag = json::object();
  for (const auto& [name, binding] : config.bindings) {
    const ChainView chain = chainOf(state.bindings, binding);
    json entry = chainStatus(binding, chain);
    if (binding.kind == BindingKind::kQueue && binding.queue.dead_letter_after) {
      entry["dead_letter_queue"] = binding.queue.dead_letter_queue;
    }
    if (binding.kind == BindingKind::kObjects || binding.kind == BindingKind::kKv) {
      entry["replication"] = replicationName(binding.replication);
      if (binding.replication != Replication::kNone) {
        // A chain of one backend has nothing to copy: no journal, no lag.
        const failover::ReplicationStatus journal = chain.replicator != nullptr
                                                        ? chain.replicator->status()
                                                        : failover::ReplicationStatus{};
        entry["replication_pending"] = journal.pending;
        entry["replication_lag_seconds"] = journal.lag_seconds;
        lag[name] = journal.lag_seconds;
      }
    }
    bindings[name] = std::move(entry);
  }
  json peers = peersStatus(state);
  const json out = {
      {"identity", {{"cloud", config.identity.cloud}, {"region", config.identity.region}}},
      {"bindings", std::move(bindings)},
      {"peers", std::move(peers)},
      {"replication_lag_seconds", std::move(lag)}};
  return jsonResponse(200, dump(out));
}

Plan database(const ExchangePtr& ex) {
  const std::string& name = ex->route().name;
  const Binding* binding = ex->state().bindings.database(name);
  if (binding == nullptr) {
    if (!isServiceName(name)) {
      return ex->reject({ErrorCode::kInvalidArgument,
                         fmt::format("{} is not a valid database name", jsonString(name))});
    }
    return ex->reject({ErrorCode::kNotFound, fmt::format("no database named \"{}\"", name)});
  }
  ex->service(name);
  const backend::BackendSpec& spec = binding->backends.front().spec;
  auto param = [&](const char* key, const char* fallback) {
    auto it = spec.params.find(key);
    return it == spec.params.end() ? std::string(fallback) : it->second;
  };
  const std::string engine = spec.type == "local.mysql" ? "mysql" : "postgres";
  const json out = {{"engine", engine},
                    {"host", param("host", "127.0.0.1")},
                    {"port", std::stoi(param("port", "0"))},
                    {"database", param("database", "")},
                    {"user", param("user", "")},
                    {"password", param("password", "")},
                    {"sslmode", param("sslmode", "disable")}};
  ex->servedBy(spec.type);
  Response response = jsonResponse(200, dump(out));
  response.header("Cache-Control", "no-store");
  return ex->rejectWith(std::move(response));
}

} // namespace

Plan planOps(const ExchangePtr& ex, const RequestHead& /*head*/) {
  switch (ex->route().kind) {
  case RouteKind::kHealthz:
    return ex->rejectWith(jsonResponse(200, R"({"status":"ok"})"));
  case RouteKind::kMetrics: {
    refreshHealthMetrics(ex->state());
    refreshPeerMetrics(ex->state());
    Response response;
    response.body = ex->state().metrics.render();
    response.header("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    return ex->rejectWith(std::move(response));
  }
  case RouteKind::kStatus:
    return ex->rejectWith(status(ex->state()));
  case RouteKind::kDatabase:
    return database(ex);
  case RouteKind::kReadyz:
    return ex->rejectWith(readiness(ex->state()));
  default:
    return ex->reject({ErrorCode::kNotFound, "no such route"});
  }
}

} // namespace exoflow::proxy
