// azure.queue: see azure_queue.h. Calls go through StorageApi on the shared HTTP client;
// completions run on its thread, and a receive's polls wait on the host's scheduler.

#include "backend/azure/azure_queue.h"

#include <utility>

#include <algorithm>
#include <charconv>
#include <map>
#include <mutex>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <pugixml.hpp>

#include "backend/aws/sigv4.h"
#include "backend/azure/storage_api.h"
#include "backend/cloud.h"
#include "backend/dedup_window.h"
#include "backend/json_fields.h"
#include "backend/local/codec.h"

namespace exoflow::backend::azure_queue {
namespace {

using json_fields::member;
using json_fields::number;
using json_fields::text;
using nlohmann::json;
using Messages = std::vector<ReceivedMessage>;
using Clock = std::chrono::steady_clock;
using azure::Call;
using azure::StorageApi;

constexpr char kReceiptVersion = 'Z';
constexpr std::size_t kTagBytes = 8;
constexpr int kMaxWaitSeconds = 20;
constexpr std::string_view kEnvelopePrefix = "exo1:";
/// Azure's limit is 64 KiB of message text; what is sent stays below it with room to spare.
constexpr std::size_t kMaxText = 60000;
constexpr std::chrono::milliseconds kFirstPoll{100};
constexpr std::chrono::milliseconds kLongestPoll{1000};

/// What a message carries besides Azure's own fields.
struct Envelope {
  std::string body;
  Attributes attributes;
  std::string id;        ///< the first id of a message moved to the dead-letter queue
  std::string container; ///< the claim check's blob, when the body is there
  std::string blob;
};

/// Whether XML 1.0 text carries `body` unchanged: no control characters but tab and newline
/// (a carriage return would come back as a newline).
bool xmlSafe(std::string_view body) {
  return std::none_of(body.begin(), body.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && c != '\t' && c != '\n') || u == 0x7f;
  });
}

/// The size of `text` once XML-escaped (&amp; &lt; &gt; &quot;).
std::size_t xmlSize(std::string_view text) {
  std::size_t size = text.size();
  for (char c : text) {
    if (c == '&' || c == '"') size += 5;
    if (c == '<' || c == '>') size += 3;
  }
  return size;
}

/// The message text for `e`: the plain body when nothing else needs to travel, else the
/// envelope.
std::string encodeText(const Envelope& e) {
  if (e.attributes.empty() && e.id.empty() && e.blob.empty() && xmlSafe(e.body) &&
      !e.body.starts_with(kEnvelopePrefix)) {
    return e.body;
  }
  json j = json::object();
  if (e.blob.empty()) {
    j["b"] = e.body;
  } else {
    j["c"] = e.container;
    j["n"] = e.blob;
  }
  if (!e.attributes.empty()) j["a"] = e.attributes;
  if (!e.id.empty()) j["i"] = e.id;
  return std::string(kEnvelopePrefix) + j.dump(-1, ' ', false, json::error_handler_t::replace);
}

/// The envelope of a received text; a text that is not one is the body itself.
Envelope decodeText(const std::string& message_text) {
  Envelope e;
  if (message_text.starts_with(kEnvelopePrefix)) {
    const json j = json::parse(message_text.substr(kEnvelopePrefix.size()), nullptr, false);
    if (j.is_object()) {
      e.body = text(j, "b");
      e.container = text(j, "c");
      e.blob = text(j, "n");
      e.id = text(j, "i");
      const json& attributes = member(j, "a");
      if (attributes.is_object()) {
        for (auto it = attributes.begin(); it != attributes.end(); ++it) {
          if (it->is_string()) e.attributes[it.key()] = it->get<std::string>();
        }
      }
      return e;
    }
  }
  e.body = message_text;
  return e;
}

std::string putMessageXml(const std::string& message_text) {
  pugi::xml_document doc;
  doc.append_child("QueueMessage").append_child("MessageText").text().set(message_text.c_str());
  std::ostringstream out;
  doc.save(out, "", pugi::format_raw | pugi::format_no_declaration);
  return out.str();
}

/// One message of a Get Messages answer.
struct Got {
  std::string id;
  std::string pop;
  int dequeue_count = 0;
  Envelope envelope;
};

