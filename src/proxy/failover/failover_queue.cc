#include "proxy/failover/failover_queue.h"

#include <map>
#include <mutex>
#include <string_view>

namespace exoflow::proxy::failover {

namespace {

using backend::QueueFeature;

/// A receipt is the issuing member's index as one base64url character, then the member's own
/// receipt (base64url too), so the whole stays base64url.
constexpr std::string_view kIndexChars =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::int64_t steadyMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

} // namespace

struct FailoverQueue::Send {
  std::vector<backend::OutgoingMessage> batch;
  std::vector<std::string> ids;   ///< per message; set early for those the window knew
  std::vector<std::size_t> fresh; ///< the messages still to send
  std::vector<std::size_t> order; ///< the members to try
  Error last_error{ErrorCode::kUnavailable, "no backend accepted the messages"};
  backend::Done<std::vector<std::string>> done;
  std::function<void(std::string)> served;
};

struct FailoverQueue::Poll {
  backend::ReceiveRequest request;
  std::vector<std::size_t> order;
  std::size_t next = 0;
  bool waited = false;                 ///< the one long poll was made
  std::optional<std::size_t> answered; ///< the first member that answered
  std::vector<backend::ReceivedMessage> got;
  std::optional<Error> error;
  backend::Done<std::vector<backend::ReceivedMessage>> done;
};

FailoverQueue::FailoverQueue(std::string name, std::vector<backend::Queue*> members,
                             std::shared_ptr<ChainHealth> health,
                             std::shared_ptr<backend::DedupWindow> dedup)
    : name_(std::move(name)), members_(std::move(members)), health_(std::move(health)),
      dedup_(std::move(dedup)), drain_(members_.size()) {}

std::string FailoverQueue::describe() const {
  return members_[health_->active().value_or(0)]->describe();
}

backend::QueueFeatures FailoverQueue::features() const {
  backend::QueueFeatures out;
  for (QueueFeature f :
       {QueueFeature::kLongPolling, QueueFeature::kDeadLetter, QueueFeature::kDedup,
        QueueFeature::kAttributes, QueueFeature::kVisibilityChange, QueueFeature::kFifo}) {
    bool all = true;
    for (const backend::Queue* m : members_)
      all = all && m->features().has(f);
    if (all) out = out.with(f);
  }
  return out;
}

void FailoverQueue::observe(std::size_t index, const Error* error) {
  if (error != nullptr && isOutage(*error)) {
    health_->failed(index, error->message);
  } else {
    health_->succeeded(index);
  }
}

void FailoverQueue::send(std::vector<backend::OutgoingMessage> batch,
                         backend::Done<std::vector<std::string>> done) {
  sendVia(std::move(batch), std::move(done), nullptr);
}

void FailoverQueue::sendVia(std::vector<backend::OutgoingMessage> batch,
                            backend::Done<std::vector<std::string>> done,
                            std::function<void(std::string)> served) {
  auto s = std::make_shared<Send>();
  s->served = std::move(served);
  s->ids.resize(batch.size());
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (dedup_ && batch[i].dedup_id) {
      Result<std::optional<std::string>> seen = dedup_->find(name_, *batch[i].dedup_id);
      if (!seen) {
        done(tl::unexpected(seen.error()));
        return;
      }
      if (*seen) {
        s->ids[i] = **seen;
        continue;
      }
    }
    s->fresh.push_back(i);
  }
  if (s->fresh.empty()) {
    done(std::move(s->ids));
    return;
  }
  s->batch = std::move(batch);
  s->done = std::move(done);
  s->order = health_->order();
  trySend(s, 0);
}

void FailoverQueue::trySend(const std::shared_ptr<Send>& send, std::size_t attempt) {
  if (attempt == send->order.size()) {
    send->done(tl::unexpected(send->last_error));
    return;
  }
  const std::size_t index = send->order[attempt];
  std::vector<backend::OutgoingMessage> sub;
  sub.reserve(send->fresh.size());
  for (std::size_t i : send->fresh)
    sub.push_back(send->batch[i]);
  members_[index]->send(std::move(sub),
                        [this, send, attempt, index](Result<std::vector<std::string>> ids) {
                          if (!ids) {
                            observe(index, &ids.error());
                            if (!isOutage(ids.error())) {
                              send->done(tl::unexpected(ids.error()));
                              return;
                            }
                            // Not accepted: the next healthy backend gets the batch within this
                            // call.
                            send->last_error = ids.error();
                            trySend(send, attempt + 1);
                            return;
                          }
                          observe(index, nullptr);
                          finishSend(send, index, std::move(*ids));
                        });
}

