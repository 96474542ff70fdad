// aws.sqs: see sqs_queue.h. Every call is one (or, for a send with duplicates, at most one)
// SQS request made through JsonApi; completions run on the shared HTTP client's thread.

#include "backend/aws/sqs_queue.h"

#include <utility>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <map>
#include <mutex>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "backend/aws/json_api.h"
#include "backend/aws/sigv4.h"
#include "backend/cloud.h"
#include "backend/dedup_window.h"
#include "backend/json_fields.h"
#include "backend/local/codec.h"

namespace exoflow::backend::aws_sqs {
namespace {

using json_fields::member;
using json_fields::number;
using json_fields::text;
using nlohmann::json;
using Messages = std::vector<ReceivedMessage>;
using Clock = std::chrono::steady_clock;

constexpr char kReceiptVersion = 'S';
constexpr std::size_t kTagBytes = 8;
constexpr int kMaxWaitSeconds = 20;
constexpr const char* kFifoGroup = "exo";
constexpr std::string_view kFifoSuffix = ".fifo";

/// `name` with `suffix` ("-dlq") added before a FIFO queue's ".fifo".
std::string withSuffix(const std::string& name, const std::string& suffix) {
  if (name.ends_with(kFifoSuffix)) {
    return name.substr(0, name.size() - kFifoSuffix.size()) + suffix + std::string(kFifoSuffix);
  }
  return name + suffix;
}

/// Pending long polls, so that closing the queue can complete them (with empty lists) and the
/// late answers are dropped.
struct PendingReceives {
  std::mutex mutex;
  bool closed = false;
  std::uint64_t next_id = 1;
  std::map<std::uint64_t, Done<Messages>> waiting;

  /// Takes the completion of `id`, or nothing when the queue closed meanwhile.
  Done<Messages> take(std::uint64_t id) {
    std::lock_guard lock(mutex);
    auto it = waiting.find(id);
    if (it == waiting.end()) return nullptr;
    Done<Messages> done = std::move(it->second);
    waiting.erase(it);
    return done;
  }
};

/// The SQS error code of an entry that failed in a batch, as an API error.
Error entryError(const json& failed) {
  const std::string code = text(failed, "Code");
  const std::string message = text(failed, "Message");
  const json& sender_fault = member(failed, "SenderFault");
  const bool server = sender_fault.is_boolean() && !sender_fault.get<bool>();
  return Error{aws::mapAwsError(code, server ? 500 : 400),
               fmt::format("{}{}{}", code, message.empty() ? "" : ": ", message)};
}

class SqsQueue final : public Queue {
public:
  SqsQueue(std::unique_ptr<aws::JsonApi> api, std::string queue_url, QueueConfig config,
           std::shared_ptr<DedupWindow> dedup)
      : api_(std::move(api)), queue_url_(std::move(queue_url)), config_(std::move(config)),
        dedup_(std::move(dedup)) {
    const std::string digest = aws::sha256Hex(queue_url_);
    tag_ = local::fromHex(digest.substr(0, kTagBytes * 2)).value_or(std::string(kTagBytes, '\0'));
    location_ = api_->endpoint().region;
  }

  ~SqsQueue() override {
    std::map<std::uint64_t, Done<Messages>> dropped;
    {
      std::lock_guard lock(pending_->mutex);
      pending_->closed = true;
      dropped.swap(pending_->waiting);
    }
    for (auto& [id, done] : dropped)
      done(Messages{});
  }

  SqsQueue(const SqsQueue&) = delete;
  SqsQueue& operator=(const SqsQueue&) = delete;

  std::string describe() const override { return fmt::format("{}:{}", kType, location_); }

  QueueFeatures features() const override {
    return {QueueFeature::kLongPolling, QueueFeature::kDeadLetter,       QueueFeature::kDedup,
            QueueFeature::kAttributes,  QueueFeature::kVisibilityChange, QueueFeature::kFifo};
  }