Result<std::vector<Got>> parseMessages(const std::string& body) {
  pugi::xml_document doc;
  if (!doc.load_buffer(body.data(), body.size())) {
    return fail(ErrorCode::kUnavailable, "Get Messages: the answer is not XML");
  }
  std::vector<Got> out;
  for (pugi::xml_node m : doc.child("QueueMessagesList").children("QueueMessage")) {
    Got got;
    got.id = m.child_value("MessageId");
    got.pop = m.child_value("PopReceipt");
    got.dequeue_count = static_cast<int>(number(m.child_value("DequeueCount"), 1));
    got.envelope = decodeText(m.child_value("MessageText"));
    out.push_back(std::move(got));
  }
  return out;
}

/// What a receipt names.
struct Delivery {
  std::string id;
  std::string pop;
  std::string container;
  std::string blob;
};

/// The popReceipts that visibility changes issued, by the receipt's own: Azure replaces the
/// popReceipt on every update, while the API's receipt outlives a visibility change. Shared by
/// the queues of this process; entries go with their message, or after a day.
class PopReceipts {
public:
  static PopReceipts& instance() {
    static PopReceipts receipts;
    return receipts;
  }
  std::string current(const std::string& key, const std::string& pop) {
    std::lock_guard lock(mutex_);
    auto it = map_.find(key);
    return it == map_.end() ? pop : it->second.first;
  }
  void update(const std::string& key, std::string pop) {
    std::lock_guard lock(mutex_);
    const auto now = Clock::now();
    if (map_.size() > 10000) {
      std::erase_if(map_, [&](const auto& e) { return now - e.second.second > kKeep; });
    }
    map_[key] = {std::move(pop), now};
  }
  void forget(const std::string& key) {
    std::lock_guard lock(mutex_);
    map_.erase(key);
  }

private:
  static constexpr std::chrono::hours kKeep{24};
  std::mutex mutex_;
  std::map<std::string, std::pair<std::string, Clock::time_point>> map_;
};

/// A receive waiting for its answer or its next poll.
struct Waiting {
  Done<Messages> done;
  std::optional<Scheduler::TimerId> timer;
};

/// What the calls in flight share with the queue object, which may go first.
struct Core {
  std::unique_ptr<StorageApi> queues;
  std::unique_ptr<StorageApi> blobs;
  std::string queue;           ///< the Azure queue's name
  std::string dead_letter;     ///< its dead-letter queue's, when dead_letter_after is set
  std::string spill_container; ///< of this queue's claim checks
  QueueConfig config;
  Scheduler* scheduler = nullptr;
  std::shared_ptr<DedupWindow> dedup;
  std::string tag;
  std::string dedup_key; ///< the queue in the dedup window

  std::mutex mutex;
  bool closed = false;
  std::uint64_t next_id = 1;
  std::map<std::uint64_t, Waiting> waiting;

  std::string messagesPath(const std::string& queue_name) const {
    return "/" + queue_name + "/messages";
  }
  std::string receipt(const Delivery& d) const {
    return local::base64UrlEncode(
        fmt::format("{}{}{}\n{}\n{}\n{}", kReceiptVersion, tag, d.id, d.pop, d.container, d.blob));
  }
  std::optional<Delivery> delivery(std::string_view receipt) const {
    std::optional<std::string> raw = local::base64UrlDecode(receipt);
    if (!raw || raw->size() <= 1 + kTagBytes || (*raw)[0] != kReceiptVersion) return std::nullopt;
    if (raw->compare(1, kTagBytes, tag) != 0) return std::nullopt;
    std::vector<std::string> parts;
    std::string rest = raw->substr(1 + kTagBytes);
    std::size_t start = 0;
    while (parts.size() < 3) {
      const std::size_t nl = rest.find('\n', start);
      if (nl == std::string::npos) return std::nullopt;
      parts.push_back(rest.substr(start, nl - start));
      start = nl + 1;
    }
    parts.push_back(rest.substr(start));
    if (parts[0].empty() || parts[1].empty()) return std::nullopt;
    return Delivery{parts[0], parts[1], parts[2], parts[3]};
  }
  std::string popKey(const Delivery& d) const { return tag + d.id + "\n" + d.pop; }

  /// Takes the completion of receive `id`, or nothing when the queue closed meanwhile.
  Done<Messages> take(std::uint64_t id) {
    std::lock_guard lock(mutex);
    auto it = waiting.find(id);
    if (it == waiting.end()) return nullptr;
    Done<Messages> done = std::move(it->second.done);
    waiting.erase(it);
    return done;
  }
};

