// Key-value routes (API.md, "Key-value tables"): PUT with JSON validation and conditions, GET
// with ETag, DELETE with If-Match, list. Values pass through as text: re-serializing them would
// lose digits of big numbers.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "proxy/api_internal.h"
#include "proxy/validation.h"

namespace exoflow::proxy {

namespace {

using nlohmann::json;

constexpr std::size_t kMaxKey = 512;
constexpr std::uint64_t kMaxValue = 256ULL * 1024;

std::string quoteVersion(const std::string& version) {
  return "\"" + version + "\"";
}

/// The If-Match of a request, unquoted; kInvalidArgument for "*" or a malformed value.
Result<std::optional<std::string>> ifMatch(const RequestHead& head) {
  auto header = head.header("if-match");
  if (!header) return std::optional<std::string>();
  if (*header == "*") {
    return fail(ErrorCode::kInvalidArgument, "If-Match takes a version, not *");
  }
  auto version = unquoteVersion(*header);
  if (!version) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("If-Match {} is not a version", jsonString(*header)));
  }
  return version;
}

Plan putItem(const ExchangePtr& ex, const KvEntry* entry, const RequestHead& head) {
  backend::KvPutRequest request;
  request.key = ex->route().rest;
  auto if_match = ifMatch(head);
  if (!if_match) return ex->reject(if_match.error());
  request.if_match = *if_match;
  if (auto none = head.header("if-none-match")) {
    if (*none != "*") {
      return ex->reject({ErrorCode::kInvalidArgument, "a PUT takes only If-None-Match: *"});
    }
    request.if_none_match_star = true;
  }
  if (request.if_match && request.if_none_match_star) {
    return ex->reject({ErrorCode::kInvalidArgument, "give If-Match or If-None-Match: *, not both"});
  }
  return ex->then(kMaxValue, [ex, entry, request = std::move(request)](std::string body) mutable {
    if (!json::accept(body)) {
      return ex->replyError({ErrorCode::kInvalidArgument, "the body is not valid JSON"});
    }
    request.value = std::move(body);
    ex->servedBy(servingBackend(*entry, *ex).describe());
    servingBackend(*entry, *ex).put(std::move(request), [ex](Result<std::string> version) {
      if (!version) return ex->replyError(version.error());
      Response response = jsonResponse(200, json{{"version", *version}}.dump());
      response.header("ETag", quoteVersion(*version));
      ex->reply(std::move(response));
    });
  });
}

void getItem(const ExchangePtr& ex, const KvEntry* entry) {
  servingBackend(*entry, *ex).get(ex->route().rest, [ex](Result<backend::KvItem> item) {
    if (!item) return ex->replyError(item.error());
    Response response = jsonResponse(200, std::move(item->value));
    response.header("ETag", quoteVersion(item->version));
    ex->reply(std::move(response));
  });
}

void listItems(const ExchangePtr& ex, const KvEntry* entry) {
  auto prefix = ex->query().text("prefix");
  auto cursor = ex->query().text("cursor");
  auto limit = ex->query().integer("limit", 1, 1000, 1000);
  if (!prefix) return ex->replyError(prefix.error());
  if (!cursor) return ex->replyError(cursor.error());
  if (!limit) return ex->replyError(limit.error());
  backend::KvListRequest request{*prefix, *limit, *cursor};
  servingBackend(*entry, *ex).list(std::move(request), [ex](Result<backend::KvListResult> listed) {
    if (!listed) return ex->replyError(listed.error());
    // Built as text: each value is embedded exactly as stored.
    std::string out = R"({"items":[)";
    for (std::size_t i = 0; i < listed->items.size(); ++i) {
      const backend::KvItem& item = listed->items[i];
      out += fmt::format(R"({}{{"key":{},"value":{},"version":{}}})", i == 0 ? "" : ",",
                         jsonString(item.key), item.value, jsonString(item.version));
    }
    out += R"(],"next_cursor":)";
    out += listed->next_cursor ? jsonString(*listed->next_cursor) : "null";
    out += "}";
    ex->reply(jsonResponse(200, std::move(out)));
  });
}

} // namespace

Plan planKv(const ExchangePtr& ex, const RequestHead& head) {
  const Route& route = ex->route();
  const KvEntry* entry = ex->state().bindings.kv(route.name);
  if (entry == nullptr) {
    if (!isServiceName(route.name)) {
      return ex->reject({ErrorCode::kInvalidArgument,
                         fmt::format("{} is not a valid table name", jsonString(route.name))});
    }
    return ex->reject({ErrorCode::kNotFound, fmt::format("no table named \"{}\"", route.name)});
  }
  ex->service(route.name);
  if (auto refused = peerRefusal(*entry, *ex)) return ex->reject(*refused);
  if (route.kind == RouteKind::kItems) {
    ex->servedBy(servingBackend(*entry, *ex).describe());
    return ex->then(kIgnoredBodyLimit, [ex, entry](std::string) { listItems(ex, entry); });
  }
  if (auto ok = checkKey(route.rest, kMaxKey, "item key"); !ok) return ex->reject(ok.error());
  if (head.method == "PUT") return putItem(ex, entry, head);
  ex->servedBy(servingBackend(*entry, *ex).describe());
  if (head.method == "DELETE") {
    auto if_match = ifMatch(head);
    if (!if_match) return ex->reject(if_match.error());
    return ex->then(kIgnoredBodyLimit, [ex, entry, version = *if_match](std::string) {
      servingBackend(*entry, *ex).remove(ex->route().rest, version, [ex](Result<void> done) {
        if (!done) return ex->replyError(done.error());
        ex->reply(emptyResponse(204));
      });
    });
  }
  return ex->then(kIgnoredBodyLimit, [ex, entry](std::string) { getItem(ex, entry); });
}

} // namespace exoflow::proxy
