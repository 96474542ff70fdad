#include "proxy/bindings.h"

#include <algorithm>

#include <fmt/format.h>

namespace exoflow::proxy {

namespace {

tl::unexpected<Error> annotate(const Error& error, const Binding& binding, std::size_t index) {
  return fail(error.code, fmt::format("binding {}, backend {} ({}): {}", binding.name, index,
                                      binding.backends[index].spec.type, error.message));
}

/// The key that object and kv health checks read: absent, so NotFound is the healthy answer.
constexpr const char* kProbeKey = ".exo-health-probe";

template <typename T> std::vector<T*> pointers(const std::vector<std::unique_ptr<T>>& chain) {
  std::vector<T*> out;
  out.reserve(chain.size());
  for (const auto& m : chain)
    out.push_back(m.get());
  return out;
}

/// A check fails when its call fails or outlasts check_timeout (1.5 s unless configured, never
/// more than backend_timeout). It is kept short: a backend that stops answering (a paused
/// process, a dropped network) gives no error, and calls to it wait backend_timeout (10 s);
/// two failed checks take it out about 3-4 s after it stopped, so that new calls go down the
/// chain within the 5 s a failover may take. A slow backend that still answers within
/// check_timeout stays in.
failover::HealthPolicy healthPolicy(const ProxyConfig& config) {
  failover::HealthPolicy policy;
  policy.check_timeout = std::min(config.limits.check_timeout, config.limits.backend_timeout);
  return policy;
}

/// A binding's chain health; a chain with peers tries them in the peer set's order.
std::shared_ptr<failover::ChainHealth> newHealth(const ProxyConfig& config, const Binding& binding,
                                                 const failover::PeerSet& peers) {
  auto health =
      std::make_shared<failover::ChainHealth>(binding.backends.size(), healthPolicy(config));
  std::vector<std::optional<std::size_t>> chain_peers;
  bool any = false;
  for (const BackendEntry& e : binding.backends) {
    chain_peers.push_back(e.spec.type == backend::peer::kType ? peers.find(e.spec.param("peer"))
                                                              : std::nullopt);
    any = any || chain_peers.back().has_value();
  }
  if (any) health->prefer(peers.preference(std::move(chain_peers)));
  return health;
}

/// Checks each peer's peer listener with GET /healthz and the peer token, on the peers' client
/// without retries, so that a check's time is one round trip.
std::unique_ptr<failover::PeerProber> probePeers(const ProxyConfig& config,
                                                 std::shared_ptr<failover::PeerSet> set,
                                                 backend::PeerLinks& links,
                                                 backend::Scheduler& scheduler) {
  if (set->size() == 0 || !config.tls) return nullptr;
  auto http = links.http();
  if (!http) return nullptr;
  std::vector<net::HttpRequest> requests;
  for (const auto& [name, peer] : config.peers) {
    net::HttpRequest request;
    std::string url = peer.url;
    while (!url.empty() && url.back() == '/')
      url.pop_back();
    request.url = url + "/healthz";
    request.headers.emplace_back("Authorization", "Bearer " + peer.token);
    requests.push_back(std::move(request));
  }
  return std::make_unique<failover::PeerProber>(
      std::move(set), scheduler,
      [client = *http, requests = std::move(requests)](std::size_t i, backend::Done<void> done) {
        client->send(requests.at(i), [done = std::move(done)](Result<net::HttpResponse> r) {
          if (!r) return done(tl::unexpected(r.error()));
          if (r->status != 200) {
            return done(fail(ErrorCode::kUnavailable,
                             fmt::format("GET /healthz answered HTTP {}", r->status)));
          }
          done({});
        });
      });
}

/// A chain of several queues keeps a dedup window of its own, so that a dedup_id holds when
/// a retry lands on another backend than the first attempt.
Result<std::shared_ptr<backend::DedupWindow>> chainDedup(const ProxyConfig& config,
                                                         const Binding& binding) {
  if (binding.backends.size() < 2) return std::shared_ptr<backend::DedupWindow>();
  return backend::DedupWindow::open(config.data_dir / binding.name / "failover-dedup.sqlite");
}

Result<void> serveQueues(const ProxyConfig& config, const failover::PeerSet& peers,
                         backend::Scheduler& scheduler, QueueEntry& entry, QueueEntry* dlq) {
  auto dedup = chainDedup(config, *entry.binding);
  if (!dedup) return tl::unexpected(dedup.error());
  auto health = newHealth(config, *entry.binding, peers);
  entry.failover =
      std::make_unique<failover::FailoverQueue>(entry.name, pointers(entry.chain), health, *dedup);
  entry.checker = std::make_unique<failover::HealthChecker>(
      health, scheduler, [&entry](std::size_t i, backend::Done<void> done) {
        entry.chain[i]->stats([done = std::move(done)](Result<backend::QueueStats> r) {
          done(r ? Result<void>() : tl::unexpected(r.error()));
        });
      });
  if (dlq != nullptr) {
    dlq->failover =
        std::make_unique<failover::FailoverQueue>(dlq->name, pointers(dlq->chain), health, *dedup);
  }
  return {};
}

/// The replicator of an objects or kv binding that asks for replication over more than one
/// backend; null otherwise.
Result<std::unique_ptr<failover::Replicator>>
replicatorFor(const ProxyConfig& config, backend::Scheduler& scheduler, const Binding& binding,
              std::size_t size, const std::shared_ptr<failover::ChainHealth>& health,
              failover::CopyFn copy) {
  if (binding.replication == Replication::kNone || size < 2) {
    return std::unique_ptr<failover::Replicator>();
  }
  if (size > 63) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("binding {}: replication supports at most 63 backends, not {}",
                            binding.name, size));
  }
  auto journal = failover::ReplicationJournal::open(
      config.data_dir / binding.name / "replication.sqlite", size);
  if (!journal) {
    return fail(journal.error().code,
                fmt::format("binding {}: {}", binding.name, journal.error().message));
  }
  failover::ReplicatorOptions options;
  options.sync = binding.replication == Replication::kSync;
  return std::make_unique<failover::Replicator>(binding.name, std::move(*journal), health,
                                                scheduler, std::move(copy), options);
}

