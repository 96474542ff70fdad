#include "backend/registry.h"

#include <fmt/format.h>

#include "backend/aws/dynamodb_kv_store.h"
#include "backend/aws/s3_object_store.h"
#include "backend/aws/sqs_queue.h"
#include "backend/azure/azure_blob.h"
#include "backend/azure/azure_queue.h"
#include "backend/azure/azure_table.h"
#include "backend/local/local_backends.h"
#include "backend/peer/peer_backends.h"

namespace exoflow::backend {
namespace {

template <typename Factory>
std::vector<std::string> typesOf(const std::map<std::string, Factory>& factories) {
  std::vector<std::string> types;
  types.reserve(factories.size());
  for (const auto& [type, factory] : factories)
    types.push_back(type); // std::map: sorted
  return types;
}

/// Looks `spec.type` up among one kind's factories and calls it, or names what is known.
template <typename Object, typename Factory, typename Config>
Result<std::unique_ptr<Object>> create(const std::map<std::string, Factory>& factories,
                                       std::string_view kind, const BackendSpec& spec,
                                       const Config& config, const BackendContext& context) {
  auto it = factories.find(spec.type);
  if (it == factories.end()) {
    std::vector<std::string> known = typesOf(factories);
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("unknown {} backend type \"{}\"; known types: {}", kind, spec.type,
                            known.empty() ? std::string("(none)")
                                          : fmt::format("{}", fmt::join(known, ", "))));
  }
  if (context.scheduler == nullptr) {
    return fail(ErrorCode::kInternal, "backend context without a scheduler");
  }
  return it->second(spec, config, context);
}

} // namespace

void Registry::addQueue(std::string type, QueueFactory factory) {
  queues_[std::move(type)] = std::move(factory);
}

void Registry::addObjectStore(std::string type, ObjectStoreFactory factory) {
  object_stores_[std::move(type)] = std::move(factory);
}

void Registry::addKvStore(std::string type, KvStoreFactory factory) {
  kv_stores_[std::move(type)] = std::move(factory);
}

Result<std::unique_ptr<Queue>> Registry::createQueue(const BackendSpec& spec,
                                                     const QueueConfig& config,
                                                     const BackendContext& context) const {
  return create<Queue>(queues_, "queue", spec, config, context);
}

Result<std::unique_ptr<ObjectStore>>
Registry::createObjectStore(const BackendSpec& spec, const ObjectStoreConfig& config,
                            const BackendContext& context) const {
  return create<ObjectStore>(object_stores_, "objects", spec, config, context);
}

Result<std::unique_ptr<KvStore>> Registry::createKvStore(const BackendSpec& spec,
                                                         const KvStoreConfig& config,
                                                         const BackendContext& context) const {
  return create<KvStore>(kv_stores_, "kv", spec, config, context);
}

std::vector<std::string> Registry::queueTypes() const {
  return typesOf(queues_);
}

std::vector<std::string> Registry::objectStoreTypes() const {
  return typesOf(object_stores_);
}

std::vector<std::string> Registry::kvStoreTypes() const {
  return typesOf(kv_stores_);
}

void registerBuiltinBackends(Registry& registry) {
  registry.addQueue(std::string(local::kType), local::openQueue);
  registry.addObjectStore(std::string(local::kType), local::openObjectStore);
  registry.addKvStore(std::string(local::kType), local::openKvStore);
  registry.addQueue(std::string(aws_sqs::kType), aws_sqs::openQueue);
  registry.addObjectStore(std::string(aws_s3::kType), aws_s3::openObjectStore);
  registry.addKvStore(std::string(aws_dynamodb::kType), aws_dynamodb::openKvStore);
  registry.addQueue(std::string(azure_queue::kType), azure_queue::openQueue);
  registry.addKvStore(std::string(azure_table::kType), azure_table::openKvStore);
  registry.addObjectStore(std::string(azure_blob::kType), azure_blob::openObjectStore);
  registry.addQueue(std::string(peer::kType), peer::openQueue);
  registry.addObjectStore(std::string(peer::kType), peer::openObjectStore);
  registry.addKvStore(std::string(peer::kType), peer::openKvStore);
}

} // namespace exoflow::backend