/// Results gathered from calls made side by side; `finish` runs once all are in.
template <typename T> struct Gather {
  std::mutex mutex;
  std::vector<std::optional<T>> slots;
  std::size_t remaining = 0;
  std::optional<Error> error;
  std::function<void(Result<std::vector<std::optional<T>>>)> finish;

  void put(std::size_t i, Result<std::optional<T>> r) {
    bool last = false;
    {
      std::lock_guard lock(mutex);
      if (r) {
        slots[i] = std::move(*r);
      } else if (!error) {
        error = r.error();
      }
      last = --remaining == 0;
    }
    if (!last) return;
    if (error) return finish(tl::unexpected(*error));
    finish(std::move(slots));
  }
};

/// Deletes a claim-check blob (none when `blob` is empty), then runs `done`. The message is
/// gone either way: a blob left behind is garbage, not a lost message, so failures are dropped.
void deleteBlob(
    const std::shared_ptr<Core>& core, const std::string& container, const std::string& blob,
    std::function<void()> done = [] {}) {
  if (blob.empty()) return done();
  core->blobs->send(Call{"DELETE", "/" + container + "/" + blob, {}, {}, "", true},
                    [done = std::move(done)](const Result<net::HttpResponse>&) { done(); });
}

/// Sends one message: its body to a claim-check blob first when the text would be too long.
void sendOne(const std::shared_ptr<Core>& core, const OutgoingMessage& message,
             Done<std::string> done) {
  Envelope e{message.body, message.attributes, "", "", ""};
  std::string message_text = encodeText(e);
  auto post = [core](std::string message_text, Done<std::string> done) {
    Call call{"POST",
              core->messagesPath(core->queue),
              {{"messagettl", std::to_string(core->config.options.retention.count())}},
              {{"Content-Type", "application/xml"}},
              putMessageXml(message_text),
              false};
    core->queues->send(std::move(call), [done = std::move(done)](Result<net::HttpResponse> r) {
      if (!r) return done(tl::unexpected(r.error()));
      pugi::xml_document doc;
      doc.load_buffer(r->body.data(), r->body.size());
      std::string id =
          doc.child("QueueMessagesList").child("QueueMessage").child_value("MessageId");
      if (id.empty()) return done(fail(ErrorCode::kUnavailable, "Put Message: no MessageId"));
      done(std::move(id));
    });
  };
  if (xmlSize(message_text) <= kMaxText) return post(std::move(message_text), std::move(done));
  Result<std::string> name = local::randomId();
  if (!name) return done(tl::unexpected(name.error()));
  e.container = core->spill_container;
  e.blob = *name;
  Call put{
      "PUT",        "/" + e.container + "/" + e.blob,
      {},           {{"x-ms-blob-type", "BlockBlob"}, {"Content-Type", "application/octet-stream"}},
      message.body, true};
  core->blobs->send(
      std::move(put), [core, post, e, done = std::move(done)](Result<net::HttpResponse> r) mutable {
        if (!r) {
          return done(tl::unexpected(
              Error{r.error().code == ErrorCode::kNotFound ? ErrorCode::kInternal : r.error().code,
                    "storing a large body in its claim-check container: " + r.error().message}));
        }
        post(encodeText(e), [core, e, done = std::move(done)](Result<std::string> id) {
          if (!id) deleteBlob(core, e.container, e.blob);
          done(std::move(id));
        });
      });
}

void receiveOnce(const std::shared_ptr<Core>& core, std::uint64_t id, const ReceiveRequest& request,
                 Clock::time_point deadline, std::chrono::milliseconds next_poll);

/// Polls again after `delay`, or completes empty when the wait would end first.
void pollLater(const std::shared_ptr<Core>& core, std::uint64_t id, const ReceiveRequest& request,
               Clock::time_point deadline, std::chrono::milliseconds delay) {
  const auto now = Clock::now();
  if (now >= deadline) {
    if (Done<Messages> done = core->take(id)) done(Messages{});
    return;
  }
  delay = std::min(delay, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now));
  std::lock_guard lock(core->mutex);
  auto it = core->waiting.find(id);
  if (it == core->waiting.end()) return; // closed meanwhile
  const auto next = std::min(delay * 2, kLongestPoll);
  it->second.timer = core->scheduler->after(delay, [core, id, request, deadline, next] {
    receiveOnce(core, id, request, deadline, next);
  });
}

