// The proxy config's top level: listen, identity, token, TLS, limits, peers and credentials;
// bindings are in config_bindings.cc.
#include "proxy/config.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "manifest/source.h"
#include "manifest/suggest.h"
#include "manifest/values.h"
#include "model/regions.h"
#include "proxy/config_sections.h"
#include "proxy/env_expand.h"

namespace exoflow::proxy {

using namespace config_detail; // NOLINT(google-build-using-namespace): the checker's own types

namespace {

constexpr std::array<std::string_view, 11> kTopKeys = {
    "listen",   "identity", "token",    "peer_listen", "tls",        "peer_token",
    "data_dir", "limits",   "bindings", "peers",       "credentials"};
constexpr std::array<std::string_view, 2> kIdentityKeys = {"cloud", "region"};
constexpr std::array<std::string_view, 3> kClouds = {"aws", "azure", "local"};
constexpr std::array<std::string_view, 3> kTlsKeys = {"cert", "key", "ca"};
constexpr std::array<std::string_view, 6> kLimitKeys = {"max_body",        "max_connections",
                                                        "header_timeout",  "idle_timeout",
                                                        "backend_timeout", "check_timeout"};
constexpr std::array<std::string_view, 5> kPeerKeys = {"url", "cloud", "region", "token",
                                                       "priority"};
constexpr std::array<std::string_view, 2> kCredentialKeys = {"aws", "azure"};
constexpr std::array<std::string_view, 6> kAwsSources = {"chain",   "env",  "static",
                                                         "profile", "imds", "ecs"};
constexpr std::array<std::string_view, 4> kAzureSources = {"shared_key", "sas", "managed_identity",
                                                           "client_secret"};
constexpr Mark kFileStart{1, 1};

/// The keys a credential source takes besides `source`, and which of them are required.
struct SourceKeys {
  std::string_view source;
  std::vector<std::string_view> keys;
  std::vector<std::string_view> required;
};

const std::vector<SourceKeys>& credentialKeys(std::string_view cloud) {
  static const std::vector<SourceKeys> aws = {
      {"chain", {}, {}},
      {"env", {}, {}},
      {"static",
       {"access_key_id", "secret_access_key", "session_token"},
       {"access_key_id", "secret_access_key"}},
      {"profile", {"profile"}, {"profile"}},
      {"imds", {}, {}},
      {"ecs", {}, {}},
  };
  static const std::vector<SourceKeys> azure = {
      {"shared_key", {"account_key"}, {"account_key"}},
      {"sas", {"sas_token"}, {"sas_token"}},
      {"managed_identity", {"client_id"}, {}},
      {"client_secret",
       {"tenant_id", "client_id", "client_secret"},
       {"tenant_id", "client_id", "client_secret"}},
  };
  return cloud == "aws" ? aws : azure;
}

template <typename T> using Parsed = manifest::Parsed<T>;

Parsed<ListenAddress> parseListen(std::string_view text) {
  using manifest::Refusal;
  ListenAddress out;
  std::string_view port;
  if (text.starts_with('[')) {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return Refusal("write an IPv6 address in brackets with a port: [::1]:7420");
    }
    out.host = std::string(text.substr(1, close - 1));
    port = text.substr(close + 2);
  } else {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return Refusal("write host:port, e.g. 127.0.0.1:7420");
    out.host = std::string(text.substr(0, colon));
    port = text.substr(colon + 1);
    if (out.host.find(':') != std::string::npos) {
      return Refusal("write an IPv6 address in brackets with a port: [::1]:7420");
    }
  }
  if (out.host.empty()) return Refusal("the host is missing; write 0.0.0.0 for every address");
  for (char c : out.host) {
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '-' ||
                    c == ':' || c == '%' || c == '_';
    if (!ok) return Refusal("the host is an IP address or a host name");
  }
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), out.port);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || out.port < 0 ||
      out.port > 65535) {
    return Refusal("the port is a number 0..65535 (0: any free port)");
  }
  return out;
}

std::optional<ListenAddress> checkListen(Checker& c, const Field& f) {
  return c.parsed<ListenAddress>(f, "an address such as 127.0.0.1:7420", &parseListen);
}

