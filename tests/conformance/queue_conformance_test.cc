// The queue conformance suite (API.md, "Queues"): every Queue backend passes it, for every
// feature it claims. Tests of an unclaimed feature skip, saying so.

#include <algorithm>
#include <atomic>
#include <map>
#include <set>
#include <thread>

#include "conformance/queue_suite.h"

namespace exoflow::backend::conformance {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

/// The tests that exercise each feature; a claimed feature without one fails the suite.
const std::map<QueueFeature, std::vector<std::string>>& featureTests() {
  static const std::map<QueueFeature, std::vector<std::string>> tests = {
      {QueueFeature::kLongPolling,
       {"LongPollWakesWhenAMessageArrives", "LongPollWakesWhenAnInFlightMessageReturns",
        "LongPollEndsEmptyWhenNothingArrives"}},
      {QueueFeature::kDeadLetter, {"MessagesReceivedTooOftenMoveToTheDeadLetterQueue"}},
      {QueueFeature::kDedup, {"DedupIdSuppressesARepeatSend", "DedupIdAppliesWithinOneBatch"}},
      {QueueFeature::kAttributes, {"AttributesRoundTrip"}},
      {QueueFeature::kVisibilityChange,
       {"ChangeVisibilityZeroMakesAMessageVisibleAtOnce", "ChangeVisibilityExtendsInvisibility"}},
      {QueueFeature::kFifo, {"FifoQueueDeliversInSendOrder"}},
  };
  return tests;
}

TEST_P(QueueConformanceTest, DescribesItsBackendAndClaimsExactlyItsTableRow) {
  auto queue = open();
  ASSERT_TRUE(queue);
  EXPECT_EQ(queue->describe().rfind(row().describe, 0), 0U) << queue->describe();
  EXPECT_TRUE(queue->features() == row().queue_features)
      << "features() differs from the row in backends.cc";
}

TEST_P(QueueConformanceTest, EveryClaimedFeatureHasATestInThisSuite) {
  auto queue = open();
  ASSERT_TRUE(queue);
  expectEveryClaimedFeatureIsTested(queue->features(), featureTests(), row().name, "QueueFeature");
}

TEST_P(QueueConformanceTest, SendReturnsIdsInRequestOrderAndReceiveDeliversTheBodies) {
  auto queue = open();
  ASSERT_TRUE(queue);
  const std::vector<std::string> ids =
      send(*queue, {message("one"), message("two \xF0\x9F\x93\xA6"), message("three\t\r\n")});
  ASSERT_EQ(ids.size(), 3U);
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 3U) << "ids must be unique";

  Messages got = receive(*queue, request(10));
  while (got.size() < 3) { // a backend may spread a batch over receives
    Messages more = receive(*queue, request(10, 1s));
    if (more.empty()) break;
    got.insert(got.end(), more.begin(), more.end());
  }
  ASSERT_EQ(got.size(), 3U);
  std::map<std::string, std::string> body_by_id;
  for (const ReceivedMessage& m : got) {
    body_by_id[m.message_id] = m.body;
    EXPECT_EQ(m.receive_count, 1);
    EXPECT_TRUE(isBase64Url(m.receipt)) << m.receipt;
  }
  EXPECT_EQ(body_by_id[ids[0]], "one");
  EXPECT_EQ(body_by_id[ids[1]], "two \xF0\x9F\x93\xA6");
  EXPECT_EQ(body_by_id[ids[2]], "three\t\r\n");
}

TEST_P(QueueConformanceTest, BodiesOfOneByteAndOfTheMaximumSizeRoundTrip) {
  auto queue = open();
  ASSERT_TRUE(queue);
  const std::string largest(QueueOptions{}.max_message_size, 'x');
  send(*queue, {message("a")});
  send(*queue, {message(largest)});
  std::multiset<std::size_t> sizes;
  for (int i = 0; i < 2; ++i) {
    for (const ReceivedMessage& m : receive(*queue, request(1, 5s)))
      sizes.insert(m.body.size());
  }
  EXPECT_EQ(sizes, (std::multiset<std::size_t>{1, largest.size()}));
}