/// Moves a message received too often to the dead-letter queue: put there, then deleted here.
void moveToDeadLetter(const std::shared_ptr<Core>& core, Got got, Done<void> done) {
  Envelope e = got.envelope;
  if (e.id.empty()) e.id = got.id;
  Call call{"POST",
            core->messagesPath(core->dead_letter),
            {{"messagettl", std::to_string(core->config.options.retention.count())}},
            {{"Content-Type", "application/xml"}},
            putMessageXml(encodeText(e)),
            false};
  core->queues->send(std::move(call), [core, got = std::move(got),
                                       done = std::move(done)](Result<net::HttpResponse> r) {
    if (!r) return done(tl::unexpected(r.error()));
    Call remove{
        "DELETE", core->messagesPath(core->queue) + "/" + got.id, {{"popreceipt", got.pop}}, {}, "",
        true};
    core->queues->send(std::move(remove), [done](Result<net::HttpResponse> removed) {
      // Gone already (another receiver moved it): it is in the dead-letter queue twice at
      // worst, which at-least-once delivery allows.
      if (!removed && removed.error().code != ErrorCode::kNotFound) {
        return done(tl::unexpected(removed.error()));
      }
      done({});
    });
  });
}

/// Turns one received message into the API's: moved when received too often, its claim check
/// read, its visibility set to 0 when that was asked for.
void deliver(const std::shared_ptr<Core>& core, Got got, std::chrono::seconds visibility,
             Done<std::optional<ReceivedMessage>> done) {
  const std::optional<int>& after = core->config.options.dead_letter_after;
  if (after && !core->dead_letter.empty() && got.dequeue_count > *after) {
    return moveToDeadLetter(core, std::move(got), [done = std::move(done)](Result<void> moved) {
      if (!moved) return done(tl::unexpected(moved.error()));
      done(std::optional<ReceivedMessage>());
    });
  }
  auto finish = [core, visibility](Got got, Done<std::optional<ReceivedMessage>> done) {
    auto make = [core](const Got& g, const std::string& pop) {
      ReceivedMessage m;
      m.message_id = g.envelope.id.empty() ? g.id : g.envelope.id;
      m.receipt = core->receipt(Delivery{g.id, pop, g.envelope.container, g.envelope.blob});
      m.body = g.envelope.body;
      m.attributes = g.envelope.attributes;
      m.receive_count = g.dequeue_count;
      return m;
    };
    if (visibility.count() > 0) return done(std::optional<ReceivedMessage>(make(got, got.pop)));
    Call update{"PUT",
                core->messagesPath(core->queue) + "/" + got.id,
                {{"popreceipt", got.pop}, {"visibilitytimeout", "0"}},
                {},
                "",
                true};
    core->queues->send(std::move(update), [got = std::move(got), make,
                                           done = std::move(done)](Result<net::HttpResponse> r) {
      if (!r) return done(tl::unexpected(r.error()));
      done(std::optional<ReceivedMessage>(make(got, r->header("x-ms-popreceipt"))));
    });
  };
  if (got.envelope.blob.empty()) return finish(std::move(got), std::move(done));
  Call read{"GET", "/" + got.envelope.container + "/" + got.envelope.blob, {}, {}, "", true};
  core->blobs->send(std::move(read), [got = std::move(got), finish,
                                      done = std::move(done)](Result<net::HttpResponse> r) mutable {
    if (!r) {
      return done(tl::unexpected(
          Error{r.error().code, "reading a claim-check blob: " + r.error().message}));
    }
    got.envelope.body = std::move(r->body);
    finish(std::move(got), std::move(done));
  });
}