void checkIdentity(Checker& c, const Field& f, Identity& identity) {
  auto fields = c.mapping(*f.value, f.path, f.key->mark, kIdentityKeys);
  if (!fields) return;
  if (const Field* cloud = c.require(*fields, "cloud")) {
    if (auto v = c.oneOf(*cloud, kClouds)) identity.cloud = *v;
  }
  const Field* region = fields->get("region");
  if (identity.cloud == "local") {
    if (region != nullptr) {
      c.error(region->key->mark, region->path, "a local proxy has no region",
              "remove region, or set cloud to aws or azure");
    }
    return;
  }
  if (region == nullptr) {
    if (fields->has("cloud")) c.require(*fields, "region");
    return;
  }
  if (auto v = checkRegion(c, *region, identity.cloud)) identity.region = *v;
}

std::optional<std::filesystem::path> checkPath(Checker& c, const Field& f,
                                               const std::filesystem::path& base) {
  auto text = c.string(f);
  if (!text) return std::nullopt;
  return resolvePath(base, *text);
}

void checkTls(Checker& c, const Field& f, const std::filesystem::path& base, ProxyConfig& config) {
  auto fields = c.mapping(*f.value, f.path, f.key->mark, kTlsKeys);
  if (!fields) return;
  TlsFiles tls;
  bool ok = true;
  for (auto [key, out] :
       {std::pair{"cert", &tls.cert}, std::pair{"key", &tls.key}, std::pair{"ca", &tls.ca}}) {
    const Field* file = c.require(*fields, key);
    auto path = file != nullptr ? checkPath(c, *file, base) : std::nullopt;
    if (!path) {
      ok = false;
      continue;
    }
    std::error_code ec;
    if (!std::filesystem::is_regular_file(*path, ec)) {
      c.error(file->value->mark, file->path,
              fmt::format("no such file {}", Checker::describe(*file->value)),
              "relative paths are relative to the config file's folder");
      ok = false;
    }
    *out = std::move(*path);
  }
  if (ok) config.tls = std::move(tls);
}

