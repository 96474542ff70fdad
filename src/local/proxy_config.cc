#include "local/proxy_config.h"

#include <fmt/format.h>

#include "manifest/values.h"

namespace exoflow::local {

namespace {

std::string queueOptions(const model::QueueSpec& q) {
  std::string options =
      fmt::format("{{visibility_timeout: {}, retention: {}, max_message_size: {}",
                  manifest::formatDuration(q.visibility_timeout),
                  manifest::formatDuration(q.retention), manifest::formatSize(q.max_message_size));
  if (q.dead_letter_after) options += fmt::format(", dead_letter_after: {}", *q.dead_letter_after);
  if (q.fifo) options += ", fifo: true";
  return options + "}";
}

} // namespace

std::string renderLocalProxyConfig(const model::App& app,
                                   const std::map<std::string, LocalDatabase>& databases) {
  std::string out = fmt::format("# exo-proxy configuration for `exoflow up` of app {}.\n"
                                "# Written by exoflow on every run; edits are lost.\n"
                                "listen: 127.0.0.1:0\n"
                                "identity: {{cloud: local}}\n"
                                "token: ${{EXO_TOKEN}}\n"
                                "data_dir: proxy\n",
                                app.name);
  if (app.services.empty()) return out + "bindings: {}\n";
  out += "bindings:\n";
  for (const model::Service& s : app.services) {
    out += fmt::format("  {}:\n", s.name);
    if (const auto* q = std::get_if<model::QueueSpec>(&s.spec)) {
      out += fmt::format("    kind: queue\n    options: {}\n", queueOptions(*q));
      out += "    backends:\n      - {type: local.sqlite}\n";
    } else if (const auto* o = std::get_if<model::ObjectsSpec>(&s.spec)) {
      out += "    kind: objects\n";
      if (o->versioning) out += "    options: {versioning: true}\n";
      out += "    backends:\n      - {type: local.sqlite}\n";
    } else if (std::holds_alternative<model::KvSpec>(s.spec)) {
      out += "    kind: kv\n    backends:\n      - {type: local.sqlite}\n";
    } else {
      const LocalDatabase& db = databases.at(s.name);
      out += fmt::format("    kind: database\n    backends:\n"
                         "      - {{type: local.{}, host: {}, port: {}, database: {}, user: {}, "
                         "password: \"{}\", sslmode: disable}}\n",
                         db.engine, db.host, db.port, db.database, db.user, db.password);
    }
  }
  return out;
}

} // namespace exoflow::local
