#include "proxy/failover/failover_stores.h"

namespace exoflow::proxy::failover {

namespace {

using backend::Done;

/// Which answers pass a call on to the next backend of the chain.
enum class FallThrough {
  kOutage,           ///< only Unavailable: the backend could not be asked
  kOutageOrNotFound, ///< also NotFound: the data may be on a later backend
};

/// One call walking down the chain until a backend gives an answer that `rule` keeps. When
/// none does, the result is Unavailable if some backend was out (the data may be there), else
/// the first backend's answer.
template <typename T> struct Walk : std::enable_shared_from_this<Walk<T>> {
  std::shared_ptr<ChainHealth> health;
  std::vector<std::size_t> order;
  FallThrough rule = FallThrough::kOutage;
  std::function<void(std::size_t, Done<T>)> call;
  Done<T> done;
  std::size_t next = 0;
  std::optional<Error> outage;
  std::optional<Error> missing;

  void step() {
    if (next == order.size()) {
      done(tl::unexpected(outage    ? *outage
                          : missing ? *missing
                                    : Error{ErrorCode::kUnavailable, "no backend to ask"}));
      return;
    }
    const std::size_t index = order[next++];
    call(index, [self = this->shared_from_this(), index](Result<T> r) {
      if (!r && isOutage(r.error())) {
        self->health->failed(index, r.error().message);
        if (!self->outage) self->outage = r.error();
        self->step();
        return;
      }
      self->health->succeeded(index);
      if (!r && r.error().code == ErrorCode::kNotFound &&
          self->rule == FallThrough::kOutageOrNotFound) {
        if (!self->missing) self->missing = r.error();
        self->step();
        return;
      }
      self->done(std::move(r));
    });
  }
};

template <typename T>
void walk(const std::shared_ptr<ChainHealth>& health, FallThrough rule,
          std::function<void(std::size_t, Done<T>)> call, Done<T> done) {
  auto w = std::make_shared<Walk<T>>();
  w->health = health;
  w->order = health->order();
  w->rule = rule;
  w->call = std::move(call);
  w->done = std::move(done);
  w->step();
}

/// A delete on every backend of the chain, in order. The first backend that answers decides
/// the result (`first` tells the call it is that one); the later ones are asked only after it
/// succeeded, and their outcome only informs their health.
struct RemoveAll : std::enable_shared_from_this<RemoveAll> {
  std::shared_ptr<ChainHealth> health;
  std::vector<std::size_t> order;
  std::function<void(std::size_t, bool first, Done<void>)> call;
  Done<void> done;
  std::size_t next = 0;
  std::optional<Result<void>> answer;
  std::optional<Error> outage;

  void step() {
    if (next == order.size()) {
      if (answer) {
        done(std::move(*answer));
      } else {
        done(tl::unexpected(outage.value_or(Error{ErrorCode::kUnavailable, "no backend"})));
      }
      return;
    }
    const std::size_t index = order[next++];
    call(index, !answer, [self = shared_from_this(), index](Result<void> r) {
      if (!r && isOutage(r.error())) {
        self->health->failed(index, r.error().message);
        if (!self->outage) self->outage = r.error();
        self->step();
        return;
      }
      self->health->succeeded(index);
      if (!self->answer) {
        self->answer = r;
        if (!r) {
          self->done(std::move(r));
          return;
        }
      }
      self->step();
    });
  }
};

/// An upload that reports how its backend answered.
class ObservedUpload final : public backend::ObjectUpload {
public:
  ObservedUpload(std::unique_ptr<backend::ObjectUpload> inner, std::shared_ptr<ChainHealth> health,
                 std::size_t index)
      : inner_(std::move(inner)), health_(std::move(health)), index_(index) {}

  void write(std::string chunk, Done<void> done) override {
    inner_->write(std::move(chunk), [this, done = std::move(done)](Result<void> r) {
      observe(r ? nullptr : &r.error());
      done(std::move(r));
    });
  }
  void finish(Done<backend::ObjectInfo> done) override {
    inner_->finish([this, done = std::move(done)](Result<backend::ObjectInfo> r) {
      observe(r ? nullptr : &r.error());
      done(std::move(r));
    });
  }
  void abort() override { inner_->abort(); }

private:
  void observe(const Error* error) {
    if (error != nullptr && isOutage(*error)) {
      health_->failed(index_, error->message);
    } else {
      health_->succeeded(index_);
    }
  }

