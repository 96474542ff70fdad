#include <set>

#include <fmt/format.h>

#include "synth/azure/azure.h"
#include "synth/naming.h"

namespace exoflow::synth::azure {

namespace {

/// Parameter and variable stems: "shop-db" -> "shopDb", made unique as the AWS ids are.
std::vector<std::string> uniqueIds(const model::App& app) {
  std::vector<std::string> ids;
  std::set<std::string> seen;
  for (const model::Service& s : app.services) {
    std::string id = logicalId(s.name);
    id[0] = static_cast<char>(id[0] - 'A' + 'a');
    if (seen.contains(id)) id += "X" + shortHash(s.name, 6);
    seen.insert(id);
    ids.push_back(std::move(id));
  }
  return ids;
}

/// A name of `kind` for `service`, leaving `reserve` characters for suffixes, and different
/// from every name already in `taken` (the names of one storage account's queues, containers
/// or tables share one namespace each).
std::string distinctName(NameKind kind, std::string_view service, std::size_t reserve,
                         std::set<std::string>& taken) {
  std::string name = fitName(kind, {service}, reserve);
  if (name.size() < nameRule(kind).min_length) name = fitName(kind, {service});
  if (taken.contains(name)) name = fitName(kind, {service, shortHash(service, 6)}, reserve);
  taken.insert(name);
  return name;
}

} // namespace

std::string spillContainer(std::string_view queue) {
  return std::string(queue) + "-spill";
}

std::vector<ServiceNames> serviceNames(const model::App& app) {
  const std::vector<std::string> ids = uniqueIds(app);
  std::set<std::string> queues;
  std::set<std::string> containers;
  std::set<std::string> tables;
  // A queue's dead-letter queue and spill containers are derived from its name: room is kept
  // for "-dlq-spill".
  std::vector<ServiceNames> all;
  all.reserve(app.services.size());
  for (std::size_t i = 0; i < app.services.size(); ++i) {
    const model::Service& s = app.services[i];
    ServiceNames n;
    n.id = ids[i];
    if (const auto* q = std::get_if<model::QueueSpec>(&s.spec)) {
      n.name = distinctName(NameKind::kAzureQueue, s.name, 10, queues);
      containers.insert(spillContainer(n.name));
      if (q->dead_letter_after) {
        n.dead_letter = n.name + "-dlq";
        queues.insert(n.dead_letter);
        containers.insert(spillContainer(n.dead_letter));
      }
    } else if (std::holds_alternative<model::ObjectsSpec>(s.spec)) {
      n.name = distinctName(NameKind::kAzureBlobContainer, s.name, 0, containers);
    } else if (std::holds_alternative<model::KvSpec>(s.spec)) {
      n.name = distinctName(NameKind::kAzureTable, s.name, 0, tables);
    } else {
      n.name = fitName(NameKind::kAzureFlexibleServer, {app.name, s.name}, kUniqueStringLength + 1);
      n.database = fitName(NameKind::kAzureDatabase, {s.name});
      n.secret = fmt::format("db-{}-password", s.name);
    }
    all.push_back(std::move(n));
  }
  return all;
}

std::string resourceGroupName(const model::App& app, std::string_view region) {
  return fitName(NameKind::kAzureResourceGroup, {app.name, region});
}

std::vector<std::string> azureRegions(const model::App& app) {
  std::vector<std::string> regions;
  for (const model::Target& t : app.targets) {
    if (t.cloud == model::Cloud::kAzure) regions.push_back(t.region);
  }
  return regions;
}

std::string uniqueName(std::string_view prefix, std::string_view seed) {
  return fmt::format("concat({}, uniqueString({}))", armQuote(prefix), seed);
}

std::string identityName(const model::App& app) {
  return app.name + "-instances";
}

std::string artifactAccountExpr(const model::App& app) {
  return uniqueName(fitName(NameKind::kAzureStorageAccount, {app.name, "art"}, kUniqueStringLength),
                    fmt::format("subscription().id, {}", armQuote(app.name)));
}

Layout layoutOf(const model::App& app) {
  Layout l;
  l.compute = app.compute.has_value();
  l.routes = l.compute && !app.routes.empty();
  for (const model::Service& s : app.services) {
    if (const auto* db = std::get_if<model::DatabaseSpec>(&s.spec)) {
      l.postgres = l.postgres || db->engine == model::DbEngine::kPostgres;
      l.mysql = l.mysql || db->engine == model::DbEngine::kMysql;
    } else {
      l.storage = true;
    }
  }
  l.peers =
      l.compute && !app.services.empty() && app.failover.has_value() && app.targets.size() > 1;
  return l;
}

CoreNames coreNames(const model::App& app) {
  const std::string& a = app.name;
  return {a + "-vnet", a + "-app-nsg",   a + "-gateway", a + "-gateway-ip",
          a + "-vmss", a + "-autoscale", a + "-peer-lb", a + "-peer-ip"};
}

std::string artifactPrefix(const model::App& app) {
  return app.name + "/";
}

std::string targetPrefix(const model::App& app, const model::Target& self) {
  return fmt::format("{}azure-{}/", artifactPrefix(app), self.region);
}

Json roleAssignment(std::string_view role_id, std::string_view principal,
                    std::string_view principal_key, std::string_view scope_id, Json depends_on) {
  return {
      {"type", "Microsoft.Authorization/roleAssignments"},
      {"apiVersion", api::kAuthorization},
      {"name",
       armExpr(fmt::format("guid({}, {}, {})", scope_id, principal_key, armQuote(role_id)))},
      {"scope", armExpr(scope_id)},
      {"properties",
       {{"roleDefinitionId", armExpr(fmt::format("subscriptionResourceId('Microsoft.Authorization/"
                                                 "roleDefinitions', {})",
                                                 armQuote(role_id)))},
        {"principalId", armExpr(principal)},
        {"principalType", "ServicePrincipal"}}},
      {"dependsOn", std::move(depends_on)}};
}

} // namespace exoflow::synth::azure
