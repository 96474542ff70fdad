#pragma once
// Which API route a request path names (API.md), and the methods each route takes.

#include <string>
#include <string_view>

#include "common/error.h"

namespace exoflow::proxy {

enum class RouteKind {
  kHealthz,        ///< GET /healthz
  kReadyz,         ///< GET /readyz
  kMetrics,        ///< GET /metrics
  kStatus,         ///< GET /v1/status
  kQueues,         ///< GET /v1/queues
  kQueue,          ///< GET /v1/queues/{queue}
  kMessages,       ///< POST, GET /v1/queues/{queue}/messages
  kMessage,        ///< DELETE, PATCH /v1/queues/{queue}/messages/{receipt}
  kMessageDeletes, ///< POST /v1/queues/{queue}/messages/delete (an extension: batch delete)
  kObjects,        ///< GET /v1/buckets/{bucket}/objects
  kObject,         ///< PUT, GET, HEAD, DELETE /v1/buckets/{bucket}/objects/{key}
  kItems,          ///< GET /v1/tables/{table}/items
  kItem,           ///< PUT, GET, DELETE /v1/tables/{table}/items/{key}
  kDatabase,       ///< GET /v1/databases/{db}
};

struct Route {
  RouteKind kind = RouteKind::kHealthz;
  std::string name; ///< the queue, bucket, table or database, percent-decoded
  std::string rest; ///< the receipt or key, percent-decoded ("" when the route has none)
};

/// The route of a request path (without its query). kNotFound when no route matches;
/// kInvalidArgument for a malformed percent-escape.
Result<Route> matchRoute(std::string_view path);

/// True when the route takes `method`.
bool allowsMethod(RouteKind kind, std::string_view method);

/// The Allow header of a route ("GET, POST").
std::string_view allowedMethods(RouteKind kind);

/// The operation a request performs, for metrics ("send", "receive", "put", ...).
std::string_view operationName(RouteKind kind, std::string_view method);

/// True for the routes that need no token (/healthz, /readyz, /metrics).
bool isOpenRoute(RouteKind kind);

} // namespace exoflow::proxy