  std::unique_ptr<backend::ObjectUpload> inner_;
  std::shared_ptr<ChainHealth> health_;
  std::size_t index_;
};

template <typename Member, typename Features, typename Feature>
Features intersect(const std::vector<Member*>& members, std::initializer_list<Feature> all) {
  Features out;
  for (Feature f : all) {
    bool every = true;
    for (const Member* m : members)
      every = every && m->features().has(f);
    if (every) out = out.with(f);
  }
  return out;
}

} // namespace

// ---- objects ----

FailoverObjectStore::FailoverObjectStore(std::vector<backend::ObjectStore*> members,
                                         std::shared_ptr<ChainHealth> health)
    : members_(std::move(members)), health_(std::move(health)) {}

std::string FailoverObjectStore::describe() const {
  return members_[health_->active().value_or(0)]->describe();
}

backend::ObjectFeatures FailoverObjectStore::features() const {
  using F = backend::ObjectFeature;
  return intersect<backend::ObjectStore, backend::ObjectFeatures>(
      members_,
      {F::kRanges, F::kMetadata, F::kIfNoneMatchPut, F::kDelimiterList, F::kLargeObjects});
}

void FailoverObjectStore::put(backend::PutRequest request,
                              Done<std::unique_ptr<backend::ObjectUpload>> done) {
  walk<std::unique_ptr<backend::ObjectUpload>>(
      health_, FallThrough::kOutage,
      [this, request = std::move(request)](std::size_t index,
                                           Done<std::unique_ptr<backend::ObjectUpload>> d) {
        members_[index]->put(request, [this, index, d = std::move(d)](
                                          Result<std::unique_ptr<backend::ObjectUpload>> made) {
          if (!made) {
            d(std::move(made));
            return;
          }
          d(std::unique_ptr<backend::ObjectUpload>(
              std::make_unique<ObservedUpload>(std::move(*made), health_, index)));
        });
      },
      std::move(done));
}

void FailoverObjectStore::get(std::string key, std::optional<backend::ByteRange> range,
                              Done<std::unique_ptr<backend::ObjectDownload>> done) {
  walk<std::unique_ptr<backend::ObjectDownload>>(
      health_, FallThrough::kOutageOrNotFound,
      [this, key = std::move(key), range](std::size_t index,
                                          Done<std::unique_ptr<backend::ObjectDownload>> d) {
        members_[index]->get(key, range, std::move(d));
      },
      std::move(done));
}

void FailoverObjectStore::head(std::string key, Done<backend::ObjectInfo> done) {
  walk<backend::ObjectInfo>(
      health_, FallThrough::kOutageOrNotFound,
      [this, key = std::move(key)](std::size_t index, Done<backend::ObjectInfo> d) {
        members_[index]->head(key, std::move(d));
      },
      std::move(done));
}

void FailoverObjectStore::remove(std::string key, Done<void> done) {
  auto all = std::make_shared<RemoveAll>();
  all->health = health_;
  all->order = health_->order();
  all->call = [this, key = std::move(key)](std::size_t index, bool, Done<void> d) {
    members_[index]->remove(key, std::move(d));
  };
  all->done = std::move(done);
  all->step();
}

void FailoverObjectStore::list(backend::ListRequest request, Done<backend::ListResult> done) {
  walk<backend::ListResult>(
      health_, FallThrough::kOutage,
      [this, request = std::move(request)](std::size_t index, Done<backend::ListResult> d) {
        members_[index]->list(request, std::move(d));
      },
      std::move(done));
}

// ---- kv ----

FailoverKvStore::FailoverKvStore(std::vector<backend::KvStore*> members,
                                 std::shared_ptr<ChainHealth> health)
    : members_(std::move(members)), health_(std::move(health)) {}

std::string FailoverKvStore::describe() const {
  return members_[health_->active().value_or(0)]->describe();
}

backend::KvFeatures FailoverKvStore::features() const {
  using F = backend::KvFeature;
  return intersect<backend::KvStore, backend::KvFeatures>(
      members_, {F::kConditionalWrites, F::kPrefixList, F::kLargeValues});
}

void FailoverKvStore::put(backend::KvPutRequest request, Done<std::string> done) {
  walk<std::string>(
      health_, FallThrough::kOutage,
      [this, request = std::move(request)](std::size_t index, Done<std::string> d) {
        members_[index]->put(request, std::move(d));
      },
      std::move(done));
}

void FailoverKvStore::get(std::string key, Done<backend::KvItem> done) {
  walk<backend::KvItem>(
      health_, FallThrough::kOutageOrNotFound,
      [this, key = std::move(key)](std::size_t index, Done<backend::KvItem> d) {
        members_[index]->get(key, std::move(d));
      },
      std::move(done));
}

void FailoverKvStore::remove(std::string key, std::optional<std::string> if_match,
                             Done<void> done) {
  auto all = std::make_shared<RemoveAll>();
  all->health = health_;
  all->order = health_->order();
  all->call = [this, key = std::move(key),
               if_match = std::move(if_match)](std::size_t index, bool first, Done<void> d) {
    members_[index]->remove(key, first ? if_match : std::nullopt, std::move(d));
  };
  all->done = std::move(done);
  all->step();
}

void FailoverKvStore::list(backend::KvListRequest request, Done<backend::KvListResult> done) {
  walk<backend::KvListResult>(
      health_, FallThrough::kOutage,
      [this, request = std::move(request)](std::size_t index, Done<backend::KvListResult> d) {
        members_[index]->list(request, std::move(d));
      },
      std::move(done));
}

} // namespace exoflow::proxy::failover