void FailoverQueue::finishSend(const std::shared_ptr<Send>& send, std::size_t index,
                               std::vector<std::string> ids) {
  drain_[index].accepted.fetch_add(1);
  drain_[index].empty_until_ms.store(0);
  for (std::size_t k = 0; k < send->fresh.size() && k < ids.size(); ++k) {
    const std::size_t i = send->fresh[k];
    send->ids[i] = std::move(ids[k]);
    // The messages are accepted whatever the window says: failing the call now would make
    // the caller send them again.
    if (dedup_ && send->batch[i].dedup_id) {
      (void)dedup_->remember(name_, *send->batch[i].dedup_id, send->ids[i]);
    }
  }
  if (send->served) send->served(members_[index]->describe());
  send->done(std::move(send->ids));
}

std::vector<std::size_t> FailoverQueue::pollOrder() const {
  const std::vector<std::size_t> order = health_->order();
  const std::int64_t now = steadyMillis();
  std::vector<std::size_t> out;
  for (std::size_t k = 0; k < order.size(); ++k) {
    if (k == 0 || drain_[order[k]].empty_until_ms.load() <= now) out.push_back(order[k]);
  }
  return out;
}

void FailoverQueue::receive(backend::ReceiveRequest request,
                            backend::Done<std::vector<backend::ReceivedMessage>> done) {
  auto poll = std::make_shared<Poll>();
  poll->request = request;
  poll->order = pollOrder();
  poll->done = std::move(done);
  pollNext(poll);
}

void FailoverQueue::pollNext(const std::shared_ptr<Poll>& poll) {
  const bool full = static_cast<int>(poll->got.size()) >= poll->request.max;
  std::size_t index = 0;
  backend::ReceiveRequest request = poll->request;
  request.max -= static_cast<int>(poll->got.size());
  const bool single = poll->order.size() == 1;
  if (!full && poll->next < poll->order.size()) {
    // Each member is asked without waiting, so that waits never add up; a lone member gets
    // the whole wait at once.
    index = poll->order[poll->next++];
    if (!single) request.wait = std::chrono::seconds(0);
    poll->waited = poll->waited || single;
  } else if (!full && poll->got.empty() && poll->answered && !poll->waited &&
             poll->request.wait.count() > 0) {
    // Nothing anywhere: the one long poll waits on the first member that answered, the
    // serving one unless it just failed.
    index = *poll->answered;
    poll->waited = true;
  } else if (poll->got.empty() && !poll->answered && poll->error) {
    poll->done(tl::unexpected(*poll->error));
    return;
  } else {
    poll->done(std::move(poll->got));
    return;
  }
  const std::uint64_t accepted = drain_[index].accepted.load();
  members_[index]->receive(request, [this, poll, index,
                                     accepted](Result<std::vector<backend::ReceivedMessage>> got) {
    if (!got) {
      observe(index, &got.error());
      if (!poll->error) poll->error = got.error();
      pollNext(poll);
      return;
    }
    observe(index, nullptr);
    if (!poll->answered) poll->answered = index;
    if (got->empty() && index != poll->order.front() && drain_[index].accepted.load() == accepted) {
      drain_[index].empty_until_ms.store(
          steadyMillis() +
          std::chrono::duration_cast<std::chrono::milliseconds>(kDrainedRecheck).count());
    }
    for (backend::ReceivedMessage& m : *got) {
      m.receipt.insert(m.receipt.begin(), kIndexChars[index]);
      poll->got.push_back(std::move(m));
    }
    pollNext(poll);
  });
}

Result<std::pair<std::size_t, std::string>>
FailoverQueue::unwrap(const std::string& receipt) const {
  const std::size_t index =
      receipt.size() < 2 ? std::string_view::npos : kIndexChars.find(receipt.front());
  if (index == std::string_view::npos || index >= members_.size()) {
    return fail(ErrorCode::kNotFound, "the receipt was not issued by this queue");
  }
  return std::make_pair(index, receipt.substr(1));
}

