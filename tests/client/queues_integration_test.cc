// The queue calls of the client against the real exo-proxy (local.sqlite backends).

#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "client/proxy_process.h"

namespace exoflow::client {
namespace {

using namespace std::chrono_literals;
using testing::ProxyTest;

class QueuesTest : public ProxyTest {};

OutgoingMessage message(std::string body, std::map<std::string, std::string> attributes = {},
                        std::optional<std::string> dedup_id = std::nullopt) {
  return OutgoingMessage{std::move(body), std::move(attributes), std::move(dedup_id)};
}

TEST_F(QueuesTest, SendReturnsIdsInOrderAndReceiveReturnsWhatWasSent) {
  Client exo = client();
  auto ids = exo.sendMessages("orders", {message("one", {{"kind", "a"}, {"n", "1"}}),
                                         message("two"), message("trois \xE2\x9C\x93")});
  ASSERT_TRUE(ids) << describe(ids.error());
  ASSERT_EQ(ids->size(), 3u);
  EXPECT_EQ(std::set<std::string>(ids->begin(), ids->end()).size(), 3u);

  ReceiveOptions options;
  options.max_messages = 10;
  auto received = exo.receiveMessages("orders", options);
  ASSERT_TRUE(received) << describe(received.error());
  ASSERT_EQ(received->size(), 3u);
  std::map<std::string, ReceivedMessage> by_id;
  for (const ReceivedMessage& m : *received)
    by_id[m.message_id] = m;
  ASSERT_EQ(by_id.count((*ids)[0]), 1u);
  EXPECT_EQ(by_id[(*ids)[0]].body, "one");
  EXPECT_EQ(by_id[(*ids)[0]].attributes,
            (std::map<std::string, std::string>{{"kind", "a"}, {"n", "1"}}));
  EXPECT_EQ(by_id[(*ids)[1]].body, "two");
  EXPECT_TRUE(by_id[(*ids)[1]].attributes.empty());
  EXPECT_EQ(by_id[(*ids)[2]].body, "trois \xE2\x9C\x93");
  for (const ReceivedMessage& m : *received) {
    EXPECT_EQ(m.receive_count, 1);
    EXPECT_FALSE(m.receipt.empty());
    EXPECT_EQ(m.receipt.find_first_not_of(
                  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
              std::string::npos);
  }
}

TEST_F(QueuesTest, ADedupIdReturnsTheFirstMessageId) {
  Client exo = client();
  auto first = exo.sendMessage("orders", message("x", {}, "order-17"));
  ASSERT_TRUE(first) << describe(first.error());
  auto again = exo.sendMessage("orders", message("x", {}, "order-17"));
  ASSERT_TRUE(again) << describe(again.error());
  EXPECT_EQ(*again, *first);
  auto batch = exo.sendMessages("orders", {message("y", {}, "b-1"), message("y", {}, "b-1")});
  ASSERT_TRUE(batch) << describe(batch.error());
  EXPECT_EQ((*batch)[0], (*batch)[1]);
  auto info = exo.queueInfo("orders");
  ASSERT_TRUE(info) << describe(info.error());
  EXPECT_EQ(info->approximate_messages, 2);
}

TEST_F(QueuesTest, DeleteRemovesTheMessage) {
  Client exo = client();
  ASSERT_TRUE(exo.sendMessage("orders", message("bye")));
  auto received = exo.receiveMessages("orders");
  ASSERT_TRUE(received) << describe(received.error());
  ASSERT_EQ(received->size(), 1u);
  auto info = exo.queueInfo("orders");
  ASSERT_TRUE(info);
  EXPECT_EQ(info->approximate_in_flight, 1);
  auto deleted = exo.deleteMessage("orders", received->front().receipt);
  ASSERT_TRUE(deleted) << describe(deleted.error());
  info = exo.queueInfo("orders");
  ASSERT_TRUE(info);
  EXPECT_EQ(info->approximate_messages, 0);
  EXPECT_EQ(info->approximate_in_flight, 0);
}

TEST_F(QueuesTest, DeleteMessagesAnswersEachReceiptInOrder) {
  Client exo = client();
  ASSERT_TRUE(exo.sendMessages("orders", {message("a"), message("b")}));
  ReceiveOptions options;
  options.max_messages = 10;
  auto received = exo.receiveMessages("orders", options);
  ASSERT_TRUE(received) << describe(received.error());
  ASSERT_EQ(received->size(), 2u);
  auto results = exo.deleteMessages(
      "orders", {(*received)[0].receipt, "not-a-receipt", (*received)[1].receipt});
  ASSERT_TRUE(results) << describe(results.error());
  ASSERT_EQ(results->size(), 3u);
  EXPECT_TRUE((*results)[0]);
  ASSERT_FALSE((*results)[1]);
  EXPECT_EQ((*results)[1].error().code, ErrorCode::kNotFound);
  EXPECT_EQ((*results)[1].error().http_status, 404);
  EXPECT_EQ((*results)[1].error().backend, "local.sqlite");
  EXPECT_FALSE((*results)[1].error().request_id.empty());
  EXPECT_TRUE((*results)[2]);
  auto info = exo.queueInfo("orders");
  ASSERT_TRUE(info) << describe(info.error());
  EXPECT_EQ(info->approximate_in_flight, 0);

  auto refused = exo.deleteMessages("orders", {});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(QueuesTest, VisibilityZeroMakesAMessageVisibleAtOnce) {
  Client exo = client();
  ASSERT_TRUE(exo.sendMessage("orders", message("again")));
  ReceiveOptions options;
  options.visibility = 600s;
  auto first = exo.receiveMessages("orders", options);
  ASSERT_TRUE(first && first->size() == 1u);
  auto hidden = exo.receiveMessages("orders");
  ASSERT_TRUE(hidden);
  EXPECT_TRUE(hidden->empty());
  auto changed = exo.changeVisibility("orders", first->front().receipt, 0s);
  ASSERT_TRUE(changed) << describe(changed.error());
  auto second = exo.receiveMessages("orders");
  ASSERT_TRUE(second) << describe(second.error());
  ASSERT_EQ(second->size(), 1u);
  EXPECT_EQ(second->front().message_id, first->front().message_id);
  EXPECT_EQ(second->front().receive_count, 2);
}

TEST_F(QueuesTest, ALongPollWakesWhenAMessageArrives) {
  Client exo = client();
  std::thread sender([&exo] {
    std::this_thread::sleep_for(300ms);
    EXPECT_TRUE(exo.sendMessage("jobs", message("late"))); // same Client, another thread
  });
  ReceiveOptions options;
  options.wait = 10s;
  auto received = exo.receiveMessages("jobs", options);
  sender.join();
  ASSERT_TRUE(received) << describe(received.error());
  ASSERT_EQ(received->size(), 1u);
  EXPECT_EQ(received->front().body, "late");
}

TEST_F(QueuesTest, ALongPollWithNothingToReceiveReturnsEmpty) {
  Client exo = client();
  ReceiveOptions options;
  options.wait = 1s;
  auto received = exo.receiveMessages("jobs", options);
  ASSERT_TRUE(received) << describe(received.error());
  EXPECT_TRUE(received->empty());
}

TEST_F(QueuesTest, InfoAndListNameTheQueuesAndTheirBackend) {
  Client exo = client();
  auto info = exo.queueInfo("jobs");
  ASSERT_TRUE(info) << describe(info.error());
  EXPECT_EQ(info->name, "jobs");
  EXPECT_EQ(info->backend, "local.sqlite");
  auto queues = exo.listQueues();
  ASSERT_TRUE(queues) << describe(queues.error());
  const std::set<std::string> names(queues->begin(), queues->end());
  EXPECT_TRUE(names.count("orders") && names.count("jobs") && names.count("small"));
}

TEST_F(QueuesTest, AnUnknownQueueIsNotFound) {
  Client exo = client();
  auto info = exo.queueInfo("no-such-queue");
  ASSERT_FALSE(info);
  EXPECT_EQ(info.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(info.error().http_status, 404);
  EXPECT_FALSE(info.error().request_id.empty());
  auto sent = exo.sendMessage("no-such-queue", message("x"));
  ASSERT_FALSE(sent);
  EXPECT_EQ(sent.error().code, ErrorCode::kNotFound);
}

TEST_F(QueuesTest, OutOfRangeParametersAreInvalidArguments) {
  Client exo = client();
  ReceiveOptions options;
  options.max_messages = 11;
  auto received = exo.receiveMessages("orders", options);
  ASSERT_FALSE(received);
  EXPECT_EQ(received.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(received.error().http_status, 400);
  auto empty = exo.sendMessages("orders", {});
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(QueuesTest, AMessageOverTheQueuesLimitIsPayloadTooLarge) {
  Client exo = client();
  auto sent = exo.sendMessage("small", message(std::string(1025, 'x')));
  ASSERT_FALSE(sent);
  EXPECT_EQ(sent.error().code, ErrorCode::kPayloadTooLarge) << describe(sent.error());
  EXPECT_EQ(sent.error().http_status, 413);
  EXPECT_TRUE(exo.sendMessage("small", message(std::string(1024, 'x'))));
}

TEST_F(QueuesTest, AMalformedReceiptIsNotFound) {
  Client exo = client();
  auto deleted = exo.deleteMessage("orders", "not-a-receipt");
  ASSERT_FALSE(deleted);
  EXPECT_EQ(deleted.error().code, ErrorCode::kNotFound) << describe(deleted.error());
  auto changed = exo.changeVisibility("orders", "not-a-receipt", 5s);
  ASSERT_FALSE(changed);
  EXPECT_EQ(changed.error().code, ErrorCode::kNotFound) << describe(changed.error());
}

TEST_F(QueuesTest, InvalidUtf8IsRefusedBeforeSending) {
  Client exo = client();
  auto sent = exo.sendMessage("orders", message("\xFF\xFE"));
  ASSERT_FALSE(sent);
  EXPECT_EQ(sent.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(sent.error().http_status, 0);
}

} // namespace
} // namespace exoflow::client
