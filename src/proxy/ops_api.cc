// Operations and databases: /healthz, /readyz (probes every binding's serving backend),
// /metrics, /v1/status and /v1/databases/{db}.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "proxy/api_internal.h"
#include "proxy/validation.h"

namespace exoflow::proxy {

namespace {

using nlohmann::json;

constexpr auto kProbeTimeout = std::chrono::seconds(2);

std::string dump(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

/// One /readyz: a cheap call to the serving backend of every binding, answered when all have
/// answered or the timeout passed (a backend that did not answer is unhealthy).
class ReadinessProbe : public std::enable_shared_from_this<ReadinessProbe> {
public:
  explicit ReadinessProbe(ExchangePtr ex) : ex_(std::move(ex)) {}

  void run() {
    const Bindings& bindings = ex_->state().bindings;
    for (const auto& [name, binding] : bindings.config().bindings) {
      if (binding.kind == BindingKind::kDatabase) {
        results_[name] = {binding.backends.front().spec.type, true, true};
      }
    }
    for (const auto& [name, queue] : bindings.queues()) {
      if (name != queue.binding->name) continue; // the dead-letter queue shares its store
      start(name, queue.active().describe());
    }
    for (const auto& [name, store] : bindings.buckets())
      start(name, store.active().describe());
    for (const auto& [name, store] : bindings.tables())
      start(name, store.active().describe());
    auto self = shared_from_this();
    timer_ = ex_->state().scheduler.after(
        std::chrono::duration_cast<std::chrono::milliseconds>(kProbeTimeout),
        [self] { self->complete(); });
    for (const auto& [name, queue] : bindings.queues()) {
      if (name != queue.binding->name) continue;
      queue.active().stats([self, name = name](Result<backend::QueueStats> r) {
        self->answer(name, r.has_value());
      });
    }
    for (const auto& [name, store] : bindings.buckets()) {
      store.active().list({"", "", 1, ""}, [self, name = name](Result<backend::ListResult> r) {
        self->answer(name, r.has_value());
      });
    }
    for (const auto& [name, store] : bindings.tables()) {
      store.active().list({"", 1, ""}, [self, name = name](Result<backend::KvListResult> r) {
        self->answer(name, r.has_value());
      });
    }
    std::lock_guard lock(mutex_);
    started_ = true;
    if (pending_ == 0) finishLocked();
  }

private:
  struct Outcome {
    std::string backend;
    bool healthy = false;
    bool answered = false;
  };

  void start(const std::string& name, std::string backend) {
    results_[name] = {std::move(backend), false, false};
    ++pending_;
  }

  void answer(const std::string& name, bool healthy) {
    std::lock_guard lock(mutex_);
    Outcome& r = results_[name];
    if (r.answered) return;
    r.answered = true;
    r.healthy = healthy;
    if (--pending_ == 0 && started_) finishLocked();
  }

  void complete() {
    std::lock_guard lock(mutex_);
    finishLocked();
  }

  void finishLocked() {
    if (finished_) return;
    finished_ = true;
    ex_->state().scheduler.cancel(timer_);
    bool all = true;
    json bindings = json::object();
    const ProxyConfig& config = ex_->state().bindings.config();
    for (const auto& [name, r] : results_) {
      const bool healthy = r.answered && r.healthy;
      all = all && healthy;
      bindings[name] = {{"backend", r.backend}, {"healthy", healthy}};
      ex_->state().health.set(name, 0, healthy);
      ex_->state().metrics.setBackendUp(name, config.bindings.at(name).backends.front().spec.type,
                                        healthy);
    }
    const json out = {{"status", all ? "ok" : "unavailable"}, {"bindings", std::move(bindings)}};
    ex_->reply(jsonResponse(all ? 200 : 503, dump(out)));
  }

  ExchangePtr ex_;
  std::mutex mutex_;
  std::map<std::string, Outcome> results_;
  int pending_ = 0;
  bool started_ = false;
  bool finished_ = false;
  backend::Scheduler::TimerId timer_ = 0;
};

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

/// The x-exo-backend value of each backend of a binding's chain.
std::vector<std::string> describeChain(const Bindings& bindings, const Binding& binding) {
  std::vector<std::string> out;
  if (const QueueEntry* q = bindings.queue(binding.name)) {
    for (const auto& b : q->chain)
      out.push_back(b->describe());
  } else if (const ObjectEntry* o = bindings.objects(binding.name)) {
    for (const auto& b : o->chain)
      out.push_back(b->describe());
  } else if (const KvEntry* k = bindings.kv(binding.name)) {
    for (const auto& b : k->chain)
      out.push_back(b->describe());
  } else {
    for (const BackendEntry& e : binding.backends)
      out.push_back(e.spec.type);
  }
  return out;
}

Response status(const ApiState& state) {
  const ProxyConfig& config = state.bindings.config();
  json bindings = json::object();
  json lag = json::object();
  for (const auto& [name, binding] : config.bindings) {
    const std::vector<std::string> chain = describeChain(state.bindings, binding);
    json backends = json::array();
    for (std::size_t i = 0; i < chain.size(); ++i) {
      backends.push_back({{"type", binding.backends[i].spec.type},
                          {"backend", chain[i]},
                          {"healthy", state.health.healthy(name, i)},
                          {"active", i == 0}});
    }
    json entry = {{"kind", bindingKindName(binding.kind)},
                  {"active", chain.empty() ? "" : chain.front()},
                  {"backends", std::move(backends)}};
    if (binding.kind == BindingKind::kQueue && binding.queue.dead_letter_after) {
      entry["dead_letter_queue"] = binding.queue.dead_letter_queue;
    }
    if (binding.kind == BindingKind::kObjects || binding.kind == BindingKind::kKv) {
      entry["replication"] = replicationName(binding.replication);
      if (binding.replication != Replication::kNone) lag[name] = 0;
    }
    bindings[name] = std::move(entry);
  }
  json peers = json::object();
  for (const auto& [name, peer] : config.peers) {
    // Peers are not contacted by this build; health and round-trip time are unknown.
    peers[name] = {{"url", peer.url},
                   {"cloud", peer.cloud},
                   {"region", peer.region},
                   {"healthy", nullptr},
                   {"rtt_ms", nullptr}};
  }
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
    return ex->then(kIgnoredBodyLimit,
                    [ex](std::string) { std::make_shared<ReadinessProbe>(ex)->run(); });
  default:
    return ex->reject({ErrorCode::kNotFound, "no such route"});
  }
}

} // namespace exoflow::proxy
