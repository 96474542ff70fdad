// The queue routes of the Client: /v1/queues/...

#include <algorithm>

#include "client/client_impl.h"
#include "client/response.h"

namespace exoflow::client {

using detail::decodeJson;
using detail::resourcePath;
using nlohmann::json;

namespace {

std::string messagesPath(std::string_view queue) {
  return resourcePath("queues", queue) + "/messages";
}

std::string messagePath(std::string_view queue, std::string_view receipt) {
  return messagesPath(queue) + "/" + detail::encodePathSegment(receipt);
}

// The JSON body of a send; invalid UTF-8 is the caller's mistake (kInvalidArgument).
Result<std::string> encodeSend(const std::vector<OutgoingMessage>& messages) {
  json list = json::array();
  for (const OutgoingMessage& message : messages) {
    json entry = {{"body", message.body}};
    if (!message.attributes.empty()) entry["attributes"] = message.attributes;
    if (message.dedup_id) entry["dedup_id"] = *message.dedup_id;
    list.push_back(std::move(entry));
  }
  try {
    return json{{"messages", std::move(list)}}.dump();
  } catch (const json::exception& e) {
    return fail(ErrorCode::kInvalidArgument,
                std::string("message is not valid UTF-8: ") + e.what());
  }
}

ReceivedMessage decodeMessage(const json& entry) {
  ReceivedMessage message;
  message.message_id = entry.at("message_id").get<std::string>();
  message.receipt = entry.at("receipt").get<std::string>();
  message.body = entry.at("body").get<std::string>();
  if (const auto attributes = entry.find("attributes");
      attributes != entry.end() && !attributes->is_null()) {
    message.attributes = attributes->get<std::map<std::string, std::string>>();
  }
  message.receive_count = entry.value("receive_count", 0);
  return message;
}

} // namespace

Result<std::vector<std::string>>
Client::sendMessages(std::string_view queue, const std::vector<OutgoingMessage>& messages) {
  Result<std::string> body = encodeSend(messages);
  if (!body) return tl::unexpected(body.error());
  detail::HttpRequest request = impl_->request("POST", messagesPath(queue));
  request.headers.push_back({"Content-Type", "application/json"});
  request.has_body = true;
  request.body = *body;
  auto response = impl_->call(request);
  if (!response) return tl::unexpected(response.error());
  return decodeJson<std::vector<std::string>>(*response, [](const json& reply) {
    std::vector<std::string> ids;
    for (const json& entry : reply.at("messages")) {
      ids.push_back(entry.at("message_id").get<std::string>());
    }
    return ids;
  });
}

Result<std::string> Client::sendMessage(std::string_view queue, const OutgoingMessage& message) {
  Result<std::vector<std::string>> ids = sendMessages(queue, {message});
  if (!ids) return tl::unexpected(ids.error());
  if (ids->size() != 1) {
    return fail(ErrorCode::kProtocolError,
                "expected 1 message id, got " + std::to_string(ids->size()));
  }
  return std::move(ids->front());
}

Result<std::vector<ReceivedMessage>> Client::receiveMessages(std::string_view queue,
                                                             const ReceiveOptions& options) {
  detail::QueryBuilder query;
  query.add("max", std::to_string(options.max_messages));
  query.add("wait", std::to_string(options.wait.count()));
  if (options.visibility) query.add("visibility", std::to_string(options.visibility->count()));
  detail::HttpRequest request = impl_->request("GET", messagesPath(queue) + query.str());
  // A receive is not idempotent in effect (it hides what it returns), so a broken connection
  // is not retried once the request may have reached the server.
  request.resendable = false;
  if (options.wait.count() > 0) {
    request.header_timeout =
        std::max(impl_->options().request_timeout,
                 std::chrono::duration_cast<std::chrono::milliseconds>(options.wait) +
                     impl_->options().long_poll_margin);
  }
  auto response = impl_->call(request);
  if (!response) return tl::unexpected(response.error());
  return decodeJson<std::vector<ReceivedMessage>>(*response, [](const json& reply) {
    std::vector<ReceivedMessage> messages;
    for (const json& entry : reply.at("messages"))
      messages.push_back(decodeMessage(entry));
    return messages;
  });
}

Result<void> Client::deleteMessage(std::string_view queue, std::string_view receipt) {
  auto response = impl_->call(impl_->request("DELETE", messagePath(queue, receipt)), {204, 200});
  if (!response) return tl::unexpected(response.error());
  return {};
}

Result<std::vector<Result<void>>> Client::deleteMessages(std::string_view queue,
                                                         const std::vector<std::string>& receipts) {
  // A receipt that is not UTF-8 cannot name a delivery: replaced, it answers NotFound.
  const std::string body = // request.body is a view of it
      json{{"receipts", receipts}}.dump(-1, ' ', false, json::error_handler_t::replace);
  detail::HttpRequest request = impl_->request("POST", messagesPath(queue) + "/delete");
  request.headers.push_back({"Content-Type", "application/json"});
  request.has_body = true;
  request.body = body;
  auto response = impl_->call(request);
  if (!response) return tl::unexpected(response.error());
  const std::string* backend = response->header("x-exo-backend");
  const std::string* request_id = response->header("x-exo-request-id");
  return decodeJson<std::vector<Result<void>>>(*response, [&](const json& reply) {
    std::vector<Result<void>> results;
    for (const json& entry : reply.at("results")) {
      const int status = entry.at("status").get<int>();
      if (status >= 200 && status < 300) {
        results.emplace_back();
        continue;
      }
      // The entry's error reads like a whole response's: {"error": {...}}.
      Error error = detail::errorFromBody(status, json{{"error", entry.at("error")}}.dump(),
                                          request_id != nullptr ? *request_id : std::string(),
                                          backend != nullptr ? *backend : std::string());
      results.emplace_back(tl::unexpected(std::move(error)));
    }
    if (results.size() != receipts.size()) {
      throw json::other_error::create(501, "one result per receipt expected", &reply);
    }
    return results;
  });
}

Result<void> Client::changeVisibility(std::string_view queue, std::string_view receipt,
                                      std::chrono::seconds visibility) {
  const std::string body = json{{"visibility", visibility.count()}}.dump();
  detail::HttpRequest request = impl_->request("PATCH", messagePath(queue, receipt));
  request.headers.push_back({"Content-Type", "application/json"});
  request.has_body = true;
  request.body = body;
  auto response = impl_->call(request, {204, 200});
  if (!response) return tl::unexpected(response.error());
  return {};
}

Result<QueueInfo> Client::queueInfo(std::string_view queue) {
  auto response = impl_->call(impl_->request("GET", resourcePath("queues", queue)));
  if (!response) return tl::unexpected(response.error());
  return decodeJson<QueueInfo>(*response, [](const json& reply) {
    QueueInfo info;
    info.name = reply.at("name").get<std::string>();
    info.approximate_messages = reply.value("approximate_messages", std::int64_t{0});
    info.approximate_in_flight = reply.value("approximate_in_flight", std::int64_t{0});
    info.backend = detail::optionalString(reply, "backend");
    return info;
  });
}

Result<std::vector<std::string>> Client::listQueues() {
  auto response = impl_->call(impl_->request("GET", "/v1/queues"));
  if (!response) return tl::unexpected(response.error());
  return decodeJson<std::vector<std::string>>(*response, [](const json& reply) {
    return reply.at("queues").get<std::vector<std::string>>();
  });
}

} // namespace exoflow::client