void checkLimits(Checker& c, const Field& f, Limits& limits) {
  auto fields = c.mapping(*f.value, f.path, f.key->mark, kLimitKeys);
  if (!fields) return;
  if (const Field* v = fields->get("max_body")) {
    if (auto n = c.size(*v, 1024, 5ULL << 40)) limits.max_body = *n;
  }
  if (const Field* v = fields->get("max_connections")) {
    if (auto n = c.integer(*v, 1, 1'000'000)) limits.max_connections = static_cast<int>(*n);
  }
  if (const Field* v = fields->get("header_timeout")) {
    if (auto d = c.duration(*v, 100, model::Millis{10} * 60'000))
      limits.header_timeout = std::chrono::milliseconds(*d);
  }
  if (const Field* v = fields->get("idle_timeout")) {
    if (auto d = c.duration(*v, 100, 3600'000)) limits.idle_timeout = std::chrono::milliseconds(*d);
  }
  if (const Field* v = fields->get("backend_timeout")) {
    if (auto d = c.duration(*v, 100, 600'000)) {
      limits.backend_timeout = std::chrono::milliseconds(*d);
    }
  }
  if (const Field* v = fields->get("check_timeout")) {
    if (auto d = c.duration(*v, 100, 600'000)) limits.check_timeout = std::chrono::milliseconds(*d);
  }
}

void checkPeers(Checker& c, const Field& f, ProxyConfig& config) {
  auto peers = c.openMapping(*f.value, f.path, f.key->mark, "peer");
  if (!peers) return;
  for (const Field& entry : peers->all()) {
    if (auto name = manifest::parseName(entry.key->value); !name) {
      c.error(entry.key->mark, entry.path,
              fmt::format("\"{}\" is not a valid peer name", entry.key->value), name.error());
    }
    auto fields = c.mapping(*entry.value, entry.path, entry.key->mark, kPeerKeys);
    if (!fields) continue;
    Peer peer;
    peer.name = entry.key->value;
    if (const Field* v = c.require(*fields, "url")) peer.url = checkUrl(c, *v, true).value_or("");
    if (const Field* v = c.require(*fields, "cloud"))
      peer.cloud = c.oneOf(*v, kClouds).value_or("");
    if (const Field* v = fields->get("region")) {
      if (peer.cloud == "aws" || peer.cloud == "azure") {
        peer.region = checkRegion(c, *v, peer.cloud).value_or("");
      } else {
        peer.region = c.string(*v).value_or("");
      }
    }
    if (const Field* v = c.require(*fields, "token")) peer.token = c.string(*v).value_or("");
    if (const Field* v = fields->get("priority")) {
      if (auto n = c.integer(*v, 0, 1'000'000)) peer.priority = static_cast<int>(*n);
    }
    config.peers.emplace(peer.name, std::move(peer));
  }
}

void checkCredential(Checker& c, const Field& f, std::string_view cloud, CredentialSource& out) {
  const auto& table = credentialKeys(cloud);
  const std::span<const std::string_view> sources =
      cloud == "aws" ? std::span<const std::string_view>(kAwsSources)
                     : std::span<const std::string_view>(kAzureSources);
  std::vector<std::string_view> allowed = {"source"};
  const SourceKeys* chosen = nullptr;
  if (f.value->kind == YamlNode::Kind::kMapping) {
    if (const YamlNode* source = peekScalar(*f.value, "source")) {
      for (const SourceKeys& s : table) {
        if (s.source == source->value) chosen = &s;
      }
    }
  }
  for (const SourceKeys& s : table) {
    if (chosen != nullptr && chosen != &s) continue;
    for (std::string_view k : s.keys) {
      if (std::find(allowed.begin(), allowed.end(), k) == allowed.end()) allowed.push_back(k);
    }
  }
  const std::string hint =
      chosen != nullptr
          ? (chosen->keys.empty() ? fmt::format("source {} takes no other keys", chosen->source)
                                  : fmt::format("source {} takes {}", chosen->source,
                                                manifest::joinAlternatives(chosen->keys)))
          : std::string();
  auto fields = c.mapping(*f.value, f.path, f.key->mark, allowed, hint);
  if (!fields) return;
  if (const Field* s = c.require(*fields, "source")) {
    if (auto v = c.oneOf(*s, sources)) out.source = *v;
  }
  if (chosen != nullptr) {
    for (std::string_view k : chosen->required)
      c.require(*fields, k);
  }
  for (const Field& field : fields->all()) {
    if (field.key->value == "source") continue;
    if (auto v = c.string(field)) out.params[field.key->value] = *v;
  }
}

void checkCredentials(Checker& c, const Field& f, ProxyConfig& config) {
  auto fields = c.mapping(*f.value, f.path, f.key->mark, kCredentialKeys);
  if (!fields) return;
  if (const Field* v = fields->get("aws")) checkCredential(c, *v, "aws", config.aws_credentials);
  if (const Field* v = fields->get("azure")) {
    checkCredential(c, *v, "azure", config.azure_credentials);
  }
}

void checkTopLevel(Checker& c, const YamlNode& root, const ConfigOptions& options,
                   ProxyConfig& config) {
  auto fields = c.mapping(root, "", kFileStart, kTopKeys);
  if (!fields) return;
  if (const Field* f = c.require(*fields, "listen")) {
    if (auto v = checkListen(c, *f)) config.listen = *v;
  }
  if (const Field* f = fields->get("identity")) checkIdentity(c, *f, config.identity);
  if (const Field* f = c.require(*fields, "token")) config.token = c.string(*f).value_or("");
  const Field* peer_listen = fields->get("peer_listen");
  if (peer_listen != nullptr) config.peer_listen = checkListen(c, *peer_listen);
  const Field* tls = fields->get("tls");
  if (tls != nullptr) checkTls(c, *tls, options.base_dir, config);
  if (const Field* f = fields->get("peer_token")) config.peer_token = c.string(*f).value_or("");
  if (peer_listen != nullptr && !fields->has("peer_token")) {
    c.error(peer_listen->key->mark, "peer_token", "required with peer_listen",
            "peers present it as a bearer token; write peer_token: ${EXO_PEER_TOKEN}");
  }
  config.data_dir = resolvePath(options.base_dir, ".exoflow/proxy");
  if (const Field* f = fields->get("data_dir")) {
    if (auto v = checkPath(c, *f, options.base_dir)) config.data_dir = *v;
  }
  if (const Field* f = fields->get("limits")) checkLimits(c, *f, config.limits);
  const Field* peers = fields->get("peers");
  if (peers != nullptr) checkPeers(c, *peers, config);
  if (tls == nullptr && (peer_listen != nullptr || peers != nullptr)) {
    const Field* cause = peer_listen != nullptr ? peer_listen : peers;
    c.error(cause->key->mark, "tls", fmt::format("required with {}", cause->key->value),
            "peers talk mutual TLS: tls: {cert: ..., key: ..., ca: ...}");
  }
  if (const Field* f = fields->get("credentials")) checkCredentials(c, *f, config);
  std::vector<PeerReference> peer_refs;
  if (const Field* f = c.require(*fields, "bindings")) {
    checkBindings(c, *f, options, config, peer_refs);
  }
  for (const PeerReference& ref : peer_refs) {
    if (config.peers.contains(ref.peer)) continue;
    std::vector<std::string_view> names;
    for (const auto& [name, peer] : config.peers)
      names.push_back(name);
    std::optional<std::string> hint = "declare it under peers";
    if (auto match = manifest::closestMatch(ref.peer, names)) {
      hint = fmt::format("did you mean \"{}\"?", *match);
    }
    c.error(ref.mark, ref.path, fmt::format("no peer named \"{}\"", ref.peer), hint);
  }
}

} // namespace

namespace config_detail {

std::filesystem::path resolvePath(const std::filesystem::path& base, std::string_view path) {
  std::filesystem::path p{std::string(path)};
  if (p.is_relative()) p = base / p;
  std::error_code ec;
  std::filesystem::path absolute = std::filesystem::absolute(p, ec);
  return (ec ? p : absolute).lexically_normal();
}

std::optional<std::string> checkRegion(Checker& c, const Field& f, std::string_view cloud) {
  auto region = c.string(f);
  if (!region) return std::nullopt;
  if (model::lookupRegion(cloud, *region).kind == model::RegionKind::kSupported) return region;
  std::optional<std::string> hint = fmt::format("docs/manifest.md lists the {} regions", cloud);
  if (auto match = manifest::closestMatch(*region, model::publicRegions(cloud))) {
    hint = fmt::format("did you mean \"{}\"?", *match);
  }
  c.error(f.value->mark, f.path, fmt::format("unknown {} region \"{}\"", cloud, *region), hint);
  return std::nullopt;
}

std::optional<std::string> checkUrl(Checker& c, const Field& f, bool https_only) {
  auto url = c.string(f);
  if (!url) return std::nullopt;
  const std::string_view text = *url;
  std::string_view rest;
  if (text.starts_with("https://")) {
    rest = text.substr(8);
  } else if (!https_only && text.starts_with("http://")) {
    rest = text.substr(7);
  } else {
    c.error(f.value->mark, f.path,
            fmt::format("expected an {}URL, got {}", https_only ? "https:// " : "http(s):// ",
                        Checker::describe(*f.value)),
            https_only
                ? std::optional<std::string>("peers are reached over mutual TLS: https://host:port")
                : std::nullopt);
    return std::nullopt;
  }
  if (rest.empty() || rest.front() == '/' || rest.front() == ':') {
    c.error(f.value->mark, f.path,
            fmt::format("the URL {} has no host", Checker::describe(*f.value)));
    return std::nullopt;
  }
  return url;
}

const YamlNode* peekScalar(const YamlNode& node, std::string_view key) {
  for (const auto& [k, v] : node.entries) {
    if (k->kind == YamlNode::Kind::kScalar && k->value == key &&
        v->kind == YamlNode::Kind::kScalar) {
      return v.get();
    }
  }
  return nullptr;
}

} // namespace config_detail

std::string_view bindingKindName(BindingKind kind) {
  switch (kind) {
  case BindingKind::kQueue:
    return "queue";
  case BindingKind::kObjects:
    return "objects";
  case BindingKind::kKv:
    return "kv";
  case BindingKind::kDatabase:
    return "database";
  }
  return "queue";
}

ConfigLoad checkProxyConfig(std::string_view file_name, std::string bytes,
                            const ConfigOptions& options) {
  Checker c{std::string(file_name)};
  const manifest::SourceText source(std::move(bytes));
  ConfigLoad result;
  auto finish = [&]() {
    result.diagnostics = c.takeDiagnostics();
    return std::move(result);
  };
  for (const Mark& mark : source.invalidUtf8()) {
    c.error(mark, "", "the file is not valid UTF-8", "save the file as UTF-8");
  }
  if (c.failed()) return finish();
  if (holdsReservedCharacters(source.text())) {
    c.error(kFileStart, "", "the file holds characters U+E000..U+E07F, which are reserved",
            "they mark ${...} references while the file is parsed");
    return finish();
  }
  const manifest::SourceText protected_source(protectReferences(source.text()));
  manifest::YamlFile yaml = manifest::parseYaml(protected_source);
  if (yaml.syntax_error) {
    c.error(yaml.syntax_error->mark, "", yaml.syntax_error->message, yaml.syntax_error->hint);
    return finish();
  }
  for (const Mark& mark : yaml.extra_documents) {
    c.error(mark, "", "only one YAML document is allowed per file",
            "remove the \"---\" and everything after it");
  }
  if (!yaml.root || yaml.root->kind == YamlNode::Kind::kNull) {
    c.error(kFileStart, "", "the proxy config is empty",
            "it needs at least listen, token and bindings (docs/proxy.md)");
    return finish();
  }
  if (yaml.root->kind != YamlNode::Kind::kMapping) {
    c.error(yaml.root->mark, "",
            "expected a mapping of fields (listen, token, bindings, ...), got " +
                Checker::describe(*yaml.root));
    return finish();
  }
  const EnvLookup env = options.env ? options.env : processEnvironment();
  // Expansion errors go to their own checker: the value stays unexpanded, and what the main
  // checker then says about that same value would only repeat the problem.
  Checker expansion{std::string(file_name)};
  const manifest::YamlNodePtr root = expandTree(yaml.root, expansion, "", env);
  ProxyConfig config;
  checkTopLevel(c, *root, options, config);
  std::vector<manifest::Diagnostic> expand_errors = expansion.takeDiagnostics();
  if (!c.failed() && expand_errors.empty()) result.config = std::move(config);
  std::vector<manifest::Diagnostic> rest = c.takeDiagnostics();
  auto same_place = [&](const manifest::Diagnostic& d) {
    return std::any_of(expand_errors.begin(), expand_errors.end(), [&](const auto& e) {
      return e.mark.line == d.mark.line && e.mark.column == d.mark.column;
    });
  };
  rest.erase(std::remove_if(rest.begin(), rest.end(), same_place), rest.end());
  result.diagnostics = std::move(expand_errors);
  result.diagnostics.insert(result.diagnostics.end(), rest.begin(), rest.end());
  manifest::sortDiagnostics(result.diagnostics);
  return result;
}

ConfigLoad loadProxyConfig(const std::filesystem::path& path, const AvailableTypes& available,
                           const EnvLookup& env) {
  const std::string name = path.string();
  auto unreadable = [&](std::string message) {
    ConfigLoad result;
    result.diagnostics.push_back(manifest::Diagnostic{name, kFileStart, manifest::Severity::kError,
                                                      "", std::move(message), std::nullopt});
    return result;
  };
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return unreadable("is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) return unreadable(fmt::format("cannot open: {}", std::strerror(errno)));
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (in.bad()) return unreadable("cannot read");
  ConfigOptions options;
  options.base_dir = resolvePath(std::filesystem::current_path(ec), path.parent_path().string());
  options.env = env;
  options.available = available;
  return checkProxyConfig(name, std::move(bytes).str(), options);
}

} // namespace exoflow::proxy
