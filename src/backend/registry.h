#pragma once
// The explicit registry of backend types, keyed by the config's type names ("local.sqlite",
// later "aws.sqs", "azure.blob", "peer"). Nothing registers itself behind the caller's back:
// registerBuiltinBackends() lists every type in one place.

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "backend/kv_store.h"
#include "backend/object_store.h"
#include "backend/queue.h"

namespace exoflow::backend {

using QueueFactory = std::function<Result<std::unique_ptr<Queue>>(
    const BackendSpec&, const QueueConfig&, const BackendContext&)>;
using ObjectStoreFactory = std::function<Result<std::unique_ptr<ObjectStore>>(
    const BackendSpec&, const ObjectStoreConfig&, const BackendContext&)>;
using KvStoreFactory = std::function<Result<std::unique_ptr<KvStore>>(
    const BackendSpec&, const KvStoreConfig&, const BackendContext&)>;

class Registry {
public:
  void addQueue(std::string type, QueueFactory factory);
  void addObjectStore(std::string type, ObjectStoreFactory factory);
  void addKvStore(std::string type, KvStoreFactory factory);

  /// kInvalidArgument naming the type when it is not registered for that kind.
  Result<std::unique_ptr<Queue>> createQueue(const BackendSpec& spec, const QueueConfig& config,
                                             const BackendContext& context) const;
  Result<std::unique_ptr<ObjectStore>> createObjectStore(const BackendSpec& spec,
                                                         const ObjectStoreConfig& config,
                                                         const BackendContext& context) const;
  Result<std::unique_ptr<KvStore>> createKvStore(const BackendSpec& spec,
                                                 const KvStoreConfig& config,
                                                 const BackendContext& context) const;

  /// Registered type names per kind, sorted (for error messages and docs).
  std::vector<std::string> queueTypes() const;
  std::vector<std::string> objectStoreTypes() const;
  std::vector<std::string> kvStoreTypes() const;

private:
  std::map<std::string, QueueFactory> queues_;
  std::map<std::string, ObjectStoreFactory> object_stores_;
  std::map<std::string, KvStoreFactory> kv_stores_;
};

/// Registers every backend type this build has.
void registerBuiltinBackends(Registry& registry);

} // namespace exoflow::backend