TEST_P(QueueConformanceTest, AttributesRoundTrip) {
  if (auto why = unclaimed(QueueFeature::kAttributes, "kAttributes"); !why.empty()) {
    GTEST_SKIP() << why;
  }
  auto queue = open();
  ASSERT_TRUE(queue);
  const Attributes attributes = {{"trace_id", "abc-123"}, {"Kind.v2", "order created"}};
  send(*queue, {message("with", attributes), message("without")});
  std::map<std::string, Attributes> by_body;
  for (int i = 0; i < 2 && by_body.size() < 2; ++i) {
    for (const ReceivedMessage& m : receive(*queue, request(10, 1s))) {
      by_body[m.body] = m.attributes;
    }
  }
  ASSERT_EQ(by_body.size(), 2U);
  EXPECT_EQ(by_body["with"], attributes);
  EXPECT_TRUE(by_body["without"].empty());
}

TEST_P(QueueConformanceTest, AReceivedMessageStaysInvisibleUntilItsVisibilityEnds) {
  auto queue = open();
  ASSERT_TRUE(queue);
  send(*queue, {message("m")});
  Messages first = receive(*queue, request(1, 0s, 1s));
  ASSERT_EQ(first.size(), 1U);
  EXPECT_TRUE(receive(*queue, request(1)).empty()) << "visible again before its time";
  QueueStats during = stats(*queue);
  EXPECT_EQ(during.approximate_messages, 0);
  EXPECT_EQ(during.approximate_in_flight, 1);

  std::this_thread::sleep_for(1500ms);
  Messages again = receive(*queue, request(1));
  ASSERT_EQ(again.size(), 1U) << "not back after its visibility timeout";
  EXPECT_EQ(again[0].message_id, first[0].message_id);
  EXPECT_EQ(again[0].receive_count, 2);
  EXPECT_NE(again[0].receipt, first[0].receipt) << "each delivery has its own receipt";
}

TEST_P(QueueConformanceTest, TheQueueVisibilityTimeoutIsTheDefault) {
  QueueOptions options;
  options.visibility_timeout = 1s;
  auto queue = open("orders", options);
  ASSERT_TRUE(queue);
  send(*queue, {message("m")});
  ASSERT_EQ(receive(*queue, request(1)).size(), 1U);
  EXPECT_TRUE(receive(*queue, request(1)).empty());
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(receive(*queue, request(1)).size(), 1U);
}

TEST_P(QueueConformanceTest, ReceiveCountsEveryDelivery) {
  auto queue = open();
  ASSERT_TRUE(queue);
  send(*queue, {message("m")});
  for (int expected = 1; expected <= 3; ++expected) {
    // Visibility 0: the message is visible again at once.
    Messages got = receive(*queue, request(1, 0s, 0s));
    ASSERT_EQ(got.size(), 1U);
    EXPECT_EQ(got[0].receive_count, expected);
  }
}

TEST_P(QueueConformanceTest, RemoveDeletesTheMessage) {
  auto queue = open();
  ASSERT_TRUE(queue);
  send(*queue, {message("m")});
  Messages got = receive(*queue, request(1, 0s, 1s));
  ASSERT_EQ(got.size(), 1U);
  Result<void> removed = remove(*queue, got[0].receipt);
  ASSERT_TRUE(removed) << describeError(removed.error());
  std::this_thread::sleep_for(1500ms);
  EXPECT_TRUE(receive(*queue, request(1)).empty());
  QueueStats after = stats(*queue);
  EXPECT_EQ(after.approximate_messages, 0);
  EXPECT_EQ(after.approximate_in_flight, 0);
  expectOkOrNotFound(remove(*queue, got[0].receipt)); // deleting twice
}

TEST_P(QueueConformanceTest, RemoveBatchAnswersEachReceiptInOrder) {
  auto queue = open();
  ASSERT_TRUE(queue);
  // A delivery whose receipt then goes stale: received with visibility 0, then again.
  send(*queue, {message("stale")});
  Messages first = receive(*queue, request(1, 0s, 0s));
  ASSERT_EQ(first.size(), 1U);
  Messages newer = receive(*queue, request(1, 0s, 30s));
  ASSERT_EQ(newer.size(), 1U);
  send(*queue, {message("a"), message("b"), message("c")});
  Messages got;
  while (got.size() < 3) { // a backend may spread a batch over receives
    Messages more = receive(*queue, request(3, 5s, 30s));
    ASSERT_FALSE(more.empty()) << "sent messages did not arrive";
    got.insert(got.end(), more.begin(), more.end());
  }

  Result<std::vector<Result<void>>> results = removeBatch(
      *queue, {got[0].receipt, "not a receipt!", got[1].receipt, first[0].receipt, got[2].receipt});
  ASSERT_TRUE(results) << describeError(results.error());
  ASSERT_EQ(results->size(), 5U);
  for (std::size_t i : {0U, 2U, 4U}) {
    EXPECT_TRUE((*results)[i]) << "receipt " << i << ": " << describeError((*results)[i].error());
  }
  ASSERT_FALSE((*results)[1]);
  EXPECT_EQ((*results)[1].error().code, ErrorCode::kNotFound);
  expectOkOrNotFound((*results)[3]);

  // The stale receipt left the newer delivery alone; the three are gone.
  Result<void> removed = remove(*queue, newer[0].receipt);
  EXPECT_TRUE(removed) << "a stale receipt in a batch deleted the newer delivery: "
                       << describeError(removed.error());
  QueueStats after = stats(*queue);
  EXPECT_EQ(after.approximate_messages, 0);
  EXPECT_EQ(after.approximate_in_flight, 0);
}

