#pragma once
// aws.sqs: a Queue on Amazon SQS through its JSON protocol (API.md, "Backend types").
//
// Spec keys: `region` (required), `queue` (a name) or `queue_url`, `endpoint` (default
// https://sqs.<region>.amazonaws.com), and `create: true` (an extension for development and
// tests: create the queue, and its dead-letter queue with the redrive policy, when missing).
// The binding's dead-letter queue (`<binding>-dlq`) is the SQS queue named `<queue>-dlq`.
// A `fifo: true` binding is an SQS FIFO queue: ".fifo" is added to its name when missing (the
// dead-letter queue is `<queue>-dlq.fifo`), every message goes in one message group so the
// whole queue keeps send order, and a dedup_id becomes the MessageDeduplicationId (its
// SHA-256), so SQS deduplicates too, also across proxies.
//
// Semantics: VisibilityTimeout sent with every receive (the binding's default or the call's),
// ApproximateReceiveCount as the receive count, dead-lettering by the queue's redrive policy,
// attributes as String message attributes, batches by SendMessageBatch and DeleteMessageBatch,
// long polling by WaitTimeSeconds. A `dedup_id` is kept by the proxy itself for 5 minutes (SQS
// deduplicates only FIFO queues), so a repeat gets the first message's id back. Receipts are
// base64url of a version byte, 8 bytes naming the queue, and SQS's receipt handle, so a receipt of
// another queue is refused without a call.

#include <memory>

#include "backend/queue.h"

namespace exoflow::backend::aws_sqs {

inline constexpr std::string_view kType = "aws.sqs";

Result<std::unique_ptr<Queue>> openQueue(const BackendSpec& spec, const QueueConfig& config,
                                         const BackendContext& context);

} // namespace exoflow::backend::aws_sqs