  void send(std::vector<OutgoingMessage> batch, Done<std::vector<std::string>> done) override;
  void receive(ReceiveRequest request, Done<Messages> done) override;
  void remove(std::string receipt, Done<void> done) override;
  void removeBatch(std::vector<std::string> receipts,
                   Done<std::vector<Result<void>>> done) override;
  void changeVisibility(std::string receipt, std::chrono::seconds visibility,
                        Done<void> done) override;
  void stats(Done<QueueStats> done) override;

private:
  std::string encodeReceipt(const std::string& handle) const {
    return local::base64UrlEncode(std::string(1, kReceiptVersion) + tag_ + handle);
  }
  /// SQS's receipt handle, or nullopt for a receipt this queue did not issue.
  std::optional<std::string> decodeReceipt(std::string_view receipt) const {
    std::optional<std::string> raw = local::base64UrlDecode(receipt);
    if (!raw || raw->size() <= 1 + kTagBytes || (*raw)[0] != kReceiptVersion) return std::nullopt;
    if (raw->compare(1, kTagBytes, tag_) != 0) return std::nullopt;
    return raw->substr(1 + kTagBytes);
  }
  static ReceivedMessage decodeMessage(const json& m, const std::string& receipt);

  std::unique_ptr<aws::JsonApi> api_;
  std::string queue_url_;
  QueueConfig config_;
  std::shared_ptr<DedupWindow> dedup_;
  std::string tag_;
  std::string location_;
  std::shared_ptr<PendingReceives> pending_ = std::make_shared<PendingReceives>();
};

void SqsQueue::send(std::vector<OutgoingMessage> batch, Done<std::vector<std::string>> done) {
  if (batch.empty() || batch.size() > 10) {
    return done(fail(ErrorCode::kInvalidArgument, "a batch holds 1 to 10 messages"));
  }
  // Which entries go to SQS: a dedup_id seen before (in the window or earlier in this batch)
  // takes the first message's id instead.
  std::vector<std::optional<std::string>> known(batch.size());
  std::vector<std::optional<std::size_t>> same_as(batch.size());
  std::map<std::string, std::size_t> first_in_batch;
  json entries = json::array();
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const OutgoingMessage& message = batch[i];
    if (message.body.empty() || message.body.size() > config_.options.max_message_size) {
      return done(fail(
          message.body.empty() ? ErrorCode::kInvalidArgument : ErrorCode::kPayloadTooLarge,
          fmt::format("a message body holds 1 to {} bytes", config_.options.max_message_size)));
    }
    if (message.dedup_id) {
      Result<std::optional<std::string>> seen = dedup_->find(queue_url_, *message.dedup_id);
      if (!seen) return done(tl::unexpected(seen.error()));
      if ((known[i] = *seen)) continue;
      auto [at, fresh] = first_in_batch.emplace(*message.dedup_id, i);
      if (!fresh) {
        same_as[i] = at->second;
        continue;
      }
    }
    json entry = {{"Id", std::to_string(i)}, {"MessageBody", message.body}};
    if (config_.options.fifo) {
      // One message group: the whole queue is delivered in send order, as the API promises.
      // SQS deduplicates a FIFO queue itself, which also holds across proxies (a failover);
      // the id is a hash, as SQS takes only 128 printable ASCII characters.
      entry["MessageGroupId"] = kFifoGroup;
      if (message.dedup_id) {
        entry["MessageDeduplicationId"] = aws::sha256Hex(*message.dedup_id);
      } else {
        Result<std::string> unique = local::randomId();
        if (!unique) return done(tl::unexpected(unique.error()));
        entry["MessageDeduplicationId"] = *unique;
      }
    }
    if (!message.attributes.empty()) {
      json attributes = json::object();
      for (const auto& [name, value] : message.attributes)
        attributes[name] = {{"DataType", "String"}, {"StringValue", value}};
      entry["MessageAttributes"] = std::move(attributes);
    }
    entries.push_back(std::move(entry));
  }
  // What the answer fills in: the ids of the entries sent, by their index in the batch.
  auto finish = [batch = std::move(batch), known = std::move(known), same_as = std::move(same_as),
                 dedup = dedup_, queue = queue_url_](std::map<std::size_t, std::string> sent) {
    std::vector<std::string> ids(batch.size());
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (known[i]) {
        ids[i] = *known[i];
      } else if (same_as[i]) {
        ids[i] = sent[*same_as[i]];
      } else {
        ids[i] = sent[i];
        // The messages are in SQS whatever happens here: a window that failed to record one
        // only lets a repeat through, which at-least-once delivery allows.
        if (batch[i].dedup_id) (void)dedup->remember(queue, *batch[i].dedup_id, ids[i]);
      }
    }
    return ids;
  };
  if (entries.empty()) return done(finish({}));
  const json body = {{"QueueUrl", queue_url_}, {"Entries", std::move(entries)}};
  api_->call("SendMessageBatch", body, false,
             [finish = std::move(finish), done = std::move(done)](Result<json> answer) {
               if (!answer) return done(tl::unexpected(answer.error()));
               // One failed entry fails the send: the caller retries the batch (the others are
               // enqueued; a retry with dedup_ids does not enqueue them twice).
               const json& failed = member(*answer, "Failed");
               if (failed.is_array() && !failed.empty()) {
                 return done(tl::unexpected(entryError(failed.front())));
               }
               std::map<std::size_t, std::string> sent;
               for (const json& ok : member(*answer, "Successful")) {
                 sent[static_cast<std::size_t>(number(text(ok, "Id"), 0))] = text(ok, "MessageId");
               }
               done(finish(std::move(sent)));
             });
}

