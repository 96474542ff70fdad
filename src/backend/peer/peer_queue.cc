// The peer Queue: each call is the Exo API's queue call at the peer.

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "backend/json_fields.h"
#include "backend/peer/peer_link.h"

namespace exoflow::backend::peer {
namespace {

using nlohmann::json;

/// A JSON body or kUnavailable (the answer is not the API's).
Result<json> parseBody(const net::HttpResponse& response) {
  auto body = json::parse(response.body, nullptr, false);
  if (!body.is_object()) {
    return fail(ErrorCode::kUnavailable, "peer: the answer is not a JSON object");
  }
  return body;
}

Attributes attributesOf(const json& j) {
  Attributes out;
  if (!j.is_object()) return out;
  for (const auto& [name, value] : j.items()) {
    if (value.is_string()) out.emplace(name, value.get<std::string>());
  }
  return out;
}

class PeerQueue final : public Queue {
public:
  explicit PeerQueue(Link link) : link_(std::move(link)) {}

  std::string describe() const override { return link_.describe(); }

  /// What the API promises for every queue; dead-lettering and order are the far binding's
  /// settings, which this side cannot see, so they are not claimed.
  QueueFeatures features() const override {
    return {QueueFeature::kLongPolling, QueueFeature::kDedup, QueueFeature::kAttributes,
            QueueFeature::kVisibilityChange};
  }

  void send(std::vector<OutgoingMessage> batch, Done<std::vector<std::string>> done) override {
    json messages = json::array();
    for (OutgoingMessage& m : batch) {
      json entry = {{"body", std::move(m.body)}, {"attributes", json::object()}};
      for (auto& [name, value] : m.attributes)
        entry["attributes"][name] = value;
      if (m.dedup_id) entry["dedup_id"] = *m.dedup_id;
      messages.push_back(std::move(entry));
    }
    net::HttpRequest request = link_.request("POST", "/messages");
    request.headers.emplace_back("Content-Type", "application/json");
    // Bodies were checked as UTF-8 already; replacing never throws where a check was missed.
    request.body = json{{"messages", std::move(messages)}}.dump(-1, ' ', false,
                                                                json::error_handler_t::replace);
    const std::size_t count = batch.size();
    link_.send(std::move(request), [count, done = std::move(done)](auto answer) {
      if (!answer) return done(tl::unexpected(answer.error()));
      if (answer->status != 200) return done(tl::unexpected(answerError(*answer)));
      auto body = parseBody(*answer);
      if (!body) return done(tl::unexpected(body.error()));
      std::vector<std::string> ids;
      for (const json& m : json_fields::member(*body, "messages"))
        ids.push_back(json_fields::text(m, "message_id"));
      if (ids.size() != count) {
        return done(fail(ErrorCode::kUnavailable,
                         fmt::format("peer: {} message ids for {} messages", ids.size(), count)));
      }
      done(std::move(ids));
    });
  }

  void receive(ReceiveRequest r, Done<std::vector<ReceivedMessage>> done) override {
    std::string query = fmt::format("/messages?max={}&wait={}", r.max, r.wait.count());
    if (r.visibility) query += fmt::format("&visibility={}", r.visibility->count());
    net::HttpRequest request = link_.request("GET", query);
    // Not sent twice: a receive that reached the peer has made its messages invisible.
    request.idempotent = false;
    request.extra_time = r.wait;
    link_.send(std::move(request), [done = std::move(done)](auto answer) {
      if (!answer) return done(tl::unexpected(answer.error()));
      if (answer->status != 200) return done(tl::unexpected(answerError(*answer)));
      auto body = parseBody(*answer);
      if (!body) return done(tl::unexpected(body.error()));
      std::vector<ReceivedMessage> out;
      for (const json& m : json_fields::member(*body, "messages")) {
        ReceivedMessage message;
        message.message_id = json_fields::text(m, "message_id");
        message.receipt = json_fields::text(m, "receipt");
        message.body = json_fields::text(m, "body");
        message.attributes = attributesOf(json_fields::member(m, "attributes"));
        const json& count = json_fields::member(m, "receive_count");
        message.receive_count = count.is_number_integer() ? count.get<int>() : 0;
        out.push_back(std::move(message));
      }
      done(std::move(out));
    });
  }

  void remove(std::string receipt, Done<void> done) override {
    net::HttpRequest request = link_.request("DELETE", "/messages/" + encodeSegment(receipt));
    request.idempotent = true; // deleting again is harmless (API.md)
    link_.send(std::move(request), [done = std::move(done)](auto answer) {
      if (!answer) return done(tl::unexpected(answer.error()));
      if (answer->status != 204) return done(tl::unexpected(answerError(*answer)));
      done(Result<void>{});
    });
  }

  void changeVisibility(std::string receipt, std::chrono::seconds visibility,
                        Done<void> done) override {
    net::HttpRequest request = link_.request("PATCH", "/messages/" + encodeSegment(receipt));
    request.headers.emplace_back("Content-Type", "application/json");
    request.body = json{{"visibility", visibility.count()}}.dump();
    link_.send(std::move(request), [done = std::move(done)](auto answer) {
      if (!answer) return done(tl::unexpected(answer.error()));
      if (answer->status != 204) return done(tl::unexpected(answerError(*answer)));
      done(Result<void>{});
    });
  }

  void stats(Done<QueueStats> done) override {
    link_.send(link_.request("GET", ""), [done = std::move(done)](auto answer) {
      if (!answer) return done(tl::unexpected(answer.error()));
      if (answer->status != 200) return done(tl::unexpected(answerError(*answer)));
      auto body = parseBody(*answer);
      if (!body) return done(tl::unexpected(body.error()));
      QueueStats stats;
      const json& visible = json_fields::member(*body, "approximate_messages");
      const json& in_flight = json_fields::member(*body, "approximate_in_flight");
      if (visible.is_number_integer()) stats.approximate_messages = visible.get<std::int64_t>();
      if (in_flight.is_number_integer()) {
        stats.approximate_in_flight = in_flight.get<std::int64_t>();
      }
      done(stats);
    });
  }

private:
  Link link_;
};

} // namespace

Result<std::unique_ptr<Queue>> openQueue(const BackendSpec& spec, const QueueConfig& config,
                                         const BackendContext& context) {
  // A dead-letter queue ("orders-dlq") is the far binding's dead-letter queue.
  std::string name = spec.param("name").empty() ? context.binding : spec.param("name");
  if (config.name != context.binding && config.name.starts_with(context.binding)) {
    name += config.name.substr(context.binding.size());
  }
  auto link = Link::open(spec, "queues", name, context);
  if (!link) return tl::unexpected(link.error());
  return std::make_unique<PeerQueue>(std::move(*link));
}

} // namespace exoflow::backend::peer