TEST_P(QueueConformanceTest, AStaleReceiptNeverDeletesTheNewerDelivery) {
  auto queue = open();
  ASSERT_TRUE(queue);
  send(*queue, {message("m")});
  Messages first = receive(*queue, request(1, 0s, 0s));
  ASSERT_EQ(first.size(), 1U);
  Messages second = receive(*queue, request(1, 0s, 30s));
  ASSERT_EQ(second.size(), 1U);
  ASSERT_EQ(second[0].message_id, first[0].message_id);

  expectOkOrNotFound(remove(*queue, first[0].receipt));
  // The newer delivery is intact: its receipt still works.
  Result<void> removed = remove(*queue, second[0].receipt);
  EXPECT_TRUE(removed) << "the stale receipt deleted the newer delivery: "
                       << describeError(removed.error());
}

TEST_P(QueueConformanceTest, MalformedAndForeignReceiptsAreNotFound) {
  auto queue = open("orders");
  auto other = open("invoices");
  ASSERT_TRUE(queue && other);
  send(*other, {message("elsewhere")});
  Messages foreign = receive(*other, request(1, 0s, 30s));
  ASSERT_EQ(foreign.size(), 1U);
  send(*queue, {message("here")});
  Messages mine = receive(*queue, request(1, 0s, 30s));
  ASSERT_EQ(mine.size(), 1U);

  std::string tampered = mine[0].receipt;
  tampered[tampered.size() / 2] = tampered[tampered.size() / 2] == 'A' ? 'B' : 'A';
  for (const std::string& receipt :
       {std::string(""), std::string("not a receipt!"), std::string("AAAA"),
        std::string("padded=="), tampered, foreign[0].receipt}) {
    Result<void> removed = remove(*queue, receipt);
    ASSERT_FALSE(removed) << "accepted receipt \"" << receipt << "\"";
    EXPECT_EQ(removed.error().code, ErrorCode::kNotFound) << receipt;
  }
  Result<void> changed = changeVisibility(*queue, "not a receipt!", 0s);
  ASSERT_FALSE(changed);
  EXPECT_EQ(changed.error().code, ErrorCode::kNotFound);
  // Neither queue lost its message.
  EXPECT_EQ(stats(*queue).approximate_in_flight, 1);
  EXPECT_EQ(stats(*other).approximate_in_flight, 1);
}

TEST_P(QueueConformanceTest, ChangeVisibilityZeroMakesAMessageVisibleAtOnce) {
  if (auto why = unclaimed(QueueFeature::kVisibilityChange, "kVisibilityChange"); !why.empty()) {
    GTEST_SKIP() << why;
  }
  auto queue = open();
  ASSERT_TRUE(queue);
  send(*queue, {message("m")});
  Messages got = receive(*queue, request(1, 0s, 60s));
  ASSERT_EQ(got.size(), 1U);
  Result<void> changed = changeVisibility(*queue, got[0].receipt, 0s);
  ASSERT_TRUE(changed) << describeError(changed.error());
  Messages again = receive(*queue, request(1));
  ASSERT_EQ(again.size(), 1U);
  EXPECT_EQ(again[0].receive_count, 2);
}

