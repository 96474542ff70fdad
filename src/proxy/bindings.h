#pragma once
// The bindings of a config, opened: every backend of every binding created through the
// registry, and for a queue with dead_letter_after its dead-letter queue "<name>-dlq" as a
// queue of its own. Each entry serves its whole chain through a failover composite
// (proxy/failover/): the first healthy backend serves, health checks run on the scheduler.
// Objects and kv bindings with `replication` copy their writes between the backends through
// a journal in <data_dir>/<binding>/replication.sqlite (failover/replication.h).

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "backend/cloud.h"
#include "backend/peer/peer_backends.h"
#include "backend/registry.h"
#include "proxy/config.h"
#include "proxy/failover/failover_queue.h"
#include "proxy/failover/failover_stores.h"
#include "proxy/failover/health.h"
#include "proxy/failover/peer_set.h"
#include "proxy/failover/replication.h"

namespace exoflow::proxy {

/// The first backend of `chain` that is not a peer, or null. A request that came from a peer
/// is served only by one of these, never forwarded again: two proxies cannot loop.
template <typename T>
T* firstNonPeer(const Binding& binding, const std::vector<std::unique_ptr<T>>& chain) {
  for (std::size_t i = 0; i < chain.size() && i < binding.backends.size(); ++i) {
    if (binding.backends[i].spec.type != backend::peer::kType) return chain[i].get();
  }
  return nullptr;
}

/// One served queue: a binding's queue or its dead-letter queue.
struct QueueEntry {
  std::string name;
  const Binding* binding = nullptr;
  std::vector<std::unique_ptr<backend::Queue>> chain; ///< in priority order, never empty
  /// The chain as one queue; a dead-letter queue shares its source queue's health.
  std::unique_ptr<failover::FailoverQueue> failover;
  std::unique_ptr<failover::HealthChecker> checker; ///< null for a dead-letter queue
  backend::Queue& active() const { return *failover; }
  failover::ChainHealth& health() const { return *failover->health(); }
  backend::Queue* forPeers() const { return firstNonPeer(*binding, chain); }
};

struct ObjectEntry {
  const Binding* binding = nullptr;
  std::vector<std::unique_ptr<backend::ObjectStore>> chain;
  /// With replication (and more than one backend); declared before the composite, which
  /// uses it, so that it is destroyed after it.
  std::unique_ptr<failover::Replicator> replicator;
  std::unique_ptr<failover::FailoverObjectStore> failover; ///< the chain as one store
  std::unique_ptr<failover::HealthChecker> checker;
  backend::ObjectStore& active() const { return *failover; }
  failover::ChainHealth& health() const { return *failover->health(); }
  backend::ObjectStore* forPeers() const { return firstNonPeer(*binding, chain); }
};

struct KvEntry {
  const Binding* binding = nullptr;
  std::vector<std::unique_ptr<backend::KvStore>> chain;
  std::unique_ptr<failover::Replicator> replicator;    ///< as in ObjectEntry
  std::unique_ptr<failover::FailoverKvStore> failover; ///< the chain as one store
  std::unique_ptr<failover::HealthChecker> checker;
  backend::KvStore& active() const { return *failover; }
  failover::ChainHealth& health() const { return *failover->health(); }
  backend::KvStore* forPeers() const { return firstNonPeer(*binding, chain); }
};

class Bindings {
public:
  /// Opens every binding of `config`. The first failure is returned, naming the binding and
  /// the backend entry. `config` and `scheduler` must outlive the result.
  static Result<std::unique_ptr<Bindings>>
  open(const ProxyConfig& config, const backend::Registry& registry, backend::Scheduler& scheduler);

  /// The queue (dead-letter queues included), bucket, table or database named, or null.
  const QueueEntry* queue(const std::string& name) const;
  const ObjectEntry* objects(const std::string& name) const;
  const KvEntry* kv(const std::string& name) const;
  const Binding* database(const std::string& name) const;

  const std::map<std::string, QueueEntry>& queues() const { return queues_; }
  const std::map<std::string, ObjectEntry>& buckets() const { return objects_; }
  const std::map<std::string, KvEntry>& tables() const { return kv_; }
  const ProxyConfig& config() const { return *config_; }
  /// The peers' health and round-trip times (empty without peers).
  const failover::PeerSet& peerSet() const { return *peer_set_; }

private:
  const ProxyConfig* config_ = nullptr;
  // The cloud backends' HTTP client and credentials; declared before the backends, so that it
  // outlives them.
  std::unique_ptr<backend::CloudServices> cloud_;
  std::unique_ptr<backend::PeerLinks> peers_; ///< the peers' client, likewise
  std::shared_ptr<failover::PeerSet> peer_set_;
  std::unique_ptr<failover::PeerProber> prober_; ///< stops before the peers' client goes
  std::map<std::string, QueueEntry> queues_;
  std::map<std::string, ObjectEntry> objects_;
  std::map<std::string, KvEntry> kv_;
};

} // namespace exoflow::proxy