void receiveOnce(const std::shared_ptr<Core>& core, std::uint64_t id, const ReceiveRequest& request,
                 Clock::time_point deadline, std::chrono::milliseconds next_poll) {
  {
    std::lock_guard lock(core->mutex);
    auto it = core->waiting.find(id);
    if (it == core->waiting.end()) return;
    it->second.timer.reset();
  }
  const std::chrono::seconds visibility =
      request.visibility.value_or(core->config.options.visibility_timeout);
  Call call{"GET",
            core->messagesPath(core->queue),
            {{"numofmessages", std::to_string(request.max)},
             // Get Messages takes 1 s at least; 0 is applied by an update afterwards.
             {"visibilitytimeout", std::to_string(std::max<std::int64_t>(visibility.count(), 1))}},
            {},
            "",
            false};
  core->queues->send(std::move(call), [core, id, request, deadline, next_poll,
                                       visibility](Result<net::HttpResponse> r) {
    if (!r) {
      if (Done<Messages> done = core->take(id)) done(tl::unexpected(r.error()));
      return;
    }
    Result<std::vector<Got>> got = parseMessages(r->body);
    if (!got) {
      if (Done<Messages> done = core->take(id)) done(tl::unexpected(got.error()));
      return;
    }
    if (got->empty()) return pollLater(core, id, request, deadline, next_poll);
    auto gather = std::make_shared<Gather<ReceivedMessage>>();
    gather->slots.resize(got->size());
    gather->remaining = got->size();
    gather->finish = [core, id, request, deadline](auto results) {
      if (!results) {
        if (Done<Messages> done = core->take(id)) done(tl::unexpected(results.error()));
        return;
      }
      Messages messages;
      for (auto& m : *results) {
        if (m) messages.push_back(std::move(*m));
      }
      // Every one moved to the dead-letter queue: look again at once.
      if (messages.empty())
        return pollLater(core, id, request, deadline, std::chrono::milliseconds(0));
      if (Done<Messages> done = core->take(id)) done(std::move(messages));
    };
    for (std::size_t i = 0; i < got->size(); ++i) {
      deliver(
          core, std::move((*got)[i]), visibility,
          [gather, i](Result<std::optional<ReceivedMessage>> m) { gather->put(i, std::move(m)); });
    }
  });
}

class AzureQueue final : public Queue {
public:
  explicit AzureQueue(std::shared_ptr<Core> core, std::string location)
      : core_(std::move(core)), location_(std::move(location)) {}

  ~AzureQueue() override {
    std::map<std::uint64_t, Waiting> dropped;
    {
      std::lock_guard lock(core_->mutex);
      core_->closed = true;
      dropped.swap(core_->waiting);
    }
    for (auto& [id, waiting] : dropped) {
      if (waiting.timer) core_->scheduler->cancel(*waiting.timer);
      waiting.done(Messages{});
    }
  }

  AzureQueue(const AzureQueue&) = delete;
  AzureQueue& operator=(const AzureQueue&) = delete;

  std::string describe() const override { return fmt::format("{}:{}", kType, location_); }

  QueueFeatures features() const override {
    return {QueueFeature::kLongPolling, QueueFeature::kDeadLetter, QueueFeature::kDedup,
            QueueFeature::kAttributes, QueueFeature::kVisibilityChange};
  }

  void send(std::vector<OutgoingMessage> batch, Done<std::vector<std::string>> done) override;
  void receive(ReceiveRequest request, Done<Messages> done) override;
  void remove(std::string receipt, Done<void> done) override;
  void changeVisibility(std::string receipt, std::chrono::seconds visibility,
                        Done<void> done) override;
  void stats(Done<QueueStats> done) override;

private:
  std::shared_ptr<Core> core_;
  std::string location_;
};