ReceivedMessage SqsQueue::decodeMessage(const json& m, const std::string& receipt) {
  ReceivedMessage message;
  message.message_id = text(m, "MessageId");
  message.receipt = receipt;
  message.body = text(m, "Body");
  message.receive_count =
      static_cast<int>(number(text(member(m, "Attributes"), "ApproximateReceiveCount"), 1));
  const json& attributes = member(m, "MessageAttributes");
  if (attributes.is_object()) {
    for (auto it = attributes.begin(); it != attributes.end(); ++it) {
      const json& value = member(*it, "StringValue");
      if (value.is_string()) message.attributes[it.key()] = value.get<std::string>();
    }
  }
  return message;
}

void SqsQueue::receive(ReceiveRequest request, Done<Messages> done) {
  if (request.max < 1 || request.max > 10) {
    return done(fail(ErrorCode::kInvalidArgument, "max must be 1..10"));
  }
  if (request.wait.count() < 0 || request.wait.count() > kMaxWaitSeconds) {
    return done(fail(ErrorCode::kInvalidArgument, "wait must be 0..20 seconds"));
  }
  const std::chrono::seconds visibility =
      request.visibility.value_or(config_.options.visibility_timeout);
  if (visibility.count() < 0 || visibility.count() > 43200) {
    return done(fail(ErrorCode::kInvalidArgument, "visibility must be 0..43200 seconds"));
  }
  std::uint64_t id = 0;
  {
    std::lock_guard lock(pending_->mutex);
    if (pending_->closed) return done(Messages{});
    id = pending_->next_id++;
    pending_->waiting.emplace(id, std::move(done));
  }
  const json body = {{"QueueUrl", queue_url_},
                     {"MaxNumberOfMessages", request.max},
                     {"WaitTimeSeconds", request.wait.count()},
                     {"VisibilityTimeout", visibility.count()},
                     {"AttributeNames", {"ApproximateReceiveCount"}},
                     {"MessageSystemAttributeNames", {"ApproximateReceiveCount"}},
                     {"MessageAttributeNames", {"All"}}};
  api_->call(
      "ReceiveMessage", body, false,
      [pending = pending_, id, tag = tag_](Result<json> answer) {
        Done<Messages> done = pending->take(id);
        if (!done) return; // the queue closed: its receivers already got empty lists
        if (!answer) return done(tl::unexpected(answer.error()));
        Messages messages;
        for (const json& m : member(*answer, "Messages")) {
          const std::string handle = text(m, "ReceiptHandle");
          messages.push_back(decodeMessage(
              m,
              local::base64UrlEncode(std::string(1, kReceiptVersion).append(tag).append(handle))));
        }
        done(std::move(messages));
      },
      request.wait);
}

void SqsQueue::remove(std::string receipt, Done<void> done) {
  std::optional<std::string> handle = decodeReceipt(receipt);
  if (!handle) return done(fail(ErrorCode::kNotFound, "no such receipt"));
  const json body = {{"QueueUrl", queue_url_}, {"ReceiptHandle", *handle}};
  api_->call("DeleteMessage", body, true, [done = std::move(done)](Result<json> answer) {
    if (!answer) {
      // SQS refuses a handle it never issued (ReceiptHandleIsInvalid): the API's 404.
      if (answer.error().code == ErrorCode::kInvalidArgument) {
        return done(fail(ErrorCode::kNotFound, answer.error().message));
      }
      return done(tl::unexpected(answer.error()));
    }
    done({});
  });
}

