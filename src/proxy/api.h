#pragma once
// The API of API.md behind the HTTP server: bearer-token auth before routing, routing, request
// validation, and the handlers of every route (queue_api.cc, object_api.cc, kv_api.cc,
// ops_api.cc). No Beast here: requests and responses are the types of http_types.h.

#include <memory>

#include "backend/backend.h"
#include "proxy/bindings.h"
#include "proxy/http_types.h"
#include "proxy/metrics.h"

namespace exoflow::proxy {

struct ApiState;

class Api final : public Handler {
public:
  /// `bindings`, `metrics` and `scheduler` must outlive the Api.
  Api(const Bindings& bindings, Metrics& metrics, backend::Scheduler& scheduler);
  ~Api() override;
  Api(const Api&) = delete;
  Api& operator=(const Api&) = delete;

  /// Authenticates, routes and validates the request, and says how to take its body.
  Plan plan(const RequestHead& head) override;
  /// An error response in the API's JSON format.
  Response httpError(ErrorCode code, std::string message, const std::string& request_id) override;

private:
  std::shared_ptr<ApiState> state_;
};

} // namespace exoflow::proxy