TEST_P(QueueConformanceTest, ChangeVisibilityExtendsInvisibility) {
  if (auto why = unclaimed(QueueFeature::kVisibilityChange, "kVisibilityChange"); !why.empty()) {
    GTEST_SKIP() << why;
  }
  auto queue = open();
  ASSERT_TRUE(queue);
  send(*queue, {message("m")});
  Messages got = receive(*queue, request(1, 0s, 1s));
  ASSERT_EQ(got.size(), 1U);
  Result<void> changed = changeVisibility(*queue, got[0].receipt, 60s);
  ASSERT_TRUE(changed) << describeError(changed.error());
  std::this_thread::sleep_for(1500ms);
  EXPECT_TRUE(receive(*queue, request(1)).empty()) << "visible despite the extension";
  EXPECT_TRUE(remove(*queue, got[0].receipt)) << "the receipt outlives a visibility change";
}

TEST_P(QueueConformanceTest, MessagesReceivedTooOftenMoveToTheDeadLetterQueue) {
  if (auto why = unclaimed(QueueFeature::kDeadLetter, "kDeadLetter"); !why.empty()) {
    GTEST_SKIP() << why;
  }
  QueueOptions options;
  options.dead_letter_after = 2;
  options.dead_letter_queue = "orders-dlq";
  auto queue = open("orders", options);
  // The dead-letter queue opened on its own, as the proxy does for GET /v1/queues/orders-dlq.
  auto dlq = open("orders-dlq");
  ASSERT_TRUE(queue && dlq);
  const std::vector<std::string> ids = send(*queue, {message("poison"), message("fine")});
  ASSERT_EQ(ids.size(), 2U);

  int poison_receives = 0;
  for (int round = 0; round < 6; ++round) {
    for (const ReceivedMessage& m : receive(*queue, request(10, 0s, 0s))) {
      if (m.body == "fine") {
        EXPECT_TRUE(remove(*queue, m.receipt));
      } else {
        ++poison_receives;
        EXPECT_LE(m.receive_count, 2) << "received more than dead_letter_after times";
      }
    }
  }
  EXPECT_EQ(poison_receives, 2) << "received `after` times, then moved";
  Messages dead = receive(*dlq, request(10, 5s));
  ASSERT_EQ(dead.size(), 1U);
  EXPECT_EQ(dead[0].body, "poison");
  EXPECT_EQ(dead[0].message_id, ids[0]);
  QueueStats source = stats(*queue);
  EXPECT_EQ(source.approximate_messages + source.approximate_in_flight, 0);
  EXPECT_TRUE(remove(*dlq, dead[0].receipt));
}

TEST_P(QueueConformanceTest, DedupIdSuppressesARepeatSend) {
  if (auto why = unclaimed(QueueFeature::kDedup, "kDedup"); !why.empty()) GTEST_SKIP() << why;
  auto queue = open();
  ASSERT_TRUE(queue);
  const std::vector<std::string> first = send(*queue, {message("m", {}, "order-42")});
  const std::vector<std::string> again = send(*queue, {message("m", {}, "order-42")});
  const std::vector<std::string> other = send(*queue, {message("m", {}, "order-43")});
  ASSERT_EQ(first.size(), 1U);
  ASSERT_EQ(again.size(), 1U);
  ASSERT_EQ(other.size(), 1U);
  EXPECT_EQ(again[0], first[0]) << "a repeat returns the first message_id";
  EXPECT_NE(other[0], first[0]);
  EXPECT_EQ(stats(*queue).approximate_messages, 2);
}

TEST_P(QueueConformanceTest, DedupIdAppliesWithinOneBatch) {
  if (auto why = unclaimed(QueueFeature::kDedup, "kDedup"); !why.empty()) GTEST_SKIP() << why;
  auto queue = open();
  ASSERT_TRUE(queue);
  const std::vector<std::string> ids = send(
      *queue, {message("a", {}, "x"), message("b"), message("a again", {}, "x"), message("c")});
  ASSERT_EQ(ids.size(), 4U);
  EXPECT_EQ(ids[2], ids[0]);
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 3U);
  std::set<std::string> bodies;
  for (int i = 0; i < 3 && bodies.size() < 3; ++i) {
    for (const ReceivedMessage& m : receive(*queue, request(10, 1s)))
      bodies.insert(m.body);
  }
  EXPECT_EQ(bodies, (std::set<std::string>{"a", "b", "c"}));
}

