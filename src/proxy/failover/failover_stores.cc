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

/// An upload that reports how its backend answered and, under replication, holds its key
/// until the write is journaled and (sync) copied.
class ObservedUpload final : public backend::ObjectUpload {
public:
  /// What a replicated upload carries: the write's journal entry and its key's hold.
  struct Replicated {
    Replicator* replicator = nullptr;
    std::string key;
    std::int64_t seq = 0;
    std::shared_ptr<Replicator::KeyHold> hold;
  };

  ObservedUpload(std::unique_ptr<backend::ObjectUpload> inner, std::shared_ptr<ChainHealth> health,
                 std::size_t index, Replicated replicated)
      : inner_(std::move(inner)), health_(std::move(health)), index_(index),
        replicated_(std::move(replicated)) {}

  void write(std::string chunk, Done<void> done) override {
    inner_->write(std::move(chunk), [this, done = std::move(done)](Result<void> r) {
      observe(r ? nullptr : &r.error());
      done(std::move(r));
    });
  }
  void finish(Done<backend::ObjectInfo> done) override {
    inner_->finish([this, done = std::move(done)](Result<backend::ObjectInfo> r) {
      observe(r ? nullptr : &r.error());
      if (!r || replicated_.replicator == nullptr) {
        done(std::move(r));
        return;
      }
      replicated_.replicator->written(replicated_.key, index_, replicated_.seq,
                                      [this, done, info = std::move(*r)](Result<void>) mutable {
                                        replicated_.hold.reset();
                                        done(std::move(info));
                                      });
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
  Replicated replicated_;
};

/// Journals a write of `key` about to go to backend `index`; 0 without a replicator.
Result<std::int64_t> journal(Replicator* replicator, const std::string& key, std::size_t index) {
  if (replicator == nullptr) return std::int64_t{0};
  return replicator->record(key, index);
}

/// Runs `then` with the hold of `key` (null without a replicator).
void withHold(Replicator* replicator, const std::string& key,
              std::function<void(std::shared_ptr<Replicator::KeyHold>)> then) {
  if (replicator == nullptr) {
    then(nullptr);
    return;
  }
  replicator->hold(key, std::move(then));
}

/// `done` that lets go of `hold` before answering.
template <typename T> Done<T> releasing(std::shared_ptr<Replicator::KeyHold> hold, Done<T> done) {
  if (hold == nullptr) return done;
  return [hold = std::move(hold), done = std::move(done)](Result<T> r) mutable {
    hold.reset();
    done(std::move(r));
  };
}

/// The call of a delete on one backend of RemoveAll, journaled: the first backend that
/// answers is the write's source; each later one that succeeded no longer needs a copy.
template <typename Call>
std::function<void(std::size_t, bool, Done<void>)> journaledRemove(Replicator* replicator,
                                                                   std::string key, Call call) {
  auto seq = std::make_shared<std::optional<std::int64_t>>();
  return [replicator, key = std::move(key), call = std::move(call), seq](std::size_t index,
                                                                         bool first, Done<void> d) {
    if (replicator != nullptr && first) {
      Result<std::int64_t> s = replicator->record(key, index);
      if (!s) {
        d(tl::unexpected(s.error()));
        return;
      }
      *seq = *s;
    }
    call(index, first, [replicator, key, seq, index, first, d = std::move(d)](Result<void> r) {
      if (r && !first && replicator != nullptr && seq->has_value()) {
        replicator->settle(key, index, **seq);
      }
      d(std::move(r));
    });
  };
}

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
                                         std::shared_ptr<ChainHealth> health,
                                         Replicator* replicator)
    : members_(std::move(members)), health_(std::move(health)), replicator_(replicator) {}

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
  const std::string key = request.key;
  withHold(replicator_, key,
           [this, request = std::move(request),
            done = std::move(done)](std::shared_ptr<Replicator::KeyHold> hold) mutable {
             putHeld(std::move(request), std::move(hold), std::move(done));
           });
}

void FailoverObjectStore::putHeld(backend::PutRequest request,
                                  std::shared_ptr<Replicator::KeyHold> hold,
                                  Done<std::unique_ptr<backend::ObjectUpload>> done) {
  walk<std::unique_ptr<backend::ObjectUpload>>(
      health_, FallThrough::kOutage,
      [this, request = std::move(request),
       hold = std::move(hold)](std::size_t index, Done<std::unique_ptr<backend::ObjectUpload>> d) {
        Result<std::int64_t> seq = journal(replicator_, request.key, index);
        if (!seq) {
          d(tl::unexpected(seq.error()));
          return;
        }
        members_[index]->put(
            request, [this, index, key = request.key, seq = *seq, hold,
                      d = std::move(d)](Result<std::unique_ptr<backend::ObjectUpload>> made) {
              if (!made) {
                d(std::move(made));
                return;
              }
              ObservedUpload::Replicated replicated{replicator_, key, seq, hold};
              d(std::unique_ptr<backend::ObjectUpload>(std::make_unique<ObservedUpload>(
                  std::move(*made), health_, index, std::move(replicated))));
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
  const std::string held = key;
  withHold(replicator_, held,
           [this, key = std::move(key),
            done = std::move(done)](std::shared_ptr<Replicator::KeyHold> hold) mutable {
             removeHeld(std::move(key), releasing(std::move(hold), std::move(done)));
           });
}

void FailoverObjectStore::removeHeld(std::string key, Done<void> done) {
  auto all = std::make_shared<RemoveAll>();
  all->health = health_;
  all->order = health_->order();
  all->call = journaledRemove(replicator_, key, [this, key](std::size_t index, bool, Done<void> d) {
    members_[index]->remove(key, std::move(d));
  });
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
                                 std::shared_ptr<ChainHealth> health, Replicator* replicator)
    : members_(std::move(members)), health_(std::move(health)), replicator_(replicator) {}

std::string FailoverKvStore::describe() const {
  return members_[health_->active().value_or(0)]->describe();
}

backend::KvFeatures FailoverKvStore::features() const {
  using F = backend::KvFeature;
  return intersect<backend::KvStore, backend::KvFeatures>(
      members_, {F::kConditionalWrites, F::kPrefixList, F::kLargeValues});
}

void FailoverKvStore::put(backend::KvPutRequest request, Done<std::string> done) {
  const std::string key = request.key;
  withHold(replicator_, key,
           [this, request = std::move(request),
            done = std::move(done)](std::shared_ptr<Replicator::KeyHold> hold) mutable {
             putHeld(std::move(request), releasing(std::move(hold), std::move(done)));
           });
}

void FailoverKvStore::putHeld(backend::KvPutRequest request, Done<std::string> done) {
  walk<std::string>(
      health_, FallThrough::kOutage,
      [this, request = std::move(request)](std::size_t index, Done<std::string> d) {
        Result<std::int64_t> seq = journal(replicator_, request.key, index);
        if (!seq) {
          d(tl::unexpected(seq.error()));
          return;
        }
        members_[index]->put(request, [this, index, key = request.key, seq = *seq,
                                       d = std::move(d)](Result<std::string> r) {
          if (!r || replicator_ == nullptr) {
            d(std::move(r));
            return;
          }
          replicator_->written(key, index, seq,
                               [d, version = std::move(*r)](Result<void>) { d(version); });
        });
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
  const std::string held = key;
  withHold(replicator_, held,
           [this, key = std::move(key), if_match = std::move(if_match),
            done = std::move(done)](std::shared_ptr<Replicator::KeyHold> hold) mutable {
             removeHeld(std::move(key), std::move(if_match),
                        releasing(std::move(hold), std::move(done)));
           });
}

void FailoverKvStore::removeHeld(std::string key, std::optional<std::string> if_match,
                                 Done<void> done) {
  auto all = std::make_shared<RemoveAll>();
  all->health = health_;
  all->order = health_->order();
  all->call = journaledRemove(
      replicator_, key,
      [this, key, if_match = std::move(if_match)](std::size_t index, bool first, Done<void> d) {
        members_[index]->remove(key, first ? if_match : std::nullopt, std::move(d));
      });
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
