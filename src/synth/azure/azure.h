#pragma once
// Internals of the Azure renderer: API versions, the names of each service and of the core
// resources, and the parts of the app template. One file per resource kind renders its part.

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "model/app.h"
#include "synth/arm_template.h"
#include "synth/json.h"

namespace exoflow::synth::azure {

/// One apiVersion per resource provider, each one in tests/synth/arm-schemas.
namespace api {
constexpr std::string_view kAuthorization = "2022-04-01";
constexpr std::string_view kCompute = "2024-07-01";
constexpr std::string_view kIdentity = "2023-01-31";
constexpr std::string_view kInsights = "2022-10-01";
constexpr std::string_view kKeyVault = "2023-07-01";
constexpr std::string_view kMysql = "2023-12-30";
constexpr std::string_view kNetwork = "2024-05-01";
constexpr std::string_view kPostgres = "2025-08-01";
constexpr std::string_view kPrivateDns = "2024-06-01";
constexpr std::string_view kResources = "2024-11-01";
constexpr std::string_view kStorage = "2023-05-01";
constexpr std::string_view kTrafficManager = "2022-04-01";
} // namespace api

/// uniqueString() is always 13 characters.
constexpr std::size_t kUniqueStringLength = 13;

/// The names of one service on Azure, the same in every region (each region has its own
/// storage account and servers).
struct ServiceNames {
  std::string id;          ///< stem of parameter and variable names, unique: "shopDb"
  std::string name;        ///< queue, blob container or table; a server's name before its suffix
  std::string dead_letter; ///< a queue with dead_letter: "<queue>-dlq"
  std::string database;    ///< a database: the database created on the server ("shop_db")
  std::string secret;      ///< a database: its password's secret in the key vault
};

std::vector<ServiceNames> serviceNames(const model::App& app);

/// The spill container the proxy uses for a queue's large messages (API.md): "<queue>-spill".
std::string spillContainer(std::string_view queue);

/// The resource group of a target: "<app>-<region>".
std::string resourceGroupName(const model::App& app, std::string_view region);
/// The Azure targets' regions in the manifest's order; the first holds the bootstrap.
std::vector<std::string> azureRegions(const model::App& app);

/// Globally unique names: a fixed prefix from the naming engine and a uniqueString() of
/// `seed` (an expression part), as one expression part.
std::string uniqueName(std::string_view prefix, std::string_view seed);

/// The bootstrap's names, which the app templates receive as parameters.
constexpr std::string_view kArtifactContainer = "artifacts";
std::string identityName(const model::App& app);
/// concat(...) expression part of the artifact storage account name (subscription-unique).
std::string artifactAccountExpr(const model::App& app);

/// The built-in roles the templates assign.
namespace role {
constexpr std::string_view kStorageBlobDataReader = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1";
constexpr std::string_view kStorageBlobDataContributor = "ba92f5b4-2d11-453d-a403-e96b0029c9fe";
constexpr std::string_view kStorageQueueDataContributor = "974c5e8b-45b9-4653-ba55-5f855dd0fb88";
constexpr std::string_view kStorageTableDataContributor = "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3";
constexpr std::string_view kKeyVaultSecretsUser = "4633458b-17de-408a-b874-0445c86b69e6";
} // namespace role

/// A role assignment of `principal` on the resource whose id is `scope_id` (expression parts).
/// Its name is a guid() of the scope, `principal_key` (known before deployment, unlike a
/// principal read with reference()) and the role, so redeploying keeps it.
Json roleAssignment(std::string_view role_id, std::string_view principal,
                    std::string_view principal_key, std::string_view scope_id, Json depends_on);

/// What the app template of one target holds, decided from the manifest alone.
struct Layout {
  bool compute = false;  ///< VM scale set, autoscale, network
  bool routes = false;   ///< application gateway
  bool storage = false;  ///< an app storage account (queues, objects or kv services)
  bool postgres = false; ///< a PostgreSQL flexible server
  bool mysql = false;    ///< a MySQL flexible server
  bool peers = false;    ///< services shared with other targets: a load balancer for peers
  [[nodiscard]] bool databases() const { return postgres || mysql; }
  [[nodiscard]] bool network() const { return compute || databases(); }
  /// A key vault: the databases' passwords, the peer TLS files and token.
  [[nodiscard]] bool keyVault() const { return databases() || peers; }
};
Layout layoutOf(const model::App& app);

/// Resource names inside a target's resource group.
struct CoreNames {
  std::string vnet, nsg, gateway, gateway_ip, vmss, autoscale, peer_lb, peer_ip;
};
CoreNames coreNames(const model::App& app);

/// Variables every part reads: the app storage account and the key vault (unique names).
constexpr std::string_view kStorageVar = "storageAccountName";
constexpr std::string_view kKeyVaultVar = "keyVaultName";

/// The app template's subnets (all in one /16).
constexpr std::string_view kAppSubnet = "app";
constexpr std::string_view kGatewaySubnet = "gateway";
constexpr std::string_view kPostgresSubnet = "postgres";
constexpr std::string_view kMysqlSubnet = "mysql";
constexpr std::string_view kGatewayPrefix = "10.0.2.0/24";

/// The parameter holding the URL of another target's peer listener.
std::string peerUrlParameter(const model::Target& target);

/// The parts of the app template, each added to `t`.
void addParameters(ArmTemplate& t, const model::App& app, const model::Target& self,
                   const std::vector<ServiceNames>& names, const Layout& layout);
void addVariables(ArmTemplate& t, const model::App& app, const Layout& layout);
void addNetwork(ArmTemplate& t, const model::App& app, const model::Target& self,
                const Layout& layout);
void addGateway(ArmTemplate& t, const model::App& app, const model::Target& self,
                const Layout& layout);
void addPeerBalancer(ArmTemplate& t, const model::App& app, const model::Target& self);
/// The app storage account and its queues, containers and tables. `split`: they go into
/// nested deployments `<app>-services-<N>`, each within ARM's 800 resources.
void addStorage(ArmTemplate& t, const model::App& app, const model::Target& self,
                const std::vector<ServiceNames>& names, const Layout& layout, bool split);
/// The app storage account's name, as an expression part (unique per resource group).
std::string storageAccountExpr(const model::App& app);
/// The key vault, the servers and their private DNS; notes say where the manifest's request
/// was adjusted to what Azure offers.
void addDatabases(ArmTemplate& t, const model::App& app, const model::Target& self,
                  const std::vector<ServiceNames>& names, const Layout& layout,
                  std::vector<std::string>& notes);
void addCompute(ArmTemplate& t, const model::App& app, const model::Target& self,
                const Layout& layout, const Json& custom_data);

/// The VM scale set's customData: a small expression that writes the names only the deployment
/// knows, then a literal script (a variable). `inline_proxy`: the proxy config is in the script;
/// else the instances fetch it from the artifact container.
Json customData(ArmTemplate& t, const model::App& app, const model::Target& self,
                const std::vector<ServiceNames>& names, const Layout& layout,
                const std::string& proxy_config, bool inline_proxy);
/// The script's bytes before base64, estimating each name ARM fills in as 128 bytes.
std::size_t customDataSize(const Json& tmpl);
/// Azure takes 65,535 bytes of customData once decoded.
constexpr std::size_t kMaxCustomDataBytes = 65'535;
constexpr std::size_t kInlineProxyConfigBytes = std::size_t{16} * 1024;

/// With peers: the key vault secrets holding the peer TLS files and token (from securestring
/// parameters), as (file in /etc/exoflow/tls, secret name), and their resource ids.
struct PeerSecret {
  std::string_view file;
  std::string_view secret;
};
constexpr std::array<PeerSecret, 4> kPeerSecrets{{{"ca.crt", "peer-ca-crt"},
                                                  {"proxy.crt", "peer-proxy-crt"},
                                                  {"proxy.key", "peer-proxy-key"},
                                                  {"peer-token", "peer-token"}}};
std::string peerSecretId(const PeerSecret& secret);

/// The server name variable of a database service, and its private DNS zone.
std::string serverVar(const ServiceNames& names);
std::string serverType(model::DbEngine engine);
std::string_view serverApi(model::DbEngine engine);
std::string privateDnsZone(const model::App& app, model::DbEngine engine);

/// The admin user of every flexible server.
constexpr std::string_view kDatabaseUser = "exoflow";

/// The proxy config of an Azure target; empty when the app has no services.
std::string azureProxyConfig(const model::App& app, const model::Target& self,
                             const std::vector<ServiceNames>& names);

/// The blob names of the app's files in the artifact container: "<app>/...".
std::string artifactPrefix(const model::App& app);
std::string targetPrefix(const model::App& app, const model::Target& self);

} // namespace exoflow::synth::azure
