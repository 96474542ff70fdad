#include <array>

#include <fmt/format.h>

#include "synth/azure/azure.h"
#include "synth/peer_parameters.h"
#include "synth/sizes.h"

namespace exoflow::synth::azure {

namespace {

/// The storage sizes a PostgreSQL flexible server offers, in GiB.
constexpr std::array<int, 11> kPostgresStorage = {32,   64,   128,  256,   512,  1024,
                                                  2048, 4096, 8192, 16384, 32767};
constexpr int kMysqlMinStorage = 20;

bool isPostgres(model::DbEngine e) {
  return e == model::DbEngine::kPostgres;
}

std::string vaultId() {
  return armResourceId("Microsoft.KeyVault/vaults", {armVar(kKeyVaultVar)});
}

std::string linkName(const model::App& app, model::DbEngine engine) {
  return armExpr(
      fmt::format("format('{{0}}/{{1}}', {}, 'vnet')", armQuote(privateDnsZone(app, engine))));
}

void addPrivateDns(ArmTemplate& t, const model::App& app, model::DbEngine engine) {
  const std::string zone = privateDnsZone(app, engine);
  t.addResource({{"type", "Microsoft.Network/privateDnsZones"},
                 {"apiVersion", api::kPrivateDns},
                 {"name", zone},
                 {"location", "global"},
                 {"properties", Json::object()}});
  t.addResource(
      {{"type", "Microsoft.Network/privateDnsZones/virtualNetworkLinks"},
       {"apiVersion", api::kPrivateDns},
       {"name", linkName(app, engine)},
       {"location", "global"},
       {"properties",
        {{"registrationEnabled", false},
         {"virtualNetwork",
          {{"id",
            armIdExpr("Microsoft.Network/virtualNetworks", {armQuote(coreNames(app).vnet)})}}}}},
       {"dependsOn",
        {armIdExpr("Microsoft.Network/privateDnsZones", {armQuote(zone)}),
         armIdExpr("Microsoft.Network/virtualNetworks", {armQuote(coreNames(app).vnet)})}}});
}

void addKeyVault(ArmTemplate& t, const model::Target& self, const Layout& layout) {
  t.addResource({{"type", "Microsoft.KeyVault/vaults"},
                 {"apiVersion", api::kKeyVault},
                 {"name", armExpr(armVar(kKeyVaultVar))},
                 {"location", self.region},
                 {"properties",
                  {{"tenantId", "[subscription().tenantId]"},
                   {"sku", {{"family", "A"}, {"name", "standard"}}},
                   {"enableRbacAuthorization", true},
                   {"enableSoftDelete", true},
                   {"softDeleteRetentionInDays", 7}}}});
  if (!layout.compute) return;
  const std::string principal = armParam("identityPrincipalId");
  t.addResource(roleAssignment(role::kKeyVaultSecretsUser, principal, principal, vaultId(),
                               {armExpr(vaultId())}));
}

std::string_view peerParameter(const PeerSecret& secret) {
  const PeerParameters& p = kAzurePeerParameters;
  if (secret.file == "ca.crt") return p.ca_cert;
  if (secret.file == "proxy.crt") return p.cert;
  if (secret.file == "proxy.key") return p.key;
  return p.token;
}

std::string secretName(std::string_view secret) {
  return armExpr(
      fmt::format("format('{{0}}/{{1}}', {}, {})", armVar(kKeyVaultVar), armQuote(secret)));
}

/// The peer TLS files and token, each a secret the instances read with their identity.
void addPeerSecrets(ArmTemplate& t) {
  for (const PeerSecret& s : kPeerSecrets) {
    t.addResource({{"type", "Microsoft.KeyVault/vaults/secrets"},
                   {"apiVersion", api::kKeyVault},
                   {"name", secretName(s.secret)},
                   {"properties", {{"value", armExpr(armParam(peerParameter(s)))}}},
                   {"dependsOn", {armExpr(vaultId())}}});
  }
}

/// The storage the manifest asks for, as the engine offers it.
int storageSize(const model::DatabaseSpec& db) {
  if (!isPostgres(db.engine)) return std::max(db.storage_gib, kMysqlMinStorage);
  for (int size : kPostgresStorage) {
    if (size >= db.storage_gib) return size;
  }
  return kPostgresStorage.back();
}

Json serverProperties(const model::App& app, const model::DatabaseSpec& db, const ServiceNames& n) {
  const std::string subnet =
      armIdExpr("Microsoft.Network/virtualNetworks/subnets",
                {armQuote(coreNames(app).vnet),
                 armQuote(isPostgres(db.engine) ? kPostgresSubnet : kMysqlSubnet)});
  const std::string zone =
      armIdExpr("Microsoft.Network/privateDnsZones", {armQuote(privateDnsZone(app, db.engine))});
  Json network = {
      {"delegatedSubnetResourceId", subnet},
      {isPostgres(db.engine) ? "privateDnsZoneArmResourceId" : "privateDnsZoneResourceId", zone},
      {"publicNetworkAccess", "Disabled"}};
  return {{"version", engineVersion(db.engine, db.version)->azure_version},
          {"administratorLogin", kDatabaseUser},
          {"administratorLoginPassword", armExpr(armParam(n.id + "AdminPassword"))},
          {"storage", {{"storageSizeGB", storageSize(db)}, {"autoGrow", "Enabled"}}},
          {"network", std::move(network)},
          {"highAvailability", {{"mode", db.ha ? "ZoneRedundant" : "Disabled"}}},
          {"backup", {{"backupRetentionDays", 7}, {"geoRedundantBackup", "Disabled"}}}};
}

void addServer(ArmTemplate& t, const model::App& app, const model::Target& self,
               const model::Service& s, const ServiceNames& n, std::vector<std::string>& notes) {
  const auto& db = std::get<model::DatabaseSpec>(s.spec);
  DatabaseSize size = databaseSize(db.size);
  if (db.ha && size.azure_tier == "Burstable") {
    size = databaseSize(model::Size::kMedium);
    notes.push_back(fmt::format("azure {}: services.{}: ha needs the GeneralPurpose tier, which "
                                "Burstable ({}) is not; the server is {}",
                                self.region, s.name, databaseSize(db.size).azure_sku,
                                size.azure_sku));
  }
  if (storageSize(db) != db.storage_gib) {
    notes.push_back(fmt::format("azure {}: services.{}: storage {} GiB is not offered; the server "
                                "has {} GiB",
                                self.region, s.name, db.storage_gib, storageSize(db)));
  }
  const std::string type = serverType(db.engine);
  const std::string server_id = armResourceId(type, {armVar(serverVar(n))});
  t.addResource({{"type", "Microsoft.KeyVault/vaults/secrets"},
                 {"apiVersion", api::kKeyVault},
                 {"name", armExpr(fmt::format("format('{{0}}/{{1}}', {}, {})", armVar(kKeyVaultVar),
                                              armQuote(n.secret)))},
                 {"properties", {{"value", armExpr(armParam(n.id + "AdminPassword"))}}},
                 {"dependsOn", {armExpr(vaultId())}}});
  const std::string link = armResourceId("Microsoft.Network/privateDnsZones/virtualNetworkLinks",
                                         {armQuote(privateDnsZone(app, db.engine)), "'vnet'"});
  t.addResource({{"type", type},
                 {"apiVersion", serverApi(db.engine)},
                 {"name", armExpr(armVar(serverVar(n)))},
                 {"location", self.region},
                 {"sku", {{"name", size.azure_sku}, {"tier", size.azure_tier}}},
                 {"properties", serverProperties(app, db, n)},
                 {"dependsOn",
                  {armIdExpr("Microsoft.Network/virtualNetworks", {armQuote(coreNames(app).vnet)}),
                   armExpr(link)}}});
  const bool pg = isPostgres(db.engine);
  t.addResource({{"type", type + "/databases"},
                 {"apiVersion", serverApi(db.engine)},
                 {"name", armExpr(fmt::format("format('{{0}}/{{1}}', {}, {})", armVar(serverVar(n)),
                                              armQuote(n.database)))},
                 {"properties",
                  {{"charset", pg ? "UTF8" : "utf8mb4"},
                   {"collation", pg ? "en_US.utf8" : "utf8mb4_0900_ai_ci"}}},
                 {"dependsOn", {armExpr(server_id)}}});
  t.addOutput(n.id + "Host", "string",
              armExpr(fmt::format("reference({}, {}).fullyQualifiedDomainName", server_id,
                                  armQuote(serverApi(db.engine)))));
}

} // namespace

std::string peerSecretId(const PeerSecret& secret) {
  return armIdExpr("Microsoft.KeyVault/vaults/secrets",
                   {armVar(kKeyVaultVar), armQuote(secret.secret)});
}

std::string serverVar(const ServiceNames& names) {
  return names.id + "Server";
}

std::string serverType(model::DbEngine engine) {
  return isPostgres(engine) ? "Microsoft.DBforPostgreSQL/flexibleServers"
                            : "Microsoft.DBforMySQL/flexibleServers";
}

std::string_view serverApi(model::DbEngine engine) {
  return isPostgres(engine) ? api::kPostgres : api::kMysql;
}

std::string privateDnsZone(const model::App& app, model::DbEngine engine) {
  return fmt::format("{}.private.{}.database.azure.com", app.name,
                     isPostgres(engine) ? "postgres" : "mysql");
}

void addDatabases(ArmTemplate& t, const model::App& app, const model::Target& self,
                  const std::vector<ServiceNames>& names, const Layout& layout,
                  std::vector<std::string>& notes) {
  if (!layout.keyVault()) return;
  addKeyVault(t, self, layout);
  if (layout.peers) addPeerSecrets(t);
  if (layout.postgres) addPrivateDns(t, app, model::DbEngine::kPostgres);
  if (layout.mysql) addPrivateDns(t, app, model::DbEngine::kMysql);
  for (std::size_t i = 0; i < app.services.size(); ++i) {
    if (std::holds_alternative<model::DatabaseSpec>(app.services[i].spec))
      addServer(t, app, self, app.services[i], names[i], notes);
  }
  t.addOutput("keyVaultName", "string", armExpr(armVar(kKeyVaultVar)));
}

} // namespace exoflow::synth::azure
