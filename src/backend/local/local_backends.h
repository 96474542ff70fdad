#pragma once
// The local.sqlite backends: queues, objects and kv on SQLite files (and object bodies as
// files) under one directory per binding. The default backend of `exoflow up`.
//
// Layout of a store directory: queue.sqlite (every queue of the binding, dead-letter queues
// included), objects.sqlite with blobs/ (object bodies named by random ids, never by key),
// kv.sqlite. One directory may hold several queues, buckets or tables: rows carry the name.
// A dead-letter queue is opened with the same spec and context as its source queue and the
// name in QueueOptions::dead_letter_queue, so both share the store.

#include <memory>
#include <string_view>

#include "backend/kv_store.h"
#include "backend/object_store.h"
#include "backend/queue.h"

namespace exoflow::backend::local {

/// The registry key and the x-exo-backend value.
inline constexpr std::string_view kType = "local.sqlite";

/// Opens the queue `config.name` in the binding's store.
Result<std::unique_ptr<Queue>> openQueue(const BackendSpec& spec, const QueueConfig& config,
                                         const BackendContext& context);
/// Opens the bucket `config.name` in the binding's store; cleans files a crash left behind
/// when the store is first opened in this process.
Result<std::unique_ptr<ObjectStore>> openObjectStore(const BackendSpec& spec,
                                                     const ObjectStoreConfig& config,
                                                     const BackendContext& context);
/// Opens the table `config.name` in the binding's store.
Result<std::unique_ptr<KvStore>> openKvStore(const BackendSpec& spec, const KvStoreConfig& config,
                                             const BackendContext& context);

} // namespace exoflow::backend::local
