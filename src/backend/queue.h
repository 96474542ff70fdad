#pragma once
// The queue building block (API.md, "Queues"): at-least-once delivery with visibility
// timeouts, opaque receipts, receive counts, dead-lettering and a dedup window.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "backend/backend.h"

namespace exoflow::backend {

using Attributes = std::map<std::string, std::string>;

enum class QueueFeature {
  kLongPolling,      ///< receive() with wait > 0 completes as soon as a message arrives
  kDeadLetter,       ///< a message received more than dead_letter_after times moves to the DLQ
  kDedup,            ///< a dedup_id accepted in the last 5 minutes is not enqueued again
  kAttributes,       ///< message attributes round-trip
  kVisibilityChange, ///< changeVisibility() is supported
  kFifo,             ///< messages are received in send order
};
using QueueFeatures = FeatureSet<QueueFeature>;

/// The queue's settings, from the binding's options (API.md, "Proxy configuration").
struct QueueOptions {
  std::chrono::seconds visibility_timeout{30};
  std::chrono::seconds retention{4 * 24 * 3600};
  std::uint64_t max_message_size = 256ULL * 1024;
  std::optional<int> dead_letter_after; ///< with it, dead letters go to `dead_letter_queue`
  std::string dead_letter_queue;        ///< "<name>-dlq" when dead_letter_after is set
  bool fifo = false;
};

/// Which queue to open: its name and settings. A dead-letter queue is a queue of its own,
/// opened with its source queue's spec and context and named options.dead_letter_queue.
struct QueueConfig {
  std::string name; ///< the queue's API name ("orders" or "orders-dlq")
  QueueOptions options;
};

struct OutgoingMessage {
  std::string body; ///< already checked by the proxy: size and characters
  Attributes attributes;
  std::optional<std::string> dedup_id;
};

struct ReceiveRequest {
  int max = 1;                                    ///< 1..10
  std::chrono::seconds wait{0};                   ///< 0..20
  std::optional<std::chrono::seconds> visibility; ///< default: the queue's visibility_timeout
};

struct ReceivedMessage {
  std::string message_id;
  std::string receipt; ///< opaque base64url, no padding; names this delivery
  std::string body;
  Attributes attributes;
  int receive_count = 0;
};

struct QueueStats {
  std::int64_t approximate_messages = 0;  ///< visible now
  std::int64_t approximate_in_flight = 0; ///< received and not yet visible again
};

/// One named queue.
class Queue {
public:
  virtual ~Queue() = default;

  /// The x-exo-backend value: "<type>[:<location>]", e.g. "local.sqlite", "aws.sqs:us-east-1".
  virtual std::string describe() const = 0;
  virtual QueueFeatures features() const = 0;

  /// Enqueues 1..10 messages; ids come back in request order. A message whose dedup_id was
  /// accepted in the last 5 minutes (also earlier in the same batch) is not enqueued again and
  /// gets the first message_id. Completes only once every message is durable.
  virtual void send(std::vector<OutgoingMessage> batch, Done<std::vector<std::string>> done) = 0;

  /// Receives up to `max` visible messages, making each invisible for the visibility period
  /// and counting the receive. With wait > 0 and nothing visible, completes when a message
  /// arrives or the wait ends (an empty list), never by polling in a loop.
  virtual void receive(ReceiveRequest request, Done<std::vector<ReceivedMessage>> done) = 0;

  /// Deletes the delivery a receipt names. A malformed receipt, or one never issued by this
  /// queue: kNotFound. A stale receipt (the message was received again or is gone) never
  /// deletes the newer delivery; it completes with success or kNotFound.
  virtual void remove(std::string receipt, Done<void> done) = 0;

  /// Deletes 1..10 deliveries at once: one result per receipt, in order, each as remove()
  /// would give it. The call as a whole fails only when the backend cannot be reached (then
  /// none, some or all may be deleted; deleting again is harmless). The default calls remove()
  /// for each receipt in turn; a backend with a batch call of its own overrides it.
  virtual void removeBatch(std::vector<std::string> receipts, Done<std::vector<Result<void>>> done);

  /// Makes the delivery invisible for `visibility` from now (0: visible at once). Receipt
  /// errors as for remove().
  virtual void changeVisibility(std::string receipt, std::chrono::seconds visibility,
                                Done<void> done) = 0;

  virtual void stats(Done<QueueStats> done) = 0;
};

} // namespace exoflow::backend
