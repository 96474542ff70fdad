#pragma once
// azure.queue: a Queue on Azure Queue Storage through its REST API (API.md, "Backend types").
//
// Spec keys: `account`, `queue` (required), `endpoint` (default
// https://<account>.queue.core.windows.net), `spill_container` (the blob container of claim
// checks; default `<queue>-spill`), and two extensions: `blob_endpoint` (where that container
// is; default the queue endpoint with "queue" turned into "blob", or Azurite's blob port 10000
// for its queue port 10001) and `create: true` (for development and tests: create the queue,
// its dead-letter queue and the spill container when missing). The binding's dead-letter queue
// (`<binding>-dlq`) is the Azure queue named `<queue>-dlq`.
//
// Semantics: the receive count is Azure's dequeueCount; a message received more than
// dead_letter_after times is moved to the dead-letter queue by the receive that sees it (put
// there, then deleted here) and not delivered. Attributes, and the id of a moved message, go
// in a small envelope ("exo1:" and JSON) that also carries bodies XML cannot hold (control
// characters); other bodies go as plain text, and messages from other producers are received
// with their text as the body. A message whose text would pass Azure's 64 KiB limit is stored
// as a block blob in the spill container (a claim check) and removed with the message. Azure
// has no long poll: a receive with a wait polls with back-off on the host's scheduler until a
// message comes or the wait ends. A visibility of 0 on a receive (Azure's minimum there is 1 s)
// is applied with an update right after. Receipts are base64url of a version byte, 8 bytes
// naming the queue, the message id and popReceipt (and the claim-check blob); a visibility
// change issues a new popReceipt, which this process maps the receipt to. A `dedup_id` is kept
// by the proxy itself for 5 minutes, as aws.sqs does.

#include <memory>

#include "backend/queue.h"

namespace exoflow::backend::azure_queue {

inline constexpr std::string_view kType = "azure.queue";

Result<std::unique_ptr<Queue>> openQueue(const BackendSpec& spec, const QueueConfig& config,
                                         const BackendContext& context);

} // namespace exoflow::backend::azure_queue
