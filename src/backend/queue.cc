// The default Queue::removeBatch(): remove() for each receipt, one after another.
#include "backend/queue.h"

#include <utility>

namespace exoflow::backend {
namespace {

/// The state of one batch: the receipts, the results so far, and where to report.
struct BatchRemoval {
  Queue* queue = nullptr;
  std::vector<std::string> receipts;
  std::vector<Result<void>> results;
  Done<std::vector<Result<void>>> done;
};

/// Removes the next receipt, and on its completion the one after it. A failure other than
/// kNotFound means the backend cannot be reached: the batch stops there and reports it.
void removeNext(std::shared_ptr<BatchRemoval> batch) {
  const std::size_t next = batch->results.size();
  if (next == batch->receipts.size()) {
    batch->done(std::move(batch->results));
    return;
  }
  Queue* queue = batch->queue;
  std::string receipt = std::move(batch->receipts[next]);
  queue->remove(std::move(receipt), [batch = std::move(batch)](Result<void> removed) mutable {
    if (!removed && removed.error().code != ErrorCode::kNotFound &&
        removed.error().code != ErrorCode::kInvalidArgument) {
      batch->done(tl::unexpected(removed.error()));
      return;
    }
    batch->results.push_back(std::move(removed));
    removeNext(std::move(batch));
  });
}

} // namespace

void Queue::removeBatch(std::vector<std::string> receipts, Done<std::vector<Result<void>>> done) {
  auto batch = std::make_shared<BatchRemoval>();
  batch->queue = this;
  batch->results.reserve(receipts.size());
  batch->receipts = std::move(receipts);
  batch->done = std::move(done);
  removeNext(std::move(batch));
}

} // namespace exoflow::backend