void FailoverQueue::remove(std::string receipt, backend::Done<void> done) {
  auto target = unwrap(receipt);
  if (!target) {
    done(tl::unexpected(target.error()));
    return;
  }
  const std::size_t index = target->first;
  members_[index]->remove(std::move(target->second),
                          [this, index, done = std::move(done)](Result<void> r) {
                            observe(index, r ? nullptr : &r.error());
                            done(std::move(r));
                          });
}

void FailoverQueue::changeVisibility(std::string receipt, std::chrono::seconds visibility,
                                     backend::Done<void> done) {
  auto target = unwrap(receipt);
  if (!target) {
    done(tl::unexpected(target.error()));
    return;
  }
  const std::size_t index = target->first;
  members_[index]->changeVisibility(std::move(target->second), visibility,
                                    [this, index, done = std::move(done)](Result<void> r) {
                                      observe(index, r ? nullptr : &r.error());
                                      done(std::move(r));
                                    });
}

void FailoverQueue::removeBatch(std::vector<std::string> receipts,
                                backend::Done<std::vector<Result<void>>> done) {
  struct Batch {
    std::mutex mutex;
    std::vector<Result<void>> results;
    std::size_t pending = 0;
    std::size_t groups_failed = 0;
    std::size_t groups = 0;
    std::optional<Error> error;
    backend::Done<std::vector<Result<void>>> done;
  };
  auto batch = std::make_shared<Batch>();
  batch->results.resize(receipts.size());
  std::map<std::size_t, std::pair<std::vector<std::size_t>, std::vector<std::string>>> groups;
  for (std::size_t i = 0; i < receipts.size(); ++i) {
    auto target = unwrap(receipts[i]);
    if (!target) {
      batch->results[i] = tl::unexpected(target.error());
      continue;
    }
    groups[target->first].first.push_back(i);
    groups[target->first].second.push_back(std::move(target->second));
  }
  if (groups.empty()) {
    done(std::move(batch->results));
    return;
  }
  batch->pending = batch->groups = groups.size();
  batch->done = std::move(done);
  for (auto& [index, group] : groups) {
    members_[index]->removeBatch(
        std::move(group.second), [this, batch, index = index, positions = group.first](
                                     Result<std::vector<Result<void>>> removed) {
          observe(index, removed ? nullptr : &removed.error());
          bool last = false;
          {
            std::lock_guard lock(batch->mutex);
            for (std::size_t k = 0; k < positions.size(); ++k) {
              if (!removed) {
                batch->results[positions[k]] = tl::unexpected(removed.error());
              } else if (k < removed->size()) {
                batch->results[positions[k]] = std::move((*removed)[k]);
              }
            }
            if (!removed) {
              ++batch->groups_failed;
              if (!batch->error) batch->error = removed.error();
            }
            last = --batch->pending == 0;
          }
          if (!last) return;
          // The call fails as a whole only when no member holding these receipts answered.
          if (batch->groups_failed == batch->groups) {
            batch->done(tl::unexpected(*batch->error));
          } else {
            batch->done(std::move(batch->results));
          }
        });
  }
}

void FailoverQueue::stats(backend::Done<backend::QueueStats> done) {
  struct Sum {
    std::mutex mutex;
    backend::QueueStats total;
    std::size_t pending = 0;
    bool answered = false;
    std::optional<Error> error;
    backend::Done<backend::QueueStats> done;
  };
  auto sum = std::make_shared<Sum>();
  const std::vector<std::size_t> order = health_->order();
  sum->pending = order.size();
  sum->done = std::move(done);
  for (std::size_t index : order) {
    members_[index]->stats([this, sum, index](Result<backend::QueueStats> r) {
      observe(index, r ? nullptr : &r.error());
      bool last = false;
      {
        std::lock_guard lock(sum->mutex);
        if (r) {
          sum->answered = true;
          sum->total.approximate_messages += r->approximate_messages;
          sum->total.approximate_in_flight += r->approximate_in_flight;
        } else if (!sum->error) {
          sum->error = r.error();
        }
        last = --sum->pending == 0;
      }
      if (!last) return;
      if (sum->answered) {
        sum->done(sum->total);
      } else {
        sum->done(tl::unexpected(*sum->error));
      }
    });
  }
}

} // namespace exoflow::proxy::failover