void AzureQueue::send(std::vector<OutgoingMessage> batch, Done<std::vector<std::string>> done) {
  if (batch.empty() || batch.size() > 10) {
    return done(fail(ErrorCode::kInvalidArgument, "a batch holds 1 to 10 messages"));
  }
  // A dedup_id seen before (in the window or earlier in this batch) takes the first id.
  std::vector<std::optional<std::string>> known(batch.size());
  std::vector<std::optional<std::size_t>> same_as(batch.size());
  std::map<std::string, std::size_t> first_in_batch;
  std::vector<std::size_t> to_send;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const OutgoingMessage& message = batch[i];
    if (message.body.empty() || message.body.size() > core_->config.options.max_message_size) {
      return done(
          fail(message.body.empty() ? ErrorCode::kInvalidArgument : ErrorCode::kPayloadTooLarge,
               fmt::format("a message body holds 1 to {} bytes",
                           core_->config.options.max_message_size)));
    }
    if (message.dedup_id) {
      Result<std::optional<std::string>> seen =
          core_->dedup->find(core_->dedup_key, *message.dedup_id);
      if (!seen) return done(tl::unexpected(seen.error()));
      if ((known[i] = *seen)) continue;
      auto [at, fresh] = first_in_batch.emplace(*message.dedup_id, i);
      if (!fresh) {
        same_as[i] = at->second;
        continue;
      }
    }
    to_send.push_back(i);
  }
  auto shared_batch = std::make_shared<std::vector<OutgoingMessage>>(std::move(batch));
  auto finish = [core = core_, shared_batch, known = std::move(known), same_as = std::move(same_as),
                 done = std::move(done)](Result<std::map<std::size_t, std::string>> answer) {
    if (!answer) return done(tl::unexpected(answer.error()));
    std::map<std::size_t, std::string>& sent = *answer;
    const std::vector<OutgoingMessage>& messages = *shared_batch;
    std::vector<std::string> ids(messages.size());
    for (std::size_t i = 0; i < messages.size(); ++i) {
      if (known[i]) {
        ids[i] = *known[i];
      } else if (same_as[i]) {
        ids[i] = sent[*same_as[i]];
      } else {
        ids[i] = sent[i];
        // The message is in the queue whatever happens here: a window that failed to record
        // it only lets a repeat through, which at-least-once delivery allows.
        if (messages[i].dedup_id) {
          (void)core->dedup->remember(core->dedup_key, *messages[i].dedup_id, ids[i]);
        }
      }
    }
    done(std::move(ids));
  };
  if (to_send.empty()) return finish(std::map<std::size_t, std::string>{});
  auto gather = std::make_shared<Gather<std::string>>();
  gather->slots.resize(to_send.size());
  gather->remaining = to_send.size();
  gather->finish = [to_send, finish = std::move(finish)](auto results) mutable {
    // One failed message fails the send: the caller retries the batch (the others are
    // enqueued; a retry with dedup_ids does not enqueue them twice).
    if (!results) return finish(tl::unexpected(results.error()));
    std::map<std::size_t, std::string> sent;
    for (std::size_t k = 0; k < to_send.size(); ++k)
      sent[to_send[k]] = (*results)[k].value_or("");
    finish(std::move(sent));
  };
  for (std::size_t k = 0; k < to_send.size(); ++k) {
    sendOne(core_, (*shared_batch)[to_send[k]], [gather, k](Result<std::string> id) {
      if (!id) return gather->put(k, tl::unexpected(id.error()));
      gather->put(k, std::optional<std::string>(std::move(*id)));
    });
  }
}

void AzureQueue::receive(ReceiveRequest request, Done<Messages> done) {
  if (request.max < 1 || request.max > 10) {
    return done(fail(ErrorCode::kInvalidArgument, "max must be 1..10"));
  }
  if (request.wait.count() < 0 || request.wait.count() > kMaxWaitSeconds) {
    return done(fail(ErrorCode::kInvalidArgument, "wait must be 0..20 seconds"));
  }
  const std::chrono::seconds visibility =
      request.visibility.value_or(core_->config.options.visibility_timeout);
  if (visibility.count() < 0 || visibility.count() > 43200) {
    return done(fail(ErrorCode::kInvalidArgument, "visibility must be 0..43200 seconds"));
  }
  std::uint64_t id = 0;
  {
    std::lock_guard lock(core_->mutex);
    if (core_->closed) return done(Messages{});
    id = core_->next_id++;
    core_->waiting.emplace(id, Waiting{std::move(done), std::nullopt});
  }
  receiveOnce(core_, id, request, Clock::now() + request.wait, kFirstPoll);
}

void AzureQueue::remove(std::string receipt, Done<void> done) {
  std::optional<Delivery> d = core_->delivery(receipt);
  if (!d) return done(fail(ErrorCode::kNotFound, "no such receipt"));
  const std::string key = core_->popKey(*d);
  Call call{"DELETE",
            core_->messagesPath(core_->queue) + "/" + azure::percentEncode(d->id, false),
            {{"popreceipt", PopReceipts::instance().current(key, d->pop)}},
            {},
            "",
            true};
  core_->queues->send(std::move(call), [core = core_, d = *d, key,
                                        done = std::move(done)](Result<net::HttpResponse> r) {
    if (!r) {
      // A popReceipt Azure no longer knows, or a message id it never issued: the API's 404.
      if (r.error().code == ErrorCode::kInvalidArgument) {
        return done(fail(ErrorCode::kNotFound, r.error().message));
      }
      return done(tl::unexpected(r.error()));
    }
    PopReceipts::instance().forget(key);
    deleteBlob(core, d.container, d.blob, [done] { done({}); });
  });
}

