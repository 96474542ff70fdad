#pragma once
// Internal to the API: the state handlers share, one request on its way (Exchange), and the
// plan function of each area.

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "proxy/api_util.h"
#include "proxy/bindings.h"
#include "proxy/http_types.h"
#include "proxy/metrics.h"
#include "proxy/router.h"

namespace exoflow::proxy {

/// What every handler may use. Lives as long as the Api.
struct ApiState {
  ApiState(const Bindings& b, Metrics& m, backend::Scheduler& s)
      : bindings(b), metrics(m), scheduler(s) {}
  const Bindings& bindings;
  Metrics& metrics;
  backend::Scheduler& scheduler;
};

/// One request from plan() to its response. Shared by the callbacks that serve it.
class Exchange {
public:
  Exchange(std::shared_ptr<ApiState> state, const RequestHead& head, Route route, Query query);

  ApiState& state() const { return *state_; }
  const Route& route() const { return route_; }
  const Query& query() const { return query_; }
  const std::string& id() const { return request_id_; }
  const std::string& method() const { return method_; }
  /// The request came in on the peer listener.
  bool fromPeer() const { return from_peer_; }

  /// Names the backend that serves the request (x-exo-backend) and the metrics' service.
  void servedBy(std::string backend) { backend_ = std::move(backend); }
  void service(std::string name) { labels_.service = std::move(name); }
  /// Overrides the metrics' operation (requests that matched no route).
  void operation(std::string name) { labels_.op = std::move(name); }

  /// The response as sent: x-exo-backend added, a HEAD's body dropped, the request counted.
  Response finish(Response response);
  /// Sends the response (from any thread).
  void reply(Response response);
  void replyError(const Error& error) { reply(errorResponse(error, request_id_)); }

  /// A plan that answers at once.
  Plan reject(const Error& error) { return rejectWith(errorResponse(error, request_id_)); }
  Plan rejectWith(Response response);
  /// A plan that buffers up to `max_body` bytes, then runs `fn` with the body.
  Plan then(std::uint64_t max_body, std::function<void(std::string body)> fn);
  /// Gives the Respond of the request to a BodySink's finish().
  void attach(Respond respond) { respond_ = std::move(respond); }

private:
  std::shared_ptr<ApiState> state_;
  Route route_;
  Query query_;
  std::string request_id_;
  std::string method_;
  bool from_peer_ = false;
  std::chrono::steady_clock::time_point started_;
  RequestLabels labels_;
  std::string backend_;
  Respond respond_;
};

using ExchangePtr = std::shared_ptr<Exchange>;

/// The backend that serves a request: the entry's active one, or for a request from a peer its
/// first non-peer one (plan functions refuse such a request first when there is none).
template <typename Entry> auto& servingBackend(const Entry& entry, const Exchange& ex) {
  return ex.fromPeer() ? *entry.forPeers() : entry.active();
}

/// Unavailable when a request from a peer finds no backend that may serve it.
template <typename Entry> std::optional<Error> peerRefusal(const Entry& entry, const Exchange& ex) {
  if (!ex.fromPeer() || entry.forPeers() != nullptr) return std::nullopt;
  return Error{ErrorCode::kUnavailable,
               "this binding has only peer backends; a request from a peer is not forwarded again"};
}

/// Bodies that routes without a body may carry anyway; they are read and ignored.
inline constexpr std::uint64_t kIgnoredBodyLimit = 64ULL * 1024;

Plan planQueues(const ExchangePtr& ex, const RequestHead& head);
Plan planObjects(const ExchangePtr& ex, const RequestHead& head);
Plan planKv(const ExchangePtr& ex, const RequestHead& head);
/// /healthz, /readyz, /metrics, /v1/status and /v1/databases/{db}.
Plan planOps(const ExchangePtr& ex, const RequestHead& head);

} // namespace exoflow::proxy
