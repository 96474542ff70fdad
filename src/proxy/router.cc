#include "proxy/router.h"

#include <array>
#include <vector>

#include "proxy/api_util.h"

namespace exoflow::proxy {

namespace {

/// Splits "/v1/queues/orders" into {"v1", "queues", "orders"}; empty segments are kept.
std::vector<std::string_view> segments(std::string_view path) {
  std::vector<std::string_view> out;
  out.reserve(8); // a route has 5 segments at most, plus one per slash in a key: one allocation
  if (path.starts_with('/')) path.remove_prefix(1);
  while (true) {
    const std::size_t slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

Result<Route> make(RouteKind kind, std::string_view name, std::string_view rest = {}) {
  auto decoded_name = percentDecode(name, false);
  auto decoded_rest = percentDecode(rest, false);
  if (!decoded_name || !decoded_rest) {
    return fail(ErrorCode::kInvalidArgument, "malformed percent-encoding in the path");
  }
  return Route{kind, std::move(*decoded_name), std::move(*decoded_rest)};
}

tl::unexpected<Error> notFound() {
  return fail(ErrorCode::kNotFound, "no such route");
}

/// The part of `path` after its first `n` slashes ("/v1/buckets/b/objects/" + rest: 5).
std::string_view afterSlashes(std::string_view path, std::size_t n) {
  std::size_t pos = 0;
  for (std::size_t i = 0; i < n; ++i) {
    pos = path.find('/', pos);
    if (pos == std::string_view::npos) return {};
    ++pos;
  }
  return path.substr(pos);
}

} // namespace

Result<Route> matchRoute(std::string_view path) {
  if (path == "/healthz") return Route{RouteKind::kHealthz, "", ""};
  if (path == "/readyz") return Route{RouteKind::kReadyz, "", ""};
  if (path == "/metrics") return Route{RouteKind::kMetrics, "", ""};
  if (!path.starts_with("/v1/")) return notFound();
  const std::vector<std::string_view> s = segments(path);
  const std::size_t n = s.size();
  if (n == 2 && s[1] == "status") return Route{RouteKind::kStatus, "", ""};
  if (n < 2) return notFound();
  const std::string_view area = s[1];
  if (area == "queues") {
    if (n == 2) return Route{RouteKind::kQueues, "", ""};
    if (s[2].empty()) return notFound();
    if (n == 3) return make(RouteKind::kQueue, s[2]);
    if (s[3] != "messages") return notFound();
    if (n == 4) return make(RouteKind::kMessages, s[2]);
    // "delete" can never be a receipt (receipts are longer), so it names the batch delete.
    if (n == 5 && s[4] == "delete") return make(RouteKind::kMessageDeletes, s[2]);
    if (n == 5 && !s[4].empty()) return make(RouteKind::kMessage, s[2], s[4]);
    return notFound();
  }
  if (area == "buckets" || area == "tables") {
    const bool buckets = area == "buckets";
    if (n < 4 || s[2].empty() || s[3] != (buckets ? "objects" : "items")) return notFound();
    if (n == 4) return make(buckets ? RouteKind::kObjects : RouteKind::kItems, s[2]);
    // The key is the rest of the path, slashes included, decoded as a whole.
    return make(buckets ? RouteKind::kObject : RouteKind::kItem, s[2], afterSlashes(path, 5));
  }
  if (area == "databases" && n == 3 && !s[2].empty()) return make(RouteKind::kDatabase, s[2]);
  return notFound();
}

std::string_view allowedMethods(RouteKind kind) {
  switch (kind) {
  case RouteKind::kMessages:
    return "GET, POST";
  case RouteKind::kMessage:
    return "DELETE, PATCH";
  case RouteKind::kMessageDeletes:
    return "POST";
  case RouteKind::kObject:
    return "GET, HEAD, PUT, DELETE";
  case RouteKind::kItem:
    return "GET, PUT, DELETE";
  default:
    return "GET";
  }
}

bool allowsMethod(RouteKind kind, std::string_view method) {
  const std::string_view allowed = allowedMethods(kind);
  std::size_t pos = 0;
  while (pos <= allowed.size()) {
    const std::size_t comma = allowed.find(", ", pos);
    if (allowed.substr(pos, comma - pos) == method) return true;
    if (comma == std::string_view::npos) break;
    pos = comma + 2;
  }
  return false;
}

std::string_view operationName(RouteKind kind, std::string_view method) {
  switch (kind) {
  case RouteKind::kHealthz:
    return "healthz";
  case RouteKind::kReadyz:
    return "readyz";
  case RouteKind::kMetrics:
    return "metrics";
  case RouteKind::kStatus:
    return "status";
  case RouteKind::kQueues:
    return "list_queues";
  case RouteKind::kQueue:
    return "queue_info";
  case RouteKind::kMessages:
    return method == "POST" ? "send" : "receive";
  case RouteKind::kMessage:
    return method == "DELETE" ? "delete" : "change_visibility";
  case RouteKind::kMessageDeletes:
    return "delete_batch";
  case RouteKind::kObjects:
  case RouteKind::kItems:
    return "list";
  case RouteKind::kObject:
  case RouteKind::kItem:
    if (method == "PUT") return "put";
    if (method == "DELETE") return "delete";
    if (method == "HEAD") return "head";
    return "get";
  case RouteKind::kDatabase:
    return "credentials";
  }
  return "-";
}

bool isOpenRoute(RouteKind kind) {
  return kind == RouteKind::kHealthz || kind == RouteKind::kReadyz || kind == RouteKind::kMetrics;
}

} // namespace exoflow::proxy