void AzureQueue::changeVisibility(std::string receipt, std::chrono::seconds visibility,
                                  Done<void> done) {
  if (visibility.count() < 0 || visibility.count() > 43200) {
    return done(fail(ErrorCode::kInvalidArgument, "visibility must be 0..43200 seconds"));
  }
  std::optional<Delivery> d = core_->delivery(receipt);
  if (!d) return done(fail(ErrorCode::kNotFound, "no such receipt"));
  const std::string key = core_->popKey(*d);
  Call call{"PUT",
            core_->messagesPath(core_->queue) + "/" + azure::percentEncode(d->id, false),
            {{"popreceipt", PopReceipts::instance().current(key, d->pop)},
             {"visibilitytimeout", std::to_string(visibility.count())}},
            {},
            "",
            true};
  core_->queues->send(std::move(call), [key, done = std::move(done)](Result<net::HttpResponse> r) {
    if (!r) {
      if (r.error().code == ErrorCode::kInvalidArgument) {
        return done(fail(ErrorCode::kNotFound, r.error().message));
      }
      return done(tl::unexpected(r.error()));
    }
    PopReceipts::instance().update(key, r->header("x-ms-popreceipt"));
    done({});
  });
}

void AzureQueue::stats(Done<QueueStats> done) {
  // Azure counts every message, visible or not; a peek (at most 32) counts the visible ones.
  Call metadata{"GET", "/" + core_->queue, {{"comp", "metadata"}}, {}, "", true};
  core_->queues->send(std::move(metadata), [core = core_,
                                            done = std::move(done)](Result<net::HttpResponse> r) {
    if (!r) return done(tl::unexpected(r.error()));
    const std::int64_t total = number(r->header("x-ms-approximate-messages-count"), 0);
    Call peek{"GET",
              core->messagesPath(core->queue),
              {{"peekonly", "true"}, {"numofmessages", "32"}},
              {},
              "",
              true};
    core->queues->send(std::move(peek), [total, done](Result<net::HttpResponse> peeked) {
      if (!peeked) return done(tl::unexpected(peeked.error()));
      Result<std::vector<Got>> visible = parseMessages(peeked->body);
      if (!visible) return done(tl::unexpected(visible.error()));
      const auto seen = static_cast<std::int64_t>(visible->size());
      QueueStats stats;
      stats.approximate_messages = seen < 32 ? std::min(seen, total) : std::max(seen, total);
      stats.approximate_in_flight = std::max<std::int64_t>(0, total - stats.approximate_messages);
      done(stats);
    });
  });
}

/// Checks that a queue exists, or creates it with `create`.
Result<void> ensureQueue(StorageApi& api, const std::string& name, bool create) {
  Result<net::HttpResponse> found =
      api.sendAndWait(Call{"GET", "/" + name, {{"comp", "metadata"}}, {}, "", true});
  if (found) return {};
  // Unreachable now: the calls answer 503 until it is reachable, as they would had it failed
  // later (the proxy starts, and /readyz tells).
  if (found.error().code == ErrorCode::kUnavailable && !create) return {};
  if (found.error().code != ErrorCode::kNotFound || !create) {
    return fail(found.error().code,
                fmt::format("Azure queue \"{}\": {}", name, found.error().message));
  }
  Result<net::HttpResponse> created = api.sendAndWait(Call{"PUT", "/" + name, {}, {}, "", true});
  if (!created) {
    return fail(created.error().code,
                fmt::format("creating Azure queue \"{}\": {}", name, created.error().message));
  }
  return {};
}

Result<void> ensureContainer(StorageApi& api, const std::string& name) {
  Result<net::HttpResponse> created =
      api.sendAndWait(Call{"PUT", "/" + name, {{"restype", "container"}}, {}, "", true});
  if (created || created.error().code == ErrorCode::kAlreadyExists) return {};
  return fail(created.error().code,
              fmt::format("creating blob container \"{}\": {}", name, created.error().message));
}

/// The blob service beside a queue endpoint: Azure's host name with "blob" for "queue", or
/// Azurite's default blob port for its default queue port.
std::string blobEndpointFor(std::string queue_endpoint) {
  if (auto at = queue_endpoint.find(".queue."); at != std::string::npos) {
    return queue_endpoint.replace(at, 7, ".blob.");
  }
  if (auto at = queue_endpoint.find(":10001"); at != std::string::npos) {
    return queue_endpoint.replace(at, 6, ":10000");
  }
  return queue_endpoint;
}

