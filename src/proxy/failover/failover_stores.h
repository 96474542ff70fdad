#pragma once
// A binding's objects and kv over its whole chain (DESIGN.md, "Failover semantics"): writes go
// to the first healthy backend and fall through to the next on an outage before any byte was
// taken; reads fall back down the chain on Unavailable and on NotFound (the data may have been
// written to another backend during a failover); deletes reach every healthy backend, so that
// a fallback read never finds what was deleted. Lists come from the first healthy backend that
// answers. With a Replicator, every write and delete is journaled before it reaches a backend
// and held apart from the copies of its key (replication.h).

#include <memory>
#include <vector>

#include "backend/kv_store.h"
#include "backend/object_store.h"
#include "proxy/failover/health.h"
#include "proxy/failover/replication.h"

namespace exoflow::proxy::failover {

class FailoverObjectStore final : public backend::ObjectStore {
public:
  /// `members` in priority order, not owned; they outlive this. `replicator` may be null (no
  /// replication); it outlives this too.
  FailoverObjectStore(std::vector<backend::ObjectStore*> members,
                      std::shared_ptr<ChainHealth> health, Replicator* replicator = nullptr);

  std::string describe() const override;
  backend::ObjectFeatures features() const override;
  void put(backend::PutRequest request,
           backend::Done<std::unique_ptr<backend::ObjectUpload>> done) override;
  void get(std::string key, std::optional<backend::ByteRange> range,
           backend::Done<std::unique_ptr<backend::ObjectDownload>> done) override;
  void head(std::string key, backend::Done<backend::ObjectInfo> done) override;
  void remove(std::string key, backend::Done<void> done) override;
  void list(backend::ListRequest request, backend::Done<backend::ListResult> done) override;

  const std::shared_ptr<ChainHealth>& health() const { return health_; }

private:
  void putHeld(backend::PutRequest request, std::shared_ptr<Replicator::KeyHold> hold,
               backend::Done<std::unique_ptr<backend::ObjectUpload>> done);
  void removeHeld(std::string key, backend::Done<void> done);

  const std::vector<backend::ObjectStore*> members_;
  const std::shared_ptr<ChainHealth> health_;
  Replicator* const replicator_;
};

class FailoverKvStore final : public backend::KvStore {
public:
  FailoverKvStore(std::vector<backend::KvStore*> members, std::shared_ptr<ChainHealth> health,
                  Replicator* replicator = nullptr);

  std::string describe() const override;
  backend::KvFeatures features() const override;
  void put(backend::KvPutRequest request, backend::Done<std::string> done) override;
  void get(std::string key, backend::Done<backend::KvItem> done) override;
  /// With `if_match`, the condition is checked by the first backend that answers; the others
  /// drop their copy only once it succeeded.
  void remove(std::string key, std::optional<std::string> if_match,
              backend::Done<void> done) override;
  void list(backend::KvListRequest request, backend::Done<backend::KvListResult> done) override;

  const std::shared_ptr<ChainHealth>& health() const { return health_; }

private:
  void putHeld(backend::KvPutRequest request, backend::Done<std::string> done);
  void removeHeld(std::string key, std::optional<std::string> if_match, backend::Done<void> done);

  const std::vector<backend::KvStore*> members_;
  const std::shared_ptr<ChainHealth> health_;
  Replicator* const replicator_;
};

} // namespace exoflow::proxy::failover
