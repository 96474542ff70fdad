#include "proxy/api.h"

#include <fmt/format.h>

#include "proxy/api_internal.h"

namespace exoflow::proxy {

namespace {

/// The path and query of a request target; an absolute-form target loses its scheme and host.
std::pair<std::string_view, std::string_view> splitTarget(std::string_view target) {
  for (std::string_view scheme : {"http://", "https://"}) {
    if (target.starts_with(scheme)) {
      target.remove_prefix(scheme.size());
      const std::size_t slash = target.find('/');
      target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
    }
  }
  const std::size_t q = target.find('?');
  if (q == std::string_view::npos) return {target, {}};
  return {target.substr(0, q), target.substr(q + 1)};
}

bool authorized(const RequestHead& head, const std::string& token) {
  const auto header = head.header("authorization");
  if (!header || token.empty()) return false;
  std::string_view value = *header;
  constexpr std::string_view kScheme = "bearer ";
  if (value.size() < kScheme.size()) return false;
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(value[i])) != kScheme[i]) return false;
  }
  value.remove_prefix(kScheme.size());
  while (!value.empty() && value.front() == ' ')
    value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ')
    value.remove_suffix(1);
  return constantTimeEquals(value, token);
}

} // namespace

Exchange::Exchange(std::shared_ptr<ApiState> state, const RequestHead& head, Route route,
                   Query query)
    : state_(std::move(state)), route_(std::move(route)), query_(std::move(query)),
      request_id_(head.request_id), method_(head.method), from_peer_(head.from_peer),
      started_(head.started) {
  labels_.op = std::string(operationName(route_.kind, method_));
}

Response Exchange::finish(Response response) {
  if (!backend_.empty()) response.header("x-exo-backend", backend_);
  if (method_ == "HEAD" && !response.head_only) {
    response.head_only = true;
    response.head_length = response.body.size();
    response.body.clear();
    response.stream.reset();
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  state_->metrics.recordRequest(labels_.service, labels_.op, response.status, seconds);
  return response;
}

void Exchange::reply(Response response) {
  // Called once; dropping the Respond breaks the cycle session -> plan -> exchange -> session.
  Respond respond = std::move(respond_);
  respond_ = nullptr;
  if (respond) respond(finish(std::move(response)));
}

Plan Exchange::rejectWith(Response response) {
  Plan plan;
  plan.reject = finish(std::move(response));
  return plan;
}

Plan Exchange::then(std::uint64_t max_body, std::function<void(std::string body)> fn) {
  Plan plan;
  plan.max_body = max_body;
  plan.handle = [this, fn = std::move(fn)](std::string body, Respond respond) {
    respond_ = std::move(respond);
    fn(std::move(body));
  };
  return plan;
}

Api::Api(const Bindings& bindings, Metrics& metrics, backend::Scheduler& scheduler)
    : state_(std::make_shared<ApiState>(bindings, metrics, scheduler)) {
  for (const auto& [name, binding] : bindings.config().bindings) {
    metrics.declareBinding(name, binding.replication != Replication::kNone);
  }
}

Api::~Api() = default;

Plan Api::plan(const RequestHead& head) {
  const auto [path, query_text] = splitTarget(head.target);
  Result<Route> route = matchRoute(path);
  auto query = Query::parse(query_text);
  const bool open = route && isOpenRoute(route->kind);
  // A placeholder exchange for answers given before a route is known.
  auto early = [&](const Error& error) {
    Exchange ex(state_, head, route ? *route : Route{}, {});
    if (!route) ex.operation("-");
    return ex.rejectWith(errorResponse(error, head.request_id));
  };
  // Each listener has its own token: the app's does not open the peer listener, nor the
  // peers' the app listener.
  const ProxyConfig& config = state_->bindings.config();
  if (!open && !authorized(head, head.from_peer ? config.peer_token : config.token)) {
    return early({ErrorCode::kUnauthenticated, "missing or wrong bearer token"});
  }
  if (!route) return early(route.error());
  if (!allowsMethod(route->kind, head.method)) {
    Response response = errorResponse(
        {ErrorCode::kMethodNotAllowed, fmt::format("{} is not allowed here; allowed: {}",
                                                   head.method, allowedMethods(route->kind))},
        head.request_id);
    response.header("Allow", std::string(allowedMethods(route->kind)));
    Exchange ex(state_, head, *route, {});
    return ex.rejectWith(std::move(response));
  }
  if (!query) return early(query.error());
  auto ex = std::make_shared<Exchange>(state_, head, *route, std::move(*query));
  Plan plan;
  switch (route->kind) {
  case RouteKind::kQueues:
  case RouteKind::kQueue:
  case RouteKind::kMessages:
  case RouteKind::kMessage:
  case RouteKind::kMessageDeletes:
    plan = planQueues(ex, head);
    break;
  case RouteKind::kObjects:
  case RouteKind::kObject:
    plan = planObjects(ex, head);
    break;
  case RouteKind::kItems:
  case RouteKind::kItem:
    plan = planKv(ex, head);
    break;
  default:
    plan = planOps(ex, head);
    break;
  }
  // The plan's callbacks use the exchange; keep it alive as long as they are.
  if (plan.handle) {
    plan.handle = [ex, handle = std::move(plan.handle)](std::string body, Respond respond) {
      handle(std::move(body), std::move(respond));
    };
  }
  return plan;
}

Response Api::httpError(ErrorCode code, std::string message, const std::string& request_id) {
  Response response = errorResponse({code, std::move(message)}, request_id);
  state_->metrics.recordRequest("-", "http", response.status, 0);
  return response;
}

} // namespace exoflow::proxy