TEST_P(QueueConformanceTest, LongPollWakesWhenAMessageArrives) {
  if (auto why = unclaimed(QueueFeature::kLongPolling, "kLongPolling"); !why.empty()) {
    GTEST_SKIP() << why;
  }
  auto queue = open();
  ASSERT_TRUE(queue);
  std::thread sender([&] {
    std::this_thread::sleep_for(200ms);
    send(*queue, {message("late")});
  });
  const Clock::time_point start = Clock::now();
  Messages got = receive(*queue, request(1, 10s));
  const auto waited = Clock::now() - start;
  sender.join();
  ASSERT_EQ(got.size(), 1U);
  EXPECT_EQ(got[0].body, "late");
  EXPECT_LT(waited, 5s) << "the receive waited out its time instead of waking";
}

TEST_P(QueueConformanceTest, LongPollWakesWhenAnInFlightMessageReturns) {
  if (auto why = unclaimed(QueueFeature::kLongPolling, "kLongPolling"); !why.empty()) {
    GTEST_SKIP() << why;
  }
  auto queue = open();
  ASSERT_TRUE(queue);
  send(*queue, {message("m")});
  ASSERT_EQ(receive(*queue, request(1, 0s, 1s)).size(), 1U);
  const Clock::time_point start = Clock::now();
  Messages got = receive(*queue, request(1, 15s));
  const auto waited = Clock::now() - start;
  ASSERT_EQ(got.size(), 1U);
  EXPECT_EQ(got[0].receive_count, 2);
  EXPECT_LT(waited, 8s) << "the receive did not wake when the visibility timeout ended";
}

TEST_P(QueueConformanceTest, LongPollEndsEmptyWhenNothingArrives) {
  if (auto why = unclaimed(QueueFeature::kLongPolling, "kLongPolling"); !why.empty()) {
    GTEST_SKIP() << why;
  }
  auto queue = open();
  ASSERT_TRUE(queue);
  const Clock::time_point start = Clock::now();
  EXPECT_TRUE(receive(*queue, request(1, 1s)).empty());
  EXPECT_GE(Clock::now() - start, 500ms) << "returned long before the wait ended";
}

TEST_P(QueueConformanceTest, APendingLongPollCompletesWhenTheQueueCloses) {
  auto queue = open();
  ASSERT_TRUE(queue);
  auto state = std::make_shared<std::atomic<int>>(0);
  queue->receive(request(1, 20s), [state](Result<Messages>) { ++*state; });
  queue.reset();
  // Completion may come from another thread shortly after; it must come exactly once.
  for (int i = 0; i < 100 && state->load() == 0; ++i)
    std::this_thread::sleep_for(50ms);
  EXPECT_EQ(state->load(), 1);
}

TEST_P(QueueConformanceTest, FifoQueueDeliversInSendOrder) {
  if (auto why = unclaimed(QueueFeature::kFifo, "kFifo"); !why.empty()) GTEST_SKIP() << why;
  QueueOptions options;
  options.fifo = true;
  auto queue = open("jobs", options);
  ASSERT_TRUE(queue);
  std::vector<std::string> sent;
  for (int i = 0; i < 12; ++i) {
    sent.push_back("job-" + std::to_string(i));
    if (i % 4 == 3) { // some in batches, some alone
      send(*queue, {message(sent[i - 1]), message(sent[i])});
    } else if (i % 4 != 2) {
      send(*queue, {message(sent[i])});
    }
  }
  std::vector<std::string> received;
  Messages head = receive(*queue, request(1, 0s, 1s));
  ASSERT_EQ(head.size(), 1U);
  // While the head is in flight, nothing behind it is delivered out of order.
  for (const ReceivedMessage& m : receive(*queue, request(10))) {
    ADD_FAILURE() << "delivered " << m.body << " while " << head[0].body << " was in flight";
  }
  ASSERT_TRUE(remove(*queue, head[0].receipt));
  received.push_back(head[0].body);
  while (received.size() < sent.size()) {
    Messages got = receive(*queue, request(3, 1s, 30s));
    if (got.empty()) break;
    for (const ReceivedMessage& m : got) {
      received.push_back(m.body);
      EXPECT_TRUE(remove(*queue, m.receipt));
    }
  }
  EXPECT_EQ(received, sent);
}

TEST_P(QueueConformanceTest, RetentionDropsExpiredMessages) {
  if (row().shortest_retention > 5s) {
    GTEST_SKIP() << row().name << "'s shortest retention is too long to wait for in a test";
  }
  QueueOptions options;
  options.retention = row().shortest_retention;
  auto queue = open("orders", options);
  ASSERT_TRUE(queue);
  send(*queue, {message("short-lived")});
  std::this_thread::sleep_for(row().shortest_retention + 1s);
  EXPECT_TRUE(receive(*queue, request(1)).empty());
  EXPECT_EQ(stats(*queue).approximate_messages, 0);
}

