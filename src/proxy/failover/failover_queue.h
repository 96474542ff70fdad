#pragma once
// A binding's queue over its whole chain (DESIGN.md, "Failover semantics"): sends go to the
// first healthy backend and fall through to the next one on an outage within the same call;
// receives drain every backend that may hold messages, the serving one first; each receipt
// names the backend that issued it, so deletes and visibility changes reach it after a
// failover; a dedup_id holds across backends through a window of the proxy's own.

#include <atomic>
#include <functional>
#include <memory>
#include <vector>

#include "backend/dedup_window.h"
#include "backend/queue.h"
#include "proxy/failover/health.h"

namespace exoflow::proxy::failover {

class FailoverQueue final : public backend::Queue {
public:
  /// `members` in priority order (not owned; they outlive this). `dedup` may be null for a
  /// chain of one backend, which needs no window beyond the backend's own.
  FailoverQueue(std::string name, std::vector<backend::Queue*> members,
                std::shared_ptr<ChainHealth> health, std::shared_ptr<backend::DedupWindow> dedup);

  /// The serving backend's description.
  std::string describe() const override;
  /// What every member offers.
  backend::QueueFeatures features() const override;

  void send(std::vector<backend::OutgoingMessage> batch,
            backend::Done<std::vector<std::string>> done) override;
  /// send(), telling `served` (before `done`) the description of the backend that accepted
  /// the batch, which may be another than describe() named when the call began.
  void sendVia(std::vector<backend::OutgoingMessage> batch,
               backend::Done<std::vector<std::string>> done,
               std::function<void(std::string)> served);
  void receive(backend::ReceiveRequest request,
               backend::Done<std::vector<backend::ReceivedMessage>> done) override;
  void remove(std::string receipt, backend::Done<void> done) override;
  void removeBatch(std::vector<std::string> receipts,
                   backend::Done<std::vector<Result<void>>> done) override;
  void changeVisibility(std::string receipt, std::chrono::seconds visibility,
                        backend::Done<void> done) override;
  /// The sum over the healthy members.
  void stats(backend::Done<backend::QueueStats> done) override;

  const std::shared_ptr<ChainHealth>& health() const { return health_; }
  std::size_t size() const { return members_.size(); }

  /// How long a backend that a poll found empty is left out of receives other than the
  /// serving one's (unless it accepts a send meanwhile): messages a consumer failed to delete
  /// become visible there again later.
  static constexpr std::chrono::seconds kDrainedRecheck{5};

private:
  struct Send;
  struct Poll;
  struct Drain {
    std::atomic<std::uint64_t> accepted{
        0}; ///< sends accepted; a poll that raced one proves nothing
    std::atomic<std::int64_t> empty_until_ms{0}; ///< steady-clock ms until which it is skipped
  };

  void trySend(const std::shared_ptr<Send>& send, std::size_t attempt);
  void finishSend(const std::shared_ptr<Send>& send, std::size_t index,
                  std::vector<std::string> ids);
  /// The backends a receive polls: the serving one and every healthy one that may hold
  /// messages, in chain order.
  std::vector<std::size_t> pollOrder() const;
  void pollNext(const std::shared_ptr<Poll>& poll);
  /// The member and its own receipt, or kNotFound for a receipt this queue never issued.
  Result<std::pair<std::size_t, std::string>> unwrap(const std::string& receipt) const;
  /// Reports an answer of member `index` to the health state.
  void observe(std::size_t index, const Error* error);

  const std::string name_;
  const std::vector<backend::Queue*> members_;
  const std::shared_ptr<ChainHealth> health_;
  const std::shared_ptr<backend::DedupWindow> dedup_;
  std::vector<Drain> drain_;
};

} // namespace exoflow::proxy::failover
