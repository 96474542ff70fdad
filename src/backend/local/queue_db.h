#pragma once
// The SQL side of the local queues: every queue of one binding in one SQLite file. Callers
// serialize access (QueueDb is not thread-safe); times are milliseconds since the epoch.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "backend/local/sqlite.h"
#include "backend/queue.h"

namespace exoflow::backend::local {

/// What a receipt names: one delivery of one message.
struct Delivery {
  std::int64_t seq = 0;   ///< the message's row (its place in send order)
  std::int64_t token = 0; ///< random per delivery; never 0
};

/// base64url of a version byte, the row's 8 bytes and the token's 8 (23 characters). The row
/// finds the message through the table's own key, so no index on message ids is kept up.
std::string encodeReceipt(const Delivery& delivery);
/// nullopt for anything encodeReceipt() did not produce.
std::optional<Delivery> decodeReceipt(std::string_view receipt);

struct ReceiveOutcome {
  std::vector<ReceivedMessage> messages;
  bool dead_lettered = false; ///< some messages moved to the dead-letter queue
};

class QueueDb {
public:
  /// Opens or creates the file and its schema.
  static Result<QueueDb> open(const std::filesystem::path& file);

  /// Enqueues the batch (deduplicating by dedup_id within the 5-minute window, also inside
  /// the batch) and returns the message ids in batch order.
  Result<std::vector<std::string>>
  send(std::string_view queue, const std::vector<OutgoingMessage>& batch, std::int64_t now);
  /// Delivers up to `max` visible messages (in send order, and for FIFO queues none past an
  /// invisible one), moving those already received dead_letter_after times to the DLQ.
  Result<ReceiveOutcome> receive(const QueueConfig& config, int max, std::int64_t visibility_ms,
                                 std::int64_t now);
  /// Deletes the delivery; false when the receipt is stale or unknown.
  Result<bool> remove(std::string_view queue, const Delivery& delivery);
  /// Deletes several deliveries in one transaction; for each, whether it was deleted.
  Result<std::vector<bool>> removeAll(std::string_view queue,
                                      const std::vector<Delivery>& deliveries);
  /// Sets when the delivery becomes visible; false when the receipt is stale or unknown.
  Result<bool> setVisibleAt(std::string_view queue, const Delivery& delivery,
                            std::int64_t visible_at);
  /// Visible and in-flight counts after dropping expired messages.
  Result<QueueStats> stats(const QueueConfig& config, std::int64_t now);
  /// The earliest time an invisible message of `queue` becomes visible again, if any.
  Result<std::optional<std::int64_t>> nextVisibleAt(std::string_view queue, std::int64_t now);

private:
  explicit QueueDb(Database db) : db_(std::move(db)) {}
  Result<void> dropExpired(const QueueConfig& config, std::int64_t now);

  Database db_;
};

} // namespace exoflow::backend::local