/// Azure's rule for queue and container names: 3-63 lower-case letters, digits and single
/// hyphens, starting and ending with a letter or digit.
bool validName(std::string_view name) {
  if (name.size() < 3 || name.size() > 63 || name.front() == '-' || name.back() == '-') {
    return false;
  }
  if (name.find("--") != std::string_view::npos) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

} // namespace

Result<std::unique_ptr<Queue>> openQueue(const BackendSpec& spec, const QueueConfig& config,
                                         const BackendContext& context) {
  static const std::set<std::string> keys = {"account",         "queue",         "endpoint",
                                             "spill_container", "blob_endpoint", "create"};
  for (const auto& [key, value] : spec.params) {
    if (keys.count(key) == 0) {
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("azure.queue: unknown key \"{}\" (account, queue, endpoint, "
                              "spill_container, blob_endpoint, create)",
                              key));
    }
  }
  const std::string account = spec.param("account");
  std::string queue = spec.param("queue");
  if (account.empty() || queue.empty()) {
    return fail(ErrorCode::kInvalidArgument, "azure.queue: account and queue are required");
  }
  const std::string create = spec.param("create");
  if (!create.empty() && create != "true" && create != "false") {
    return fail(ErrorCode::kInvalidArgument, "azure.queue: create is true or false");
  }
  if (context.cloud == nullptr) {
    return fail(ErrorCode::kInternal, "azure.queue: the host gave no HTTP client and credentials");
  }
  Result<const azure::Credentials*> credentials = context.cloud->azureCredentials();
  if (!credentials) return tl::unexpected(credentials.error());
  std::string endpoint = spec.param("endpoint");
  if (endpoint.empty())
    endpoint = azure::defaultEndpointUrl(account, azure::StorageService::kQueue);
  std::string blob_endpoint = spec.param("blob_endpoint");
  if (blob_endpoint.empty()) blob_endpoint = blobEndpointFor(endpoint);
  // The dead-letter queue of binding "orders" is opened as "orders-dlq" with the binding's
  // spec: the Azure queue named after the spec's with the same suffix.
  if (config.name != context.binding && config.name.starts_with(context.binding)) {
    const std::string suffix = config.name.substr(context.binding.size());
    if (!queue.ends_with(suffix)) queue += suffix;
  }
  std::string spill = spec.param("spill_container");
  if (spill.empty() || queue != spec.param("queue")) spill = queue + "-spill";
  for (const std::string& name : {queue, spill}) {
    if (!validName(name)) {
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("azure.queue: \"{}\" is not a valid Azure queue or container name "
                              "(3-63 lower-case letters, digits and hyphens)",
                              name));
    }
  }
  auto core = std::make_shared<Core>();
  core->queues = std::make_unique<StorageApi>(
      context.cloud->http(), **credentials,
      azure::Endpoint{endpoint, account, azure::StorageService::kQueue});
  core->blobs = std::make_unique<StorageApi>(
      context.cloud->http(), **credentials,
      azure::Endpoint{blob_endpoint, account, azure::StorageService::kBlob});
  core->queue = queue;
  core->spill_container = spill;
  core->config = config;
  core->scheduler = context.scheduler;
  const std::string url = core->queues->endpoint().url + "/" + queue;
  core->dedup_key = url;
  core->tag = local::fromHex(aws::sha256Hex(url).substr(0, kTagBytes * 2))
                  .value_or(std::string(kTagBytes, '\0'));
  const bool creating = create == "true";
  if (auto ok = ensureQueue(*core->queues, queue, creating); !ok) return tl::unexpected(ok.error());
  if (config.options.dead_letter_after) {
    core->dead_letter = queue + "-dlq";
    if (auto ok = ensureQueue(*core->queues, core->dead_letter, creating); !ok) {
      return tl::unexpected(ok.error());
    }
  }
  if (creating) {
    if (auto ok = ensureContainer(*core->blobs, spill); !ok) return tl::unexpected(ok.error());
  }
  Result<std::shared_ptr<DedupWindow>> dedup =
      DedupWindow::open(context.data_dir / context.binding / "azure-queue-dedup.sqlite");
  if (!dedup) return tl::unexpected(dedup.error());
  core->dedup = std::move(*dedup);
  std::string location = context.regionOn("azure");
  if (location.empty()) location = account;
  return std::make_unique<AzureQueue>(std::move(core), std::move(location));
}

} // namespace exoflow::backend::azure_queue