TEST_P(QueueConformanceTest, StatsCountVisibleAndInFlightMessages) {
  auto queue = open();
  ASSERT_TRUE(queue);
  send(*queue, {message("a"), message("b"), message("c")});
  QueueStats before = stats(*queue);
  EXPECT_EQ(before.approximate_messages, 3);
  EXPECT_EQ(before.approximate_in_flight, 0);
  ASSERT_EQ(receive(*queue, request(1, 0s, 60s)).size(), 1U);
  QueueStats after = stats(*queue);
  EXPECT_EQ(after.approximate_messages, 2);
  EXPECT_EQ(after.approximate_in_flight, 1);
}

TEST_P(QueueConformanceTest, QueuesOfOneBindingAreSeparate) {
  auto orders = open("orders");
  auto invoices = open("invoices");
  ASSERT_TRUE(orders && invoices);
  send(*orders, {message("order")});
  EXPECT_TRUE(receive(*invoices, request(10)).empty());
  EXPECT_EQ(receive(*orders, request(10)).size(), 1U);
}

TEST_P(QueueConformanceTest, AcknowledgedMessagesSurviveReopening) {
  std::string in_flight_id;
  {
    auto queue = open();
    ASSERT_TRUE(queue);
    send(*queue, {message("a"), message("b"), message("c", {}, "dedup-c")});
    Messages got = receive(*queue, request(1, 0s, 60s));
    ASSERT_EQ(got.size(), 1U);
    in_flight_id = got[0].message_id;
  }
  auto queue = open();
  ASSERT_TRUE(queue);
  QueueStats reopened = stats(*queue);
  EXPECT_EQ(reopened.approximate_messages, 2);
  EXPECT_EQ(reopened.approximate_in_flight, 1);
  if (row().queue_features.has(QueueFeature::kDedup)) {
    send(*queue, {message("c", {}, "dedup-c")}); // the window survives too
    EXPECT_EQ(stats(*queue).approximate_messages, 2);
  }
  std::set<std::string> bodies;
  for (int i = 0; i < 3 && bodies.size() < 2; ++i) {
    for (const ReceivedMessage& m : receive(*queue, request(10, 1s))) {
      EXPECT_NE(m.message_id, in_flight_id) << "in flight before the restart, visible after";
      bodies.insert(m.body);
    }
  }
  EXPECT_EQ(bodies.size(), 2U);
}

TEST_P(QueueConformanceTest, ConcurrentConsumersGetEveryMessageOnce) {
  auto queue = open();
  ASSERT_TRUE(queue);
  constexpr int kMessages = 120;
  for (int i = 0; i < kMessages; i += 10) {
    std::vector<OutgoingMessage> batch;
    for (int j = i; j < i + 10; ++j)
      batch.push_back(message("m" + std::to_string(j)));
    send(*queue, std::move(batch));
  }
  std::mutex mutex;
  std::multiset<std::string> seen;
  constexpr int kConsumers = 4;
  std::vector<std::thread> consumers;
  consumers.reserve(kConsumers);
  for (int c = 0; c < kConsumers; ++c) {
    consumers.emplace_back([&] {
      while (true) {
        Messages got = receive(*queue, request(5, 1s, 60s));
        if (got.empty()) return;
        for (const ReceivedMessage& m : got) {
          EXPECT_TRUE(remove(*queue, m.receipt));
          std::lock_guard lock(mutex);
          seen.insert(m.body);
        }
      }
    });
  }
  for (std::thread& t : consumers)
    t.join();
  const std::set<std::string> distinct(seen.begin(), seen.end());
  EXPECT_EQ(distinct.size(), static_cast<std::size_t>(kMessages)) << "a message was lost";
  if (row().exclusive_receives) {
    EXPECT_EQ(seen.size(), static_cast<std::size_t>(kMessages))
        << "a message was delivered to two consumers within its visibility timeout";
  } else {
    // At-least-once: a duplicate now and then, never a flood.
    EXPECT_LE(seen.size(), static_cast<std::size_t>(kMessages + kMessages / 10));
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, QueueConformanceTest, testing::ValuesIn(queueRows()), rowName);

} // namespace
} // namespace exoflow::backend::conformance
