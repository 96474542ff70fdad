#include "synth/proxy_config.h"

#include <fmt/format.h>

#include "manifest/values.h"

namespace exoflow::synth {

namespace {

constexpr std::string_view kPeerListen = "0.0.0.0:7443";

std::string upperSnake(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c >= 'a' && c <= 'z') {
      out += static_cast<char>(c - 'a' + 'A');
    } else if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
      out += c;
    } else {
      out += '_';
    }
  }
  return out;
}

/// A value in a flow mapping: quoted when it holds a ${...} reference or YAML syntax.
std::string flowValue(std::string_view value) {
  const bool plain =
      !value.empty() && value.find_first_of("${}[],:#&*!|>'\"%@`?") == std::string_view::npos;
  if (plain) return std::string(value);
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string flowEntry(const BackendEntry& entry) {
  std::string out = "{type: " + entry.type;
  for (const auto& [key, value] : entry.keys)
    out += fmt::format(", {}: {}", key, flowValue(value));
  return out + "}";
}

std::string queueOptions(const model::QueueSpec& q) {
  std::string options =
      fmt::format("{{visibility_timeout: {}, retention: {}, max_message_size: {}",
                  manifest::formatDuration(q.visibility_timeout),
                  manifest::formatDuration(q.retention), manifest::formatSize(q.max_message_size));
  if (q.dead_letter_after) options += fmt::format(", dead_letter_after: {}", *q.dead_letter_after);
  if (q.fifo) options += ", fifo: true";
  return options + "}";
}

std::string_view replicationName(model::Replication r) {
  return r == model::Replication::kSync ? "sync" : "async";
}

std::string_view kindName(const model::Service& s) {
  switch (s.spec.index()) {
  case 0:
    return "queue";
  case 1:
    return "objects";
  case 2:
    return "kv";
  default:
    return "database";
  }
}

/// The lines of one binding after `kind:`, up to but not including `backends:`.
std::string bindingOptions(const model::App& app, const model::Service& s, bool peers) {
  std::string out;
  if (const auto* q = std::get_if<model::QueueSpec>(&s.spec)) {
    out += fmt::format("    options: {}\n", queueOptions(*q));
  } else if (const auto* o = std::get_if<model::ObjectsSpec>(&s.spec)) {
    if (o->versioning) out += "    options: {versioning: true}\n";
    if (peers) out += fmt::format("    replication: {}\n", replicationName(app.failover->objects));
  } else if (std::holds_alternative<model::KvSpec>(s.spec) && peers) {
    out += fmt::format("    replication: {}\n", replicationName(app.failover->kv));
  }
  return out;
}

} // namespace

std::string peerName(const model::Target& target) {
  return fmt::format("{}-{}", model::cloudName(target.cloud), target.region);
}

std::string peerUrlVariable(const model::Target& target) {
  return fmt::format("EXO_PEER_{}_URL", upperSnake(peerName(target)));
}

std::string databaseVariable(const model::Service& service, std::string_view what) {
  return fmt::format("EXO_DB_{}_{}", upperSnake(service.name), what);
}

bool hasPeers(const model::App& app) {
  return app.failover && app.targets.size() > 1;
}

bool servicePeers(const model::App& app, const model::Service& service) {
  if (!hasPeers(app)) return false;
  if (std::holds_alternative<model::DatabaseSpec>(service.spec)) return false;
  if (std::holds_alternative<model::QueueSpec>(service.spec)) {
    return app.failover->queues == model::QueueFailover::kFailover;
  }
  return true;
}

std::string renderProxyConfig(const model::App& app, const model::Target& self,
                              const ProxyTargetInfo& info) {
  const bool peers = hasPeers(app);
  std::string out =
      fmt::format("# exo-proxy configuration of app {} on {} {}, written by `exoflow synth`.\n"
                  "# ${{...}} values come from the environment of the proxy on each instance.\n"
                  "listen: 127.0.0.1:7420\n"
                  "identity: {{cloud: {}, region: {}}}\n"
                  "token: ${{EXO_TOKEN}}\n",
                  app.name, model::cloudName(self.cloud), self.region, model::cloudName(self.cloud),
                  self.region);
  if (peers) {
    out += fmt::format("peer_listen: {}\n"
                       "tls: {{cert: tls/proxy.crt, key: tls/proxy.key, ca: tls/ca.crt}}\n"
                       "peer_token: ${{EXO_PEER_TOKEN}}\n",
                       kPeerListen);
  }
  out += fmt::format("data_dir: {}\n", info.data_dir);
  if (app.services.empty()) {
    out += "bindings: {}\n";
  } else {
    out += "bindings:\n";
  }
  for (const model::Service& s : app.services) {
    const bool with_peers = servicePeers(app, s);
    out += fmt::format("  {}:\n    kind: {}\n", s.name, kindName(s));
    out += bindingOptions(app, s, with_peers);
    out += "    backends:\n";
    out += fmt::format("      - {}\n", flowEntry(info.local_backend(s)));
    if (!with_peers) continue;
    for (const model::Target& t : app.targets) {
      if (&t == &self) continue;
      out += fmt::format("      - {{type: peer, peer: {}}}\n", peerName(t));
    }
  }
  if (peers) {
    // The manifest lists targets in failover priority order; a peer's priority is its place
    // there, so that order wins over round-trip time.
    out += "peers:\n";
    for (std::size_t i = 0; i < app.targets.size(); ++i) {
      const model::Target& t = app.targets[i];
      if (&t == &self) continue;
      out += fmt::format("  {}: {{url: \"${{{}}}\", cloud: {}, region: {}, token: "
                         "\"${{EXO_PEER_TOKEN}}\", priority: {}}}\n",
                         peerName(t), peerUrlVariable(t), model::cloudName(t.cloud), t.region, i);
    }
  }
  out += fmt::format("credentials:\n  {}\n", info.credentials);
  return out;
}

std::string renderLocalSynthProxyConfig(const model::App& app) {
  std::string out = fmt::format("# exo-proxy configuration of app {} on this machine, written by "
                                "`exoflow synth`.\n"
                                "listen: 127.0.0.1:7420\n"
                                "identity: {{cloud: local}}\n"
                                "token: ${{EXO_TOKEN}}\n"
                                "data_dir: .exoflow/proxy\n",
                                app.name);
  out += app.services.empty() ? "bindings: {}\n" : "bindings:\n";
  for (const model::Service& s : app.services) {
    out += fmt::format("  {}:\n    kind: {}\n", s.name, kindName(s));
    out += bindingOptions(app, s, false);
    out += "    backends:\n";
    if (const auto* db = std::get_if<model::DatabaseSpec>(&s.spec)) {
      const bool pg = db->engine == model::DbEngine::kPostgres;
      std::string database = s.name;
      for (char& c : database)
        c = c == '-' ? '_' : c;
      out += fmt::format("      - {{type: local.{}, host: 127.0.0.1, port: {}, database: {}, "
                         "user: exoflow, password: \"${{{}}}\", sslmode: disable}}\n",
                         pg ? "postgres" : "mysql", pg ? 5432 : 3306, database,
                         databaseVariable(s, "PASSWORD"));
    } else {
      out += "      - {type: local.sqlite}\n";
    }
  }
  return out;
}

} // namespace exoflow::synth
