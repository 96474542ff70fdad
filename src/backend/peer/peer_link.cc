#include "backend/peer/peer_link.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "backend/json_fields.h"

namespace exoflow::backend {

PeerLinks::PeerLinks(std::map<std::string, PeerTarget> peers, std::optional<PeerTls> tls,
                     net::HttpClientOptions http)
    : peers_(std::move(peers)), tls_(std::move(tls)), options_(std::move(http)) {}

PeerLinks::~PeerLinks() = default;

Result<PeerTarget> PeerLinks::peer(const std::string& name) const {
  auto it = peers_.find(name);
  if (it == peers_.end()) {
    return fail(ErrorCode::kInvalidArgument, fmt::format("no peer named \"{}\"", name));
  }
  return it->second;
}

Result<net::HttpClient*> PeerLinks::http() {
  if (!tls_) return fail(ErrorCode::kInvalidArgument, "peers need tls: {cert, key, ca}");
  std::lock_guard lock(mutex_);
  if (!http_) {
    net::HttpClientOptions options = options_;
    options.verify_tls = true;
    options.ca_file = tls_->ca.string();
    options.cert_file = tls_->cert.string();
    options.key_file = tls_->key.string();
    http_ = std::make_unique<net::HttpClient>(std::move(options));
  }
  return http_.get();
}

namespace peer {

Result<Link> Link::open(const BackendSpec& spec, std::string_view collection,
                        const std::string& name, const BackendContext& context) {
  if (context.peers == nullptr) {
    return fail(ErrorCode::kInvalidArgument, "this host does not reach peers");
  }
  const std::string peer_name = spec.param("peer");
  auto target = context.peers->peer(peer_name);
  if (!target) return tl::unexpected(target.error());
  auto http = context.peers->http();
  if (!http) return tl::unexpected(http.error());
  Link link;
  link.http_ = *http;
  std::string url = target->url;
  while (!url.empty() && url.back() == '/')
    url.pop_back();
  link.base_ = fmt::format("{}/v1/{}/{}", url, collection, encodeSegment(name));
  link.token_ = target->token;
  link.describe_ = fmt::format("{}:{}", kType, peer_name);
  return link;
}

net::HttpRequest Link::request(std::string method, std::string_view suffix) const {
  net::HttpRequest request;
  request.method = std::move(method);
  request.url = base_ + std::string(suffix);
  request.headers.emplace_back("Authorization", "Bearer " + token_);
  request.idempotent = request.method == "GET" || request.method == "HEAD";
  return request;
}

void Link::send(net::HttpRequest request, net::ResponseHandler done) const {
  http_->send(std::move(request), std::move(done));
}

void Link::upload(net::HttpRequest request, std::optional<std::uint64_t> size,
                  std::function<void(Result<std::unique_ptr<net::HttpUpload>>)> done) const {
  http_->upload(std::move(request), size, std::move(done));
}

std::string encodeSegment(std::string_view text) {
  constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) != 0 || c == '-' || c == '_' || c == '~') {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

Error answerError(const net::HttpResponse& response) {
  constexpr ErrorCode kCodes[] = {
      ErrorCode::kInvalidArgument,    ErrorCode::kUnauthenticated,  ErrorCode::kPermissionDenied,
      ErrorCode::kNotFound,           ErrorCode::kMethodNotAllowed, ErrorCode::kAlreadyExists,
      ErrorCode::kPreconditionFailed, ErrorCode::kPayloadTooLarge,  ErrorCode::kRangeNotSatisfiable,
      ErrorCode::kHeadersTooLarge,    ErrorCode::kThrottled,        ErrorCode::kInternal,
      ErrorCode::kUnavailable};
  const auto body = nlohmann::json::parse(response.body, nullptr, false);
  const nlohmann::json& error = json_fields::member(body, "error");
  const std::string name = json_fields::text(error, "code");
  const std::string message = json_fields::text(error, "message");
  if (response.status == 401) {
    // The peer refused this proxy, not the caller: to the caller the backend is unavailable.
    return {ErrorCode::kUnavailable, "peer: the peer token was refused"};
  }
  for (ErrorCode code : kCodes) {
    if (!name.empty() && errorCodeName(code) == name) {
      return {code, fmt::format("peer: {}", message.empty() ? name : message)};
    }
  }
  for (ErrorCode code : kCodes) {
    // A bodiless answer (HEAD, 304 aside) still says what happened by its status.
    if (name.empty() && httpStatus(code) == response.status) {
      return {code, fmt::format("peer: HTTP {}", response.status)};
    }
  }
  return {ErrorCode::kUnavailable, fmt::format("peer: unexpected HTTP {}", response.status)};
}

std::string unquote(std::string_view etag) {
  if (etag.starts_with("W/")) etag.remove_prefix(2);
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') {
    etag = etag.substr(1, etag.size() - 2);
  }
  return std::string(etag);
}

} // namespace peer
} // namespace exoflow::backend
