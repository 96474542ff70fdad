// Queue routes (API.md, "Queues"): send, receive with long polling, delete, change visibility,
// queue info and the list of queues.
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "proxy/api_internal.h"
#include "proxy/validation.h"

namespace exoflow::proxy {

namespace {

using nlohmann::json;

constexpr int kMaxBatch = 10;
constexpr std::size_t kMaxAttributes = 10;
constexpr std::size_t kMaxDedupId = 128;
constexpr int kMaxVisibility = 43200;
constexpr int kMaxWait = 20;
/// Per message, what a send body may hold besides the body's own JSON text (which escaping
/// can make up to 4 times its UTF-8 size, e.g. "\u00e9" for é): attributes, ids, syntax.
constexpr std::uint64_t kMessageOverhead = 64ULL * 1024;

std::string dump(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

tl::unexpected<Error> invalid(std::string message) {
  return fail(ErrorCode::kInvalidArgument, std::move(message));
}

Result<backend::OutgoingMessage> readMessage(const json& item, std::size_t index,
                                             std::uint64_t max_size) {
  if (!item.is_object()) return invalid(fmt::format("messages[{}] must be an object", index));
  backend::OutgoingMessage message;
  auto body = item.find("body");
  if (body == item.end() || !body->is_string()) {
    return invalid(fmt::format("messages[{}].body must be a string", index));
  }
  message.body = body->get<std::string>();
  if (auto ok = checkMessageBody(message.body, max_size); !ok) {
    return fail(ok.error().code, fmt::format("messages[{}]: {}", index, ok.error().message));
  }
  if (auto attributes = item.find("attributes");
      attributes != item.end() && !attributes->is_null()) {
    if (!attributes->is_object()) {
      return invalid(fmt::format("messages[{}].attributes must be an object", index));
    }
    if (attributes->size() > kMaxAttributes) {
      return invalid(fmt::format("messages[{}] has {} attributes; at most {} are allowed", index,
                                 attributes->size(), kMaxAttributes));
    }
    for (const auto& [name, value] : attributes->items()) {
      if (auto ok = checkAttributeName(name); !ok) {
        return invalid(fmt::format("messages[{}]: {}", index, ok.error().message));
      }
      if (!value.is_string()) {
        return invalid(fmt::format("messages[{}].attributes.{} must be a string", index, name));
      }
      message.attributes[name] = value.get<std::string>();
    }
  }
  if (auto dedup = item.find("dedup_id"); dedup != item.end() && !dedup->is_null()) {
    const bool ok = dedup->is_string() && !dedup->get_ref<const std::string&>().empty() &&
                    dedup->get_ref<const std::string&>().size() <= kMaxDedupId;
    if (!ok) {
      return invalid(
          fmt::format("messages[{}].dedup_id must be a string of 1..{} bytes", index, kMaxDedupId));
    }
    message.dedup_id = dedup->get<std::string>();
  }
  return message;
}

Result<std::vector<backend::OutgoingMessage>> readBatch(const std::string& body,
                                                        std::uint64_t max_size) {
  const json doc = json::parse(body, nullptr, false);
  if (doc.is_discarded()) return invalid("the body is not valid JSON");
  if (!doc.is_object()) return invalid("the body must be an object with \"messages\"");
  auto messages = doc.find("messages");
  if (messages == doc.end() || !messages->is_array()) {
    return invalid("\"messages\" must be a list of 1..10 messages");
  }
  if (messages->empty() || messages->size() > kMaxBatch) {
    return invalid(fmt::format("a send takes 1..{} messages; got {}", kMaxBatch, messages->size()));
  }
  std::vector<backend::OutgoingMessage> batch;
  for (std::size_t i = 0; i < messages->size(); ++i) {
    auto message = readMessage((*messages)[i], i, max_size);
    if (!message) return tl::unexpected(message.error());
    batch.push_back(std::move(*message));
  }
  return batch;
}

void send(const ExchangePtr& ex, const QueueEntry& queue, const std::string& body) {
  auto batch = readBatch(body, queue.binding->queue.max_message_size);
  if (!batch) {
    ex->replyError(batch.error());
    return;
  }
  const auto reply = [ex](Result<std::vector<std::string>> ids) {
    if (!ids) {
      ex->replyError(ids.error());
      return;
    }
    json out = {{"messages", json::array()}};
    for (const std::string& id : *ids)
      out["messages"].push_back({{"message_id", id}});
    ex->reply(jsonResponse(200, dump(out)));
  };
  if (ex->fromPeer()) { // a peer's request: this side's own backend, never a failover to a peer
    backend::Queue& own = servingBackend(queue, *ex);
    ex->servedBy(own.describe());
    own.send(std::move(*batch), reply);
    return;
  }
  ex->servedBy(queue.active().describe());
  queue.failover->sendVia(std::move(*batch), reply,
                          [ex](std::string backend) { ex->servedBy(std::move(backend)); });
}

void receive(const ExchangePtr& ex, const QueueEntry& queue) {
  backend::ReceiveRequest request;
  auto max = ex->query().integer("max", 1, kMaxBatch, 1);
  auto wait = ex->query().integer("wait", 0, kMaxWait, 0);
  auto visibility = ex->query().integer("visibility", 0, kMaxVisibility, -1);
  for (const auto* r : {&max, &wait, &visibility}) {
    if (!*r) {
      ex->replyError(r->error());
      return;
    }
  }
  request.max = *max;
  request.wait = std::chrono::seconds(*wait);
  if (*visibility >= 0) request.visibility = std::chrono::seconds(*visibility);
  ex->servedBy(servingBackend(queue, *ex).describe());
  servingBackend(queue, *ex)
      .receive(request, [ex](Result<std::vector<backend::ReceivedMessage>> got) {
        if (!got) {
          ex->replyError(got.error());
          return;
        }
        json out = {{"messages", json::array()}};
        for (const backend::ReceivedMessage& m : *got) {
          json attributes = json::object();
          for (const auto& [name, value] : m.attributes)
            attributes[name] = value;
          out["messages"].push_back({{"message_id", m.message_id},
                                     {"receipt", m.receipt},
                                     {"body", m.body},
                                     {"attributes", std::move(attributes)},
                                     {"receive_count", m.receive_count}});
        }
        ex->reply(jsonResponse(200, dump(out)));
      });
}

void changeVisibility(const ExchangePtr& ex, const QueueEntry& queue, const std::string& body) {
  const json doc = json::parse(body, nullptr, false);
  auto field = doc.is_object() ? doc.find("visibility") : doc.end();
  const bool ok = doc.is_object() && field != doc.end() && field->is_number_integer() &&
                  field->get<std::int64_t>() >= 0 && field->get<std::int64_t>() <= kMaxVisibility;
  if (!ok) {
    ex->replyError(
        {ErrorCode::kInvalidArgument,
         fmt::format("the body must be {{\"visibility\": 0..{}}} (seconds)", kMaxVisibility)});
    return;
  }
  ex->servedBy(servingBackend(queue, *ex).describe());
  servingBackend(queue, *ex)
      .changeVisibility(ex->route().rest, std::chrono::seconds(field->get<int>()),
                        [ex](Result<void> done) {
                          if (!done) {
                            ex->replyError(done.error());
                            return;
                          }
                          ex->reply(emptyResponse(204));
                        });
}

void removeMessage(const ExchangePtr& ex, const QueueEntry& queue) {
  ex->servedBy(servingBackend(queue, *ex).describe());
  servingBackend(queue, *ex).remove(ex->route().rest, [ex](Result<void> done) {
    if (!done) {
      ex->replyError(done.error());
      return;
    }
    ex->reply(emptyResponse(204));
  });
}

/// The body of a batch delete: {"receipts": ["...", ...]}, 1..10 strings.
Result<std::vector<std::string>> readReceipts(const std::string& body) {
  const json doc = json::parse(body, nullptr, false);
  if (doc.is_discarded()) return invalid("the body is not valid JSON");
  auto receipts = doc.is_object() ? doc.find("receipts") : doc.end();
  if (!doc.is_object() || receipts == doc.end() || !receipts->is_array()) {
    return invalid("the body must be {\"receipts\": [...]} with 1..10 receipts");
  }
  if (receipts->empty() || receipts->size() > kMaxBatch) {
    return invalid(
        fmt::format("a batch delete takes 1..{} receipts; got {}", kMaxBatch, receipts->size()));
  }
  std::vector<std::string> out;
  out.reserve(receipts->size());
  for (std::size_t i = 0; i < receipts->size(); ++i) {
    const json& receipt = (*receipts)[i];
    if (!receipt.is_string() || receipt.get_ref<const std::string&>().empty()) {
      return invalid(fmt::format("receipts[{}] must be a non-empty string", i));
    }
    out.push_back(receipt.get<std::string>());
  }
  return out;
}

void removeMessages(const ExchangePtr& ex, const QueueEntry& queue, const std::string& body) {
  auto receipts = readReceipts(body);
  if (!receipts) {
    ex->replyError(receipts.error());
    return;
  }
  ex->servedBy(servingBackend(queue, *ex).describe());
  servingBackend(queue, *ex)
      .removeBatch(*receipts,
                   [ex, receipts = *receipts](Result<std::vector<Result<void>>> removed) {
                     if (!removed) {
                       ex->replyError(removed.error());
                       return;
                     }
                     json results = json::array();
                     for (std::size_t i = 0; i < removed->size(); ++i) {
                       const Result<void>& one = (*removed)[i];
                       json entry = {{"receipt", i < receipts.size() ? receipts[i] : std::string()},
                                     {"status", one ? 204 : httpStatus(one.error().code)}};
                       if (!one) {
                         entry["error"] = {{"code", errorCodeName(one.error().code)},
                                           {"message", one.error().message}};
                       }
                       results.push_back(std::move(entry));
                     }
                     ex->reply(jsonResponse(200, dump(json{{"results", std::move(results)}})));
                   });
}

void info(const ExchangePtr& ex, const QueueEntry& queue) {
  const std::string backend = servingBackend(queue, *ex).describe();
  ex->servedBy(backend);
  servingBackend(queue, *ex)
      .stats([ex, name = queue.name, backend](Result<backend::QueueStats> stats) {
        if (!stats) {
          ex->replyError(stats.error());
          return;
        }
        const json out = {{"name", name},
                          {"approximate_messages", stats->approximate_messages},
                          {"approximate_in_flight", stats->approximate_in_flight},
                          {"backend", backend}};
        ex->reply(jsonResponse(200, dump(out)));
      });
}

Plan listQueues(const ExchangePtr& ex) {
  json names = json::array();
  std::set<std::string> backends;
  for (const auto& [name, queue] : ex->state().bindings.queues()) {
    names.push_back(name);
    const backend::Queue* serving = ex->fromPeer() ? queue.forPeers() : &queue.active();
    if (serving != nullptr) backends.insert(serving->describe());
  }
  std::string backend;
  for (const std::string& b : backends)
    backend += (backend.empty() ? "" : ", ") + b;
  ex->servedBy(backend);
  return ex->rejectWith(jsonResponse(200, dump(json{{"queues", std::move(names)}})));
}

} // namespace

Plan planQueues(const ExchangePtr& ex, const RequestHead& head) {
  const Route& route = ex->route();
  if (route.kind == RouteKind::kQueues) return listQueues(ex);
  const QueueEntry* queue = ex->state().bindings.queue(route.name);
  if (queue == nullptr) {
    if (!isServiceName(route.name)) {
      return ex->reject({ErrorCode::kInvalidArgument,
                         fmt::format("{} is not a valid queue name", jsonString(route.name))});
    }
    return ex->reject({ErrorCode::kNotFound, fmt::format("no queue named \"{}\"", route.name)});
  }
  ex->service(queue->name);
  if (auto refused = peerRefusal(*queue, *ex)) return ex->reject(*refused);
  switch (route.kind) {
  case RouteKind::kQueue:
    return ex->then(kIgnoredBodyLimit, [ex, queue](std::string) { info(ex, *queue); });
  case RouteKind::kMessages:
    if (head.method == "POST") {
      const std::uint64_t limit =
          kMaxBatch * (4 * queue->binding->queue.max_message_size + kMessageOverhead);
      return ex->then(limit, [ex, queue](std::string body) { send(ex, *queue, body); });
    }
    return ex->then(kIgnoredBodyLimit, [ex, queue](std::string) { receive(ex, *queue); });
  case RouteKind::kMessage:
    if (head.method == "DELETE") {
      return ex->then(kIgnoredBodyLimit, [ex, queue](std::string) { removeMessage(ex, *queue); });
    }
    return ex->then(kIgnoredBodyLimit,
                    [ex, queue](std::string body) { changeVisibility(ex, *queue, body); });
  case RouteKind::kMessageDeletes: {
    // Receipts are short: 10 of them with JSON syntax fit well within 64 KiB.
    constexpr std::uint64_t kDeletesLimit = 64ULL * 1024;
    return ex->then(kDeletesLimit,
                    [ex, queue](std::string body) { removeMessages(ex, *queue, body); });
  }
  default:
    return ex->reject({ErrorCode::kNotFound, "no such route"});
  }
}

} // namespace exoflow::proxy
