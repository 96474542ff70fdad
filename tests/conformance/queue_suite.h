#pragma once
// The fixture of the queue conformance suite: opening queues and awaiting their calls.

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "conformance/conformance.h"

namespace exoflow::backend::conformance {

using Messages = std::vector<ReceivedMessage>;

inline OutgoingMessage message(std::string body, Attributes attributes = {},
                               std::optional<std::string> dedup_id = std::nullopt) {
  return OutgoingMessage{std::move(body), std::move(attributes), std::move(dedup_id)};
}

inline ReceiveRequest request(int max, std::chrono::seconds wait = std::chrono::seconds(0),
                              std::optional<std::chrono::seconds> visibility = std::nullopt) {
  return ReceiveRequest{max, wait, visibility};
}

inline bool isBase64Url(const std::string& text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
  });
}

class QueueConformanceTest : public BackendTest {
protected:
  /// The skip reason when the backend does not claim `feature`, else empty.
  std::string unclaimed(QueueFeature feature, const char* name) const {
    if (row().queue_features.has(feature)) return {};
    return row().name + " does not claim QueueFeature::" + name + "; skipped by design";
  }

  std::unique_ptr<Queue> open(const std::string& name = "orders", QueueOptions options = {}) {
    Result<std::unique_ptr<Queue>> queue =
        registry_.createQueue(spec(name), QueueConfig{name, std::move(options)}, context());
    EXPECT_TRUE(queue.has_value()) << describeError(queue.error());
    return queue ? std::move(*queue) : nullptr;
  }

  static Result<std::vector<std::string>> trySend(Queue& queue,
                                                  std::vector<OutgoingMessage> batch) {
    return await<std::vector<std::string>>(
        [&](auto done) { queue.send(std::move(batch), std::move(done)); });
  }

  static std::vector<std::string> send(Queue& queue, std::vector<OutgoingMessage> batch) {
    Result<std::vector<std::string>> ids = trySend(queue, std::move(batch));
    EXPECT_TRUE(ids.has_value()) << describeError(ids.error());
    return ids.value_or(std::vector<std::string>{});
  }

  static Messages receive(Queue& queue, ReceiveRequest req) {
    Result<Messages> got = await<Messages>([&](auto done) { queue.receive(req, std::move(done)); });
    EXPECT_TRUE(got.has_value()) << describeError(got.error());
    return got.value_or(Messages{});
  }

  static Result<void> remove(Queue& queue, const std::string& receipt) {
    return await<void>([&](auto done) { queue.remove(receipt, std::move(done)); });
  }
  static Result<std::vector<Result<void>>> removeBatch(Queue& queue,
                                                       std::vector<std::string> receipts) {
    return await<std::vector<Result<void>>>(
        [&](auto done) { queue.removeBatch(std::move(receipts), std::move(done)); });
  }

  static Result<void> changeVisibility(Queue& queue, const std::string& receipt,
                                       std::chrono::seconds visibility) {
    return await<void>(
        [&](auto done) { queue.changeVisibility(receipt, visibility, std::move(done)); });
  }

  static QueueStats stats(Queue& queue) {
    Result<QueueStats> got = await<QueueStats>([&](auto done) { queue.stats(std::move(done)); });
    EXPECT_TRUE(got.has_value()) << describeError(got.error());
    return got.value_or(QueueStats{});
  }

  /// Deletion with a stale or unknown receipt: success or kNotFound, nothing else.
  static void expectOkOrNotFound(const Result<void>& result) {
    if (!result) {
      EXPECT_EQ(result.error().code, ErrorCode::kNotFound) << describeError(result.error());
    }
  }
};

} // namespace exoflow::backend::conformance
