// The key-value routes of the Client: /v1/tables/{table}/items/...
//
// Values travel as JSON text. A listing is split with the raw scanner (json_scan.h) rather
// than parsed, so each value comes back exactly as the server wrote it: a number with more
// digits than a double holds keeps every digit.

#include "client/client_impl.h"
#include "client/json_scan.h"
#include "client/response.h"

namespace exoflow::client {

using detail::HttpRequest;
using detail::RawMember;

namespace {

std::string itemsPath(std::string_view table) {
  return detail::resourcePath("tables", table) + "/items";
}

std::string itemPath(std::string_view table, std::string_view key) {
  return itemsPath(table) + "/" + detail::encodePathSegment(key);
}

tl::unexpected<Error> badReply(const detail::HttpResponse& response, std::string why) {
  Error error;
  error.code = ErrorCode::kProtocolError;
  error.message = "unexpected kv response: " + why;
  error.http_status = response.status;
  if (const std::string* id = response.header("x-exo-request-id")) error.request_id = *id;
  return tl::unexpected(std::move(error));
}

// Decodes one `{"key", "value", "version"}` of a listing; false when it is malformed.
bool decodeItem(std::string_view raw, KvItem& item) {
  std::vector<RawMember> members;
  if (!detail::splitObject(raw, members)) return false;
  bool has_key = false;
  bool has_value = false;
  for (const RawMember& member : members) {
    if (member.name == "key") {
      has_key = detail::decodeString(member.value, item.key);
      if (!has_key) return false;
    } else if (member.name == "value") {
      item.value = std::string(member.value);
      has_value = true;
    } else if (member.name == "version") {
      if (!detail::decodeString(member.value, item.version)) return false;
    }
  }
  return has_key && has_value;
}

} // namespace

Result<std::string> Client::putItem(std::string_view table, std::string_view key,
                                    std::string_view json_value, const PutItemOptions& options) {
  if (options.if_match && options.if_none_match_any) {
    return fail(ErrorCode::kInvalidArgument, "if_match and if_none_match_any exclude each other");
  }
  HttpRequest request = impl_->request("PUT", itemPath(table, key));
  request.headers.push_back({"Content-Type", "application/json"});
  request.has_body = true;
  request.body = json_value;
  if (options.if_match) {
    request.headers.push_back({"If-Match", detail::quoteEtag(*options.if_match)});
  }
  if (options.if_none_match_any) request.headers.push_back({"If-None-Match", "*"});
  // Sent twice, a conditional put would fail its own condition; never re-send it.
  request.resendable = !options.if_match && !options.if_none_match_any;
  auto response = impl_->call(request, {200, 201});
  if (!response) return tl::unexpected(response.error());
  Result<std::string> version =
      detail::decodeJson<std::string>(*response, [](const nlohmann::json& reply) {
        return detail::optionalString(reply, "version");
      });
  if (!version) return version;
  if (const std::string* etag = response->header("etag"); version->empty() && etag) {
    *version = detail::unquoteEtag(*etag);
  }
  if (version->empty()) return badReply(*response, "the put answered no version");
  return version;
}

Result<KvItem> Client::getItem(std::string_view table, std::string_view key) {
  auto response = impl_->call(impl_->request("GET", itemPath(table, key)));
  if (!response) return tl::unexpected(response.error());
  KvItem item;
  item.key = std::string(key);
  item.value = std::move(response->body);
  if (const std::string* etag = response->header("etag")) item.version = detail::unquoteEtag(*etag);
  return item;
}

Result<void> Client::deleteItem(std::string_view table, std::string_view key,
                                std::optional<std::string> if_match) {
  HttpRequest request = impl_->request("DELETE", itemPath(table, key));
  if (if_match) {
    request.headers.push_back({"If-Match", detail::quoteEtag(*if_match)});
    request.resendable = false;
  }
  auto response = impl_->call(request, {204, 200});
  if (!response) return tl::unexpected(response.error());
  return {};
}

Result<KvListing> Client::listItems(std::string_view table, const ListItemsOptions& options) {
  detail::QueryBuilder query;
  query.addIfNotEmpty("prefix", options.prefix);
  if (options.limit) query.add("limit", std::to_string(*options.limit));
  query.addIfNotEmpty("cursor", options.cursor);
  auto response = impl_->call(impl_->request("GET", itemsPath(table) + query.str()));
  if (!response) return tl::unexpected(response.error());

  std::vector<RawMember> members;
  if (!detail::splitObject(response->body, members)) return badReply(*response, "not an object");
  KvListing listing;
  bool has_items = false;
  for (const RawMember& member : members) {
    if (member.name == "items") {
      std::vector<std::string_view> elements;
      if (!detail::splitArray(member.value, elements)) {
        return badReply(*response, "items is not an array");
      }
      for (std::string_view element : elements) {
        KvItem item;
        if (!decodeItem(element, item)) return badReply(*response, "malformed item");
        listing.items.push_back(std::move(item));
      }
      has_items = true;
    } else if (member.name == "next_cursor" && member.value != "null") {
      std::string cursor;
      if (!detail::decodeString(member.value, cursor)) {
        return badReply(*response, "next_cursor is not a string");
      }
      listing.next_cursor = std::move(cursor);
    }
  }
  if (!has_items) return badReply(*response, "no items");
  return listing;
}

} // namespace exoflow::client