void SqsQueue::removeBatch(std::vector<std::string> receipts,
                           Done<std::vector<Result<void>>> done) {
  if (receipts.empty() || receipts.size() > 10) {
    return done(fail(ErrorCode::kInvalidArgument, "a batch holds 1 to 10 receipts"));
  }
  auto results = std::make_shared<std::vector<Result<void>>>(receipts.size());
  json entries = json::array();
  for (std::size_t i = 0; i < receipts.size(); ++i) {
    if (std::optional<std::string> handle = decodeReceipt(receipts[i])) {
      entries.push_back({{"Id", std::to_string(i)}, {"ReceiptHandle", *handle}});
    } else {
      (*results)[i] = fail(ErrorCode::kNotFound, "no such receipt");
    }
  }
  if (entries.empty()) return done(std::move(*results));
  const json body = {{"QueueUrl", queue_url_}, {"Entries", std::move(entries)}};
  api_->call("DeleteMessageBatch", body, true,
             [results, done = std::move(done)](Result<json> answer) {
               if (!answer) return done(tl::unexpected(answer.error()));
               for (const json& failed : member(*answer, "Failed")) {
                 const std::size_t i = static_cast<std::size_t>(number(text(failed, "Id"), -1));
                 if (i >= results->size()) continue;
                 Error error = entryError(failed);
                 if (error.code == ErrorCode::kInvalidArgument) error.code = ErrorCode::kNotFound;
                 (*results)[i] = tl::unexpected(std::move(error));
               }
               done(std::move(*results));
             });
}

void SqsQueue::changeVisibility(std::string receipt, std::chrono::seconds visibility,
                                Done<void> done) {
  if (visibility.count() < 0 || visibility.count() > 43200) {
    return done(fail(ErrorCode::kInvalidArgument, "visibility must be 0..43200 seconds"));
  }
  std::optional<std::string> handle = decodeReceipt(receipt);
  if (!handle) return done(fail(ErrorCode::kNotFound, "no such receipt"));
  const json body = {{"QueueUrl", queue_url_},
                     {"ReceiptHandle", *handle},
                     {"VisibilityTimeout", visibility.count()}};
  api_->call("ChangeMessageVisibility", body, true, [done = std::move(done)](Result<json> answer) {
    if (!answer) {
      if (answer.error().code == ErrorCode::kInvalidArgument) {
        return done(fail(ErrorCode::kNotFound, answer.error().message));
      }
      return done(tl::unexpected(answer.error()));
    }
    done({});
  });
}

void SqsQueue::stats(Done<QueueStats> done) {
  const json body = {
      {"QueueUrl", queue_url_},
      {"AttributeNames", {"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"}}};
  api_->call("GetQueueAttributes", body, true, [done = std::move(done)](Result<json> answer) {
    if (!answer) return done(tl::unexpected(answer.error()));
    const json& attributes = member(*answer, "Attributes");
    QueueStats stats;
    stats.approximate_messages = number(text(attributes, "ApproximateNumberOfMessages"), 0);
    stats.approximate_in_flight =
        number(text(attributes, "ApproximateNumberOfMessagesNotVisible"), 0);
    done(stats);
  });
}