Result<void> serveObjects(const ProxyConfig& config, const failover::PeerSet& peers,
                          backend::Scheduler& scheduler, ObjectEntry& entry) {
  auto health = newHealth(config, *entry.binding, peers);
  auto replicator = replicatorFor(config, scheduler, *entry.binding, entry.chain.size(), health,
                                  failover::objectCopier(pointers(entry.chain)));
  if (!replicator) return tl::unexpected(replicator.error());
  entry.replicator = std::move(*replicator);
  entry.failover = std::make_unique<failover::FailoverObjectStore>(pointers(entry.chain), health,
                                                                   entry.replicator.get());
  entry.checker = std::make_unique<failover::HealthChecker>(
      health, scheduler, [&entry](std::size_t i, backend::Done<void> done) {
        entry.chain[i]->head(kProbeKey, [done = std::move(done)](Result<backend::ObjectInfo> r) {
          done(r ? Result<void>() : tl::unexpected(r.error()));
        });
      });
  return {};
}

Result<void> serveKv(const ProxyConfig& config, const failover::PeerSet& peers,
                     backend::Scheduler& scheduler, KvEntry& entry) {
  auto health = newHealth(config, *entry.binding, peers);
  auto replicator = replicatorFor(config, scheduler, *entry.binding, entry.chain.size(), health,
                                  failover::kvCopier(pointers(entry.chain)));
  if (!replicator) return tl::unexpected(replicator.error());
  entry.replicator = std::move(*replicator);
  entry.failover = std::make_unique<failover::FailoverKvStore>(pointers(entry.chain), health,
                                                               entry.replicator.get());
  entry.checker = std::make_unique<failover::HealthChecker>(
      health, scheduler, [&entry](std::size_t i, backend::Done<void> done) {
        entry.chain[i]->get(kProbeKey, [done = std::move(done)](Result<backend::KvItem> r) {
          done(r ? Result<void>() : tl::unexpected(r.error()));
        });
      });
  return {};
}

/// The peers of `config`, reached with the same timeouts as the cloud services.
std::unique_ptr<backend::PeerLinks> openPeers(const ProxyConfig& config,
                                              const net::HttpClientOptions& http) {
  std::map<std::string, backend::PeerTarget> peers;
  for (const auto& [name, peer] : config.peers)
    peers.emplace(name, backend::PeerTarget{peer.url, peer.token});
  std::optional<backend::PeerTls> tls;
  if (config.tls) tls = backend::PeerTls{config.tls->cert, config.tls->key, config.tls->ca};
  return std::make_unique<backend::PeerLinks>(std::move(peers), std::move(tls), http);
}

} // namespace

