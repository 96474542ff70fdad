#include <fmt/format.h>

#include "synth/azure/azure.h"
#include "synth/proxy_config.h"
#include "synth/sizes.h"
#include "synth/startup.h"

namespace exoflow::synth::azure {

namespace {

constexpr std::string_view kScriptVar = "startupScript";
constexpr std::size_t kResolvedBytes = 128;

/// The shell helpers: a managed-identity token, a blob of the artifact container, a Key Vault
/// secret and URL encoding. curl retries while role assignments propagate.
constexpr std::string_view kHelpers =
    "token_for() { curl -sSf --retry 10 --retry-delay 6 --retry-all-errors -H Metadata:true "
    "\"http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01"
    "&client_id=$client_id&resource=$1\" | python3 -c 'import json,sys; "
    "print(json.load(sys.stdin)[\"access_token\"])'; }\n"
    "fetch() { curl -sSf --retry 10 --retry-delay 6 --retry-all-errors -H \"Authorization: "
    "Bearer $(token_for https://storage.azure.com/)\" -H 'x-ms-version: 2021-08-06' -o \"$2\" "
    "\"$artifact_url/$1\"; }\n"
    "secret() { curl -sSf --retry 10 --retry-delay 6 --retry-all-errors -H \"Authorization: "
    "Bearer $(token_for https://vault.azure.net)\" \"$1?api-version=7.4\" | python3 -c "
    "'import json,sys; print(json.load(sys.stdin)[\"value\"])'; }\n"
    "urlencode() { python3 -c 'import sys,urllib.parse; "
    "print(urllib.parse.quote(sys.argv[1], safe=\"\"))' \"$1\"; }\n";

/// Shell variables holding what only the deployment knows; the script reads these.
ArmConcat head(const model::App& app, const model::Target& self,
               const std::vector<ServiceNames>& names, const Layout& layout) {
  ArmConcat c;
  c.text(fmt::format("#!/bin/bash\n# Start-up of an instance of app {} on azure {}, written by "
                     "`exoflow synth`.\nset -euo pipefail\nclient_id='",
                     app.name, self.region));
  c.expr(armParam("identityClientId")).text("'\nartifact_url='https://");
  c.expr(armParam("artifactStorageAccount")).text(".blob.").expr("environment().suffixes.storage");
  c.text("/").expr(armParam("artifactContainer")).text("'\n");
  if (layout.storage) c.text("storage_account='").expr(armVar(kStorageVar)).text("'\n");
  int db_count = 0;
  for (std::size_t i = 0; i < app.services.size(); ++i) {
    const auto* db = std::get_if<model::DatabaseSpec>(&app.services[i].spec);
    if (db == nullptr) continue;
    ++db_count;
    const std::string server = armResourceId(serverType(db->engine), {armVar(serverVar(names[i]))});
    c.text(fmt::format("db{}_host='", db_count))
        .expr(fmt::format("reference({}, {}).fullyQualifiedDomainName", server,
                          armQuote(serverApi(db->engine))))
        .text(fmt::format("'\ndb{}_secret='", db_count))
        .expr(fmt::format("reference({}, {}).vaultUri",
                          armResourceId("Microsoft.KeyVault/vaults", {armVar(kKeyVaultVar)}),
                          armQuote(api::kKeyVault)))
        .text(fmt::format("secrets/{}'\n", names[i].secret));
  }
  if (layout.peers) {
    c.text("vault_uri='")
        .expr(fmt::format("reference({}, {}).vaultUri",
                          armResourceId("Microsoft.KeyVault/vaults", {armVar(kKeyVaultVar)}),
                          armQuote(api::kKeyVault)))
        .text("'\n");
    for (const model::Target& t : app.targets) {
      if (&t == &self) continue;
      c.text(fmt::format("peer_{}='", &t - app.targets.data()))
          .expr(armParam(peerUrlParameter(t)))
          .text("'\n");
    }
  }
  return c;
}

/// The environment files of the proxy and the app.
std::string environment(const model::App& app, const model::Target& self,
                        const std::vector<ServiceNames>& names, const Layout& layout, bool proxy) {
  std::string proxy_env = "EXO_TOKEN=$token\nEXO_AZURE_CLIENT_ID=$client_id\n";
  if (layout.storage) proxy_env += "EXO_AZURE_STORAGE_ACCOUNT=$storage_account\n";
  std::string app_env = proxy ? "EXO_ENDPOINT=http://127.0.0.1:7420\nEXO_TOKEN=$token\n" : "";
  std::string s;
  if (layout.peers) {
    proxy_env += "EXO_PEER_TOKEN=$(cat /etc/exoflow/tls/peer-token)\n";
    for (const model::Target& t : app.targets) {
      if (&t == &self) continue;
      proxy_env += fmt::format("{}=$peer_{}\n", peerUrlVariable(t), &t - app.targets.data());
    }
  }
  int db_count = 0;
  for (std::size_t i = 0; i < app.services.size(); ++i) {
    const auto* db = std::get_if<model::DatabaseSpec>(&app.services[i].spec);
    if (db == nullptr) continue;
    const model::Service& svc = app.services[i];
    ++db_count;
    s += fmt::format("db{0}_password=$(secret \"$db{0}_secret\")\n", db_count);
    proxy_env += fmt::format("{}=$db{}_host\n{}=$db{}_password\n", databaseVariable(svc, "HOST"),
                             db_count, databaseVariable(svc, "PASSWORD"), db_count);
    const bool pg = db->engine == model::DbEngine::kPostgres;
    app_env += fmt::format("{}={}://{}:$(urlencode \"$db{}_password\")@$db{}_host:{}/{}\n",
                           databaseVariable(svc, "URL"), pg ? "postgres" : "mysql", kDatabaseUser,
                           db_count, db_count, enginePort(db->engine), names[i].database);
  }
  if (proxy) {
    s += fmt::format("cat > /etc/exoflow/proxy.env <<{}\n{}{}\n", kHeredocEnd, proxy_env,
                     kHeredocEnd);
  }
  s += fmt::format("cat > /etc/exoflow/app.env <<{}\n{}{}\n", kHeredocEnd, app_env, kHeredocEnd);
  std::string extra_env;
  for (const auto& [key, value] : app.compute->env)
    extra_env += fmt::format("{}={}\n", key, systemdQuote(value));
  if (!extra_env.empty()) {
    s += fmt::format("cat >> /etc/exoflow/app.env <<'{}'\n{}{}\n", kHeredocEnd, extra_env,
                     kHeredocEnd);
  }
  return s;
}

/// Everything that does not depend on the deployment: a literal ARM string.
std::string body(const model::App& app, const model::Target& self,
                 const std::vector<ServiceNames>& names, const Layout& layout,
                 const std::string& proxy_config, bool inline_proxy) {
  const bool proxy = !proxy_config.empty();
  const std::string prefix = artifactPrefix(app);
  std::string s = "mkdir -p /opt/exoflow/app /etc/exoflow/tls /var/lib/exoflow/proxy "
                  "/var/log/exoflow\n";
  s += kHelpers;
  s += fmt::format("fetch {}app.tar.gz /opt/exoflow/app.tar.gz\n"
                   "tar -xzf /opt/exoflow/app.tar.gz -C /opt/exoflow/app\n",
                   prefix);
  if (proxy) {
    s += fmt::format("fetch {}exo-proxy /usr/local/bin/exo-proxy\n"
                     "chmod 755 /usr/local/bin/exo-proxy\n",
                     prefix);
  }
  s += "umask 077\ntoken=$(openssl rand -hex 32)\n";
  if (layout.peers) {
    // From the key vault with the instances' identity; umask 077: the key and token are 0600.
    for (const PeerSecret& p : kPeerSecrets) {
      s += fmt::format("secret \"${{vault_uri}}secrets/{}\" > /etc/exoflow/tls/{}\n", p.secret,
                       p.file);
    }
    s += "chmod 644 /etc/exoflow/tls/ca.crt /etc/exoflow/tls/proxy.crt\n";
  }
  s += environment(app, self, names, layout, proxy);
  if (proxy && inline_proxy) {
    s += heredocFile("/etc/exoflow/proxy.yaml", proxy_config);
  } else if (proxy) {
    s += fmt::format("fetch {}proxy.yaml /etc/exoflow/proxy.yaml\n", targetPrefix(app, self));
  }
  s += heredocFile("/opt/exoflow/run.sh", "exec " + app.compute->run + "\n");
  if (proxy) {
    s += heredocFile("/etc/systemd/system/exo-proxy.service",
                     systemdUnit("exo-proxy of " + app.name, "", "/etc/exoflow/proxy.env",
                                 "/usr/local/bin/exo-proxy --config /etc/exoflow/proxy.yaml",
                                 "/var/log/exoflow/proxy.log", ""));
  }
  s += heredocFile("/etc/systemd/system/exoflow-app.service",
                   systemdUnit("app " + app.name, proxy ? " exo-proxy.service" : "",
                               "/etc/exoflow/app.env", "/bin/sh /opt/exoflow/run.sh",
                               "/var/log/exoflow/app.log", "/opt/exoflow/app"));
  s += "systemctl daemon-reload\n";
  s += proxy ? "systemctl enable --now exo-proxy.service exoflow-app.service\n"
             : "systemctl enable --now exoflow-app.service\n";
  return s;
}

} // namespace

Json customData(ArmTemplate& t, const model::App& app, const model::Target& self,
                const std::vector<ServiceNames>& names, const Layout& layout,
                const std::string& proxy_config, bool inline_proxy) {
  t.addVariable(kScriptVar, armLiteral(body(app, self, names, layout, proxy_config, inline_proxy)));
  ArmConcat c = head(app, self, names, layout);
  c.expr(armVar(kScriptVar));
  return armExpr("base64(" + c.str() + ")");
}

std::size_t customDataSize(const Json& tmpl) {
  if (!tmpl.contains("variables") || !tmpl["variables"].contains(kScriptVar)) return 0;
  // The head is an expression: its literal text plus a generous size per value ARM fills in.
  std::size_t size = tmpl["variables"][std::string(kScriptVar)].get<std::string>().size();
  for (const Json& r : tmpl["resources"]) {
    if (r["type"] != "Microsoft.Compute/virtualMachineScaleSets") continue;
    const std::string expr =
        r["properties"]["virtualMachineProfile"]["osProfile"]["customData"].get<std::string>();
    std::size_t values = 0;
    for (std::size_t at = expr.find("parameters("); at != std::string::npos;
         at = expr.find("parameters(", at + 1))
      ++values;
    for (std::size_t at = expr.find("reference("); at != std::string::npos;
         at = expr.find("reference(", at + 1))
      ++values;
    size += expr.size() + values * kResolvedBytes;
  }
  return size;
}

} // namespace exoflow::synth::azure