/// The queue's URL: looked up by name, or created (with `create: true`) when missing.
Result<std::string> resolveQueue(aws::JsonApi& api, const std::string& name,
                                 const QueueConfig& config, bool create) {
  Result<json> found = api.callAndWait("GetQueueUrl", {{"QueueName", name}}, true);
  if (found) return text(*found, "QueueUrl");
  if (found.error().code != ErrorCode::kNotFound || !create) {
    return fail(found.error().code,
                fmt::format("SQS queue \"{}\": {}", name, found.error().message));
  }
  json attributes = {
      {"VisibilityTimeout", std::to_string(config.options.visibility_timeout.count())},
      {"MessageRetentionPeriod", std::to_string(config.options.retention.count())},
      {"MaximumMessageSize",
       std::to_string(std::min<std::uint64_t>(config.options.max_message_size, 262144))}};
  if (config.options.fifo) attributes["FifoQueue"] = "true";
  if (config.options.dead_letter_after) {
    // The dead-letter queue first, for its ARN.
    QueueConfig dead = config;
    dead.options.dead_letter_after.reset();
    Result<std::string> dlq_url = resolveQueue(api, withSuffix(name, "-dlq"), dead, true);
    if (!dlq_url) return dlq_url;
    Result<json> arn = api.callAndWait(
        "GetQueueAttributes", {{"QueueUrl", *dlq_url}, {"AttributeNames", {"QueueArn"}}}, true);
    if (!arn) return tl::unexpected(arn.error());
    const json redrive = {{"deadLetterTargetArn", text(member(*arn, "Attributes"), "QueueArn")},
                          {"maxReceiveCount", std::to_string(*config.options.dead_letter_after)}};
    attributes["RedrivePolicy"] = redrive.dump();
  }
  Result<json> created =
      api.callAndWait("CreateQueue", {{"QueueName", name}, {"Attributes", attributes}}, true);
  if (!created) {
    return fail(created.error().code,
                fmt::format("creating SQS queue \"{}\": {}", name, created.error().message));
  }
  return text(*created, "QueueUrl");
}

} // namespace

Result<std::unique_ptr<Queue>> openQueue(const BackendSpec& spec, const QueueConfig& config,
                                         const BackendContext& context) {
  static const std::set<std::string> keys = {"region", "queue", "queue_url", "endpoint", "create"};
  for (const auto& [key, value] : spec.params) {
    if (keys.count(key) == 0) {
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("aws.sqs: unknown key \"{}\" (region, queue, queue_url, endpoint, "
                              "create)",
                              key));
    }
  }
  const std::string region = spec.param("region");
  if (region.empty()) return fail(ErrorCode::kInvalidArgument, "aws.sqs: region is required");
  std::string queue = spec.param("queue");
  std::string queue_url = spec.param("queue_url");
  if (queue.empty() == queue_url.empty()) {
    return fail(ErrorCode::kInvalidArgument, "aws.sqs: give one of queue and queue_url");
  }
  const std::string create = spec.param("create");
  if (!create.empty() && create != "true" && create != "false") {
    return fail(ErrorCode::kInvalidArgument, "aws.sqs: create is true or false");
  }
  if (context.cloud == nullptr) {
    return fail(ErrorCode::kInternal, "aws.sqs: the host gave no HTTP client and credentials");
  }
  Result<aws::CredentialsProvider*> credentials = context.cloud->awsCredentials();
  if (!credentials) return tl::unexpected(credentials.error());
  std::string endpoint = spec.param("endpoint");
  if (endpoint.empty()) endpoint = fmt::format("https://sqs.{}.amazonaws.com", region);
  while (endpoint.ends_with('/'))
    endpoint.pop_back();
  auto api =
      std::make_unique<aws::JsonApi>(context.cloud->http(), **credentials,
                                     aws::ServiceEndpoint{endpoint, region, "sqs"}, "AmazonSQS");
  // The proxy opens a binding's dead-letter queue ("orders-dlq" of binding "orders") with the
  // binding's own spec: that is the SQS queue named after the binding's with the same suffix,
  // unless the spec names it already.
  // SQS requires a FIFO queue's name to end in ".fifo": a fifo binding's queue gets it added.
  if (!queue.empty() && config.options.fifo && !queue.ends_with(kFifoSuffix)) {
    queue += kFifoSuffix;
  }
  if (!queue.empty() && config.name != context.binding &&
      config.name.starts_with(context.binding)) {
    const std::string suffix = config.name.substr(context.binding.size());
    if (!queue.ends_with(suffix) && !queue.ends_with(suffix + std::string(kFifoSuffix))) {
      queue = withSuffix(queue, suffix);
    }
  }
  if (queue_url.empty()) {
    Result<std::string> url = resolveQueue(*api, queue, config, create == "true");
    if (!url) return tl::unexpected(url.error());
    queue_url = *url;
  }
  Result<std::shared_ptr<DedupWindow>> dedup =
      DedupWindow::open(context.data_dir / context.binding / "aws-sqs-dedup.sqlite");
  if (!dedup) return tl::unexpected(dedup.error());
  return std::make_unique<SqsQueue>(std::move(api), std::move(queue_url), config,
                                    std::move(*dedup));
}

} // namespace exoflow::backend::aws_sqs
