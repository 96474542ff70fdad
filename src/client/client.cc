// Client construction, the shared request path, and the database and operations routes. The
// queue, object and kv routes live in client_queues.cc, client_objects.cc and client_kv.cc.

#include <cstdlib>

#include "client/client_impl.h"
#include "client/response.h"

namespace exoflow::client {

using detail::decodeJson;
using detail::HttpRequest;
using detail::HttpResponse;
using nlohmann::json;

Client::Impl::Impl(ClientOptions options, detail::Endpoint endpoint)
    : options_(std::move(options)),
      transport_(std::move(endpoint),
                 detail::TransportOptions{options_.connect_timeout, options_.request_timeout,
                                          options_.max_idle_connections, options_.user_agent}) {}

HttpRequest Client::Impl::request(std::string method, std::string target) const {
  HttpRequest request;
  request.method = std::move(method);
  request.target = std::move(target);
  request.resendable = request.method == "GET" || request.method == "HEAD" ||
                       request.method == "PUT" || request.method == "DELETE";
  if (!options_.token.empty()) {
    request.headers.push_back({"Authorization", "Bearer " + options_.token});
  }
  return request;
}

Result<HttpResponse> Client::Impl::call(const HttpRequest& request, std::initializer_list<int> ok,
                                        const BodySink* sink) {
  Result<HttpResponse> response = transport_.send(request, sink);
  if (!response) return response;
  for (int status : ok) {
    if (response->status == status) return response;
  }
  return tl::unexpected(detail::errorFromResponse(*response));
}

namespace detail {

std::string resourcePath(std::string_view collection, std::string_view name) {
  return "/v1/" + std::string(collection) + "/" + encodePathSegment(name);
}

std::string unquoteEtag(std::string_view etag) {
  if (etag.substr(0, 2) == "W/") etag.remove_prefix(2);
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') {
    etag = etag.substr(1, etag.size() - 2);
  }
  return std::string(etag);
}

std::string quoteEtag(std::string_view version) {
  const bool already =
      version == "*" || version.substr(0, 1) == "\"" || version.substr(0, 2) == "W/";
  return already ? std::string(version) : "\"" + std::string(version) + "\"";
}

} // namespace detail

Result<Client> Client::create(ClientOptions options) {
  Result<detail::Endpoint> endpoint = detail::parseEndpoint(options.endpoint);
  if (!endpoint) return tl::unexpected(endpoint.error());
  return Client(std::make_unique<Impl>(std::move(options), std::move(*endpoint)));
}

Result<Client> Client::fromEnvironment(ClientOptions options) {
  const char* endpoint = std::getenv("EXO_ENDPOINT");
  options.endpoint = endpoint != nullptr && *endpoint != '\0' ? endpoint : "http://127.0.0.1:7420";
  const char* token = std::getenv("EXO_TOKEN");
  if (token != nullptr) options.token = token;
  return create(std::move(options));
}

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Client::Client(Client&& other) noexcept = default;
Client& Client::operator=(Client&& other) noexcept = default;
Client::~Client() = default;

const ClientOptions& Client::options() const {
  return impl_->options();
}

ClientStats Client::stats() const {
  return impl_->transport().stats();
}

Result<DatabaseCredentials> Client::databaseCredentials(std::string_view database) {
  auto response = impl_->call(impl_->request("GET", detail::resourcePath("databases", database)));
  if (!response) return tl::unexpected(response.error());
  return decodeJson<DatabaseCredentials>(*response, [](const json& body) {
    DatabaseCredentials credentials;
    credentials.engine = body.at("engine").get<std::string>();
    credentials.host = body.at("host").get<std::string>();
    credentials.port = body.at("port").get<int>();
    credentials.database = detail::optionalString(body, "database");
    credentials.user = detail::optionalString(body, "user");
    credentials.password = detail::optionalString(body, "password");
    credentials.sslmode = detail::optionalString(body, "sslmode");
    return credentials;
  });
}

Result<void> Client::health() {
  auto response = impl_->call(impl_->request("GET", "/healthz"));
  if (!response) return tl::unexpected(response.error());
  return {};
}

Result<ReadyStatus> Client::ready() {
  auto response = impl_->call(impl_->request("GET", "/readyz"), {200, 503});
  if (!response) return tl::unexpected(response.error());
  const bool ready = response->status == 200;
  return decodeJson<ReadyStatus>(*response, [ready](const json& body) {
    ReadyStatus status;
    status.ready = ready;
    status.status = detail::optionalString(body, "status");
    if (const auto bindings = body.find("bindings"); bindings != body.end()) {
      for (const auto& [name, binding] : bindings->items()) {
        BindingHealth health;
        health.backend = detail::optionalString(binding, "backend");
        health.healthy = binding.value("healthy", false);
        status.bindings.emplace(name, std::move(health));
      }
    }
    return status;
  });
}

Result<std::string> Client::status() {
  auto response = impl_->call(impl_->request("GET", "/v1/status"));
  if (!response) return tl::unexpected(response.error());
  return std::move(response->body);
}

Result<std::string> Client::metrics() {
  auto response = impl_->call(impl_->request("GET", "/metrics"));
  if (!response) return tl::unexpected(response.error());
  return std::move(response->body);
}

} // namespace exoflow::client
