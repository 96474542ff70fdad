#include "synth/azure/app_template.h"

#include <fmt/format.h>

#include "synth/azure/azure.h"
#include "synth/naming.h"
#include "synth/peer_parameters.h"
#include "synth/proxy_config.h"
#include "synth/sizes.h"

namespace exoflow::synth::azure {

namespace {

constexpr std::size_t kMaxExpressionChars = 24'576;

Json stringParameter(std::string_view description) {
  return {{"type", "string"}, {"metadata", {{"description", description}}}};
}

std::string description(const model::App& app, const model::Target& self) {
  return fmt::format("ExoFlow app {} on azure {}: network, gateway, instances and services "
                     "(written by exoflow synth)",
                     app.name, self.region);
}

void addOutputs(ArmTemplate& t, const model::App& app, const Layout& layout) {
  const CoreNames names = coreNames(app);
  if (layout.routes) {
    const std::string ip =
        armResourceId("Microsoft.Network/publicIPAddresses", {armQuote(names.gateway_ip)});
    t.addOutput(
        "gatewayFqdn", "string",
        armExpr(fmt::format("reference({}, {}).dnsSettings.fqdn", ip, armQuote(api::kNetwork))));
    t.addOutput("gatewayIpAddressId", "string", armExpr(ip));
  }
  if (layout.peers) {
    const std::string ip =
        armResourceId("Microsoft.Network/publicIPAddresses", {armQuote(names.peer_ip)});
    t.addOutput("peerUrl", "string",
                armExpr(fmt::format("concat('https://', reference({}, {}).ipAddress, ':7443')", ip,
                                    armQuote(api::kNetwork))));
  }
}

AppTemplate build(const model::App& app, const model::Target& self,
                  const std::vector<ServiceNames>& names, AppTemplate out) {
  const Layout layout = layoutOf(app);
  ArmTemplate t(ArmScope::kResourceGroup, description(app, self));
  addParameters(t, app, self, names, layout);
  addVariables(t, app, layout);
  for (std::size_t i = 0; i < app.services.size(); ++i) {
    if (std::holds_alternative<model::DatabaseSpec>(app.services[i].spec)) {
      t.addVariable(serverVar(names[i]),
                    armExpr(uniqueName(names[i].name + "-", "resourceGroup().id")));
    }
  }
  addNetwork(t, app, self, layout);
  addGateway(t, app, self, layout);
  if (layout.peers) addPeerBalancer(t, app, self);
  addStorage(t, app, self, names, layout, out.split_services);
  out.notes.clear();
  addDatabases(t, app, self, names, layout, out.notes);
  if (layout.compute) {
    const Json custom =
        customData(t, app, self, names, layout, out.proxy_config, out.proxy_config_inline);
    addCompute(t, app, self, layout, custom);
  }
  addOutputs(t, app, layout);
  out.tmpl = t.resourceCount() == 0 ? Json() : t.toJson();
  return out;
}

/// Resources as ARM counts them: nested children too.
std::size_t countResources(const Json& resources) {
  std::size_t n = resources.size();
  for (const Json& r : resources) {
    if (r.contains("resources")) n += countResources(r["resources"]);
  }
  return n;
}

std::string customDataExpr(const Json& tmpl) {
  for (const Json& r : tmpl["resources"]) {
    if (r["type"] == "Microsoft.Compute/virtualMachineScaleSets")
      return r["properties"]["virtualMachineProfile"]["osProfile"]["customData"];
  }
  return "";
}

} // namespace

std::string peerUrlParameter(const model::Target& target) {
  return "peer" + logicalId(peerName(target)) + "Url";
}

void addParameters(ArmTemplate& t, const model::App& app, const model::Target& self,
                   const std::vector<ServiceNames>& names, const Layout& layout) {
  if (layout.compute) {
    t.addParameter("artifactStorageAccount",
                   stringParameter("The bootstrap's artifact storage account (its "
                                   "artifactStorageAccount output)"));
    Json container = stringParameter("The bootstrap's artifact container");
    container["defaultValue"] = kArtifactContainer;
    t.addParameter("artifactContainer", std::move(container));
    t.addParameter("identityId",
                   stringParameter("The instances' managed identity (the bootstrap's identityId "
                                   "output)"));
    t.addParameter("identityClientId", stringParameter("The bootstrap's identityClientId output"));
    if (layout.storage || layout.keyVault()) {
      t.addParameter("identityPrincipalId",
                     stringParameter("The bootstrap's identityPrincipalId output"));
    }
    t.addParameter("adminSshPublicKey",
                   stringParameter("An SSH public key for the instances' exoflow user"));
  }
  if (layout.peers) {
    for (const model::Target& other : app.targets) {
      if (&other == &self) continue;
      t.addParameter(peerUrlParameter(other),
                     stringParameter(fmt::format("The peer URL of {} (its stack's or "
                                                 "deployment's peer output)",
                                                 peerName(other))));
    }
    // No defaults: exoflow deploy passes the files of exoflow certs; the key vault keeps them.
    const std::string peer = peerName(self);
    const auto secret = [&](std::string_view name, const std::string& what) {
      t.addParameter(name, {{"type", "securestring"},
                            {"metadata", {{"description", what + " (from exoflow deploy)"}}}});
    };
    secret(kAzurePeerParameters.ca_cert, "certs/ca.crt of exoflow certs");
    secret(kAzurePeerParameters.cert, fmt::format("certs/{}.crt of exoflow certs", peer));
    secret(kAzurePeerParameters.key, fmt::format("certs/{}.key of exoflow certs", peer));
    secret(kAzurePeerParameters.token,
           "certs/peer-token: the token every target's proxies present to each other");
  }
  for (std::size_t i = 0; i < app.services.size(); ++i) {
    if (!std::holds_alternative<model::DatabaseSpec>(app.services[i].spec)) continue;
    t.addParameter(
        names[i].id + "AdminPassword",
        {{"type", "securestring"},
         {"defaultValue", "[newGuid()]"},
         {"metadata",
          {{"description", fmt::format("The admin password of {}; a new one on each deployment "
                                       "unless given, kept in the key vault as {}",
                                       app.services[i].name, names[i].secret)}}}});
  }
}

void addVariables(ArmTemplate& t, const model::App& app, const Layout& layout) {
  if (layout.storage) {
    t.addVariable(kStorageVar, armExpr(uniqueName(fitName(NameKind::kAzureStorageAccount,
                                                          {app.name}, kUniqueStringLength),
                                                  "resourceGroup().id")));
  }
  if (layout.keyVault()) {
    t.addVariable(
        kKeyVaultVar,
        armExpr(uniqueName(
            fitName(NameKind::kAzureKeyVault, {app.name, "kv"}, kUniqueStringLength + 1) + "-",
            "resourceGroup().id")));
  }
}

std::string azureProxyConfig(const model::App& app, const model::Target& self,
                             const std::vector<ServiceNames>& names) {
  ProxyTargetInfo info;
  info.data_dir = "/var/lib/exoflow/proxy";
  info.credentials = "azure: {source: managed_identity, client_id: \"${EXO_AZURE_CLIENT_ID}\"}";
  const std::string account = "${EXO_AZURE_STORAGE_ACCOUNT}";
  info.local_backend = [&](const model::Service& s) {
    const std::size_t i = static_cast<std::size_t>(&s - app.services.data());
    const ServiceNames& n = names[i];
    if (std::holds_alternative<model::QueueSpec>(s.spec))
      return BackendEntry{"azure.queue", {{"account", account}, {"queue", n.name}}};
    if (std::holds_alternative<model::ObjectsSpec>(s.spec))
      return BackendEntry{"azure.blob", {{"account", account}, {"container", n.name}}};
    if (std::holds_alternative<model::KvSpec>(s.spec))
      return BackendEntry{"azure.table", {{"account", account}, {"table", n.name}}};
    const auto& db = std::get<model::DatabaseSpec>(s.spec);
    const bool pg = db.engine == model::DbEngine::kPostgres;
    return BackendEntry{pg ? "local.postgres" : "local.mysql",
                        {{"host", "${" + databaseVariable(s, "HOST") + "}"},
                         {"port", std::to_string(enginePort(db.engine))},
                         {"database", n.database},
                         {"user", std::string(kDatabaseUser)},
                         {"password", "${" + databaseVariable(s, "PASSWORD") + "}"},
                         {"sslmode", "require"}}};
  };
  return renderProxyConfig(app, self, info);
}

tl::expected<AppTemplate, std::string> renderAppTemplate(const model::App& app,
                                                         const model::Target& self) {
  const std::vector<ServiceNames> names = serviceNames(app);
  AppTemplate out;
  if (!app.services.empty()) out.proxy_config = azureProxyConfig(app, self, names);
  out.proxy_config_inline = out.proxy_config.size() <= kInlineProxyConfigBytes;
  AppTemplate built = build(app, self, names, out);
  if (built.tmpl.is_null()) return built;
  if (countResources(built.tmpl["resources"]) > kArmMaxResources) {
    out.split_services = true; // the services move into nested deployments
    built = build(app, self, names, out);
    std::size_t parts = 0;
    for (const Json& r : built.tmpl["resources"])
      parts += r["type"] == "Microsoft.Resources/deployments" ? 1 : 0;
    built.notes.push_back(fmt::format("azure {}: more than {} resources; the services are split "
                                      "over {} nested deployments",
                                      self.region, kArmMaxResources, parts));
  }
  if (customDataSize(built.tmpl) > kMaxCustomDataBytes && out.proxy_config_inline) {
    out.proxy_config_inline = false; // the instances fetch it from the artifact container
    built = build(app, self, names, out);
  }
  if (const std::size_t size = customDataSize(built.tmpl); size > kMaxCustomDataBytes) {
    return tl::unexpected(fmt::format("the instance start-up data for azure {} comes to about {} "
                                      "bytes, over Azure's {} bytes of customData",
                                      self.region, size, kMaxCustomDataBytes));
  }
  if (const std::size_t chars = customDataExpr(built.tmpl).size(); chars > kMaxExpressionChars) {
    return tl::unexpected(fmt::format("the instance start-up expression for azure {} has {} "
                                      "characters, over ARM's {}; each database adds about 400, "
                                      "so use fewer database services",
                                      self.region, chars, kMaxExpressionChars));
  }
  const std::size_t resources = countResources(built.tmpl["resources"]);
  if (resources > kArmMaxResources) {
    return tl::unexpected(fmt::format("the app template for azure {} has {} resources, over "
                                      "ARM's {}, even with its services in nested deployments",
                                      self.region, resources, kArmMaxResources));
  }
  if (built.tmpl.contains("outputs") && built.tmpl["outputs"].size() > kArmMaxOutputs) {
    return tl::unexpected(fmt::format("the app template for azure {} has {} outputs, over ARM's "
                                      "{}; use fewer database services",
                                      self.region, built.tmpl["outputs"].size(), kArmMaxOutputs));
  }
  return built;
}

} // namespace exoflow::synth::azure