Result<std::unique_ptr<Bindings>> Bindings::open(const ProxyConfig& config,
                                                 const backend::Registry& registry,
                                                 backend::Scheduler& scheduler) {
  auto out = std::make_unique<Bindings>();
  out->config_ = &config;
  net::HttpClientOptions http;
  http.request_timeout = config.limits.backend_timeout;
  http.deadline = config.limits.backend_timeout;
  http.connect_timeout = std::min(http.connect_timeout, config.limits.backend_timeout);
  out->cloud_ = std::make_unique<backend::CloudServices>(
      backend::AwsCredentialsSpec{config.aws_credentials.source, config.aws_credentials.params},
      http,
      backend::AzureCredentialsSpec{config.azure_credentials.source,
                                    config.azure_credentials.params});
  out->peers_ = openPeers(config, http);
  std::vector<failover::PeerSpec> peer_specs;
  for (const auto& [name, peer] : config.peers)
    peer_specs.push_back({name, peer.priority});
  out->peer_set_ = std::make_shared<failover::PeerSet>(std::move(peer_specs), healthPolicy(config));
  out->prober_ = probePeers(config, out->peer_set_, *out->peers_, scheduler);
  for (const auto& [name, binding] : config.bindings) {
    backend::BackendContext context{name,
                                    config.data_dir,
                                    &scheduler,
                                    out->cloud_.get(),
                                    out->peers_.get(),
                                    config.identity.cloud,
                                    config.identity.region};
    switch (binding.kind) {
    case BindingKind::kQueue: {
      QueueEntry& entry = out->queues_[name];
      entry.name = name;
      entry.binding = &binding;
      QueueEntry* dlq = nullptr;
      if (binding.queue.dead_letter_after) {
        dlq = &out->queues_[binding.queue.dead_letter_queue];
        dlq->name = binding.queue.dead_letter_queue;
        dlq->binding = &binding;
      }
      for (std::size_t i = 0; i < binding.backends.size(); ++i) {
        const backend::BackendSpec& spec = binding.backends[i].spec;
        auto queue = registry.createQueue(spec, {name, binding.queue}, context);
        if (!queue) return annotate(queue.error(), binding, i);
        entry.chain.push_back(std::move(*queue));
        if (dlq == nullptr) continue;
        // The dead-letter queue lives in the same store, as a queue without a DLQ of its own.
        backend::QueueOptions options = binding.queue;
        options.dead_letter_after.reset();
        options.dead_letter_queue.clear();
        auto dead = registry.createQueue(spec, {dlq->name, options}, context);
        if (!dead) return annotate(dead.error(), binding, i);
        dlq->chain.push_back(std::move(*dead));
      }
      if (auto ok = serveQueues(config, *out->peer_set_, scheduler, entry, dlq); !ok) {
        return fail(ok.error().code,
                    fmt::format("binding {}: {}", binding.name, ok.error().message));
      }
      break;
    }
    case BindingKind::kObjects: {
      ObjectEntry& entry = out->objects_[name];
      entry.binding = &binding;
      for (std::size_t i = 0; i < binding.backends.size(); ++i) {
        auto store = registry.createObjectStore(binding.backends[i].spec,
                                                {name, binding.versioning}, context);
        if (!store) return annotate(store.error(), binding, i);
        entry.chain.push_back(std::move(*store));
      }
      if (auto ok = serveObjects(config, *out->peer_set_, scheduler, entry); !ok)
        return tl::unexpected(ok.error());
      break;
    }
    case BindingKind::kKv: {
      KvEntry& entry = out->kv_[name];
      entry.binding = &binding;
      for (std::size_t i = 0; i < binding.backends.size(); ++i) {
        auto store = registry.createKvStore(binding.backends[i].spec, {name}, context);
        if (!store) return annotate(store.error(), binding, i);
        entry.chain.push_back(std::move(*store));
      }
      if (auto ok = serveKv(config, *out->peer_set_, scheduler, entry); !ok)
        return tl::unexpected(ok.error());
      break;
    }
    case BindingKind::kDatabase:
      break; // credentials only: answered from the config
    }
  }
  return out;
}

const QueueEntry* Bindings::queue(const std::string& name) const {
  auto it = queues_.find(name);
  return it == queues_.end() ? nullptr : &it->second;
}

const ObjectEntry* Bindings::objects(const std::string& name) const {
  auto it = objects_.find(name);
  return it == objects_.end() ? nullptr : &it->second;
}

const KvEntry* Bindings::kv(const std::string& name) const {
  auto it = kv_.find(name);
  return it == kv_.end() ? nullptr : &it->second;
}

const Binding* Bindings::database(const std::string& name) const {
  auto it = config_->bindings.find(name);
  if (it == config_->bindings.end() || it->second.kind != BindingKind::kDatabase) return nullptr;
  return &it->second;
}

} // namespace exoflow::proxy
