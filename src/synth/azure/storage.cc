#include <algorithm>

#include <fmt/format.h>

#include "synth/azure/azure.h"
#include "synth/naming.h"

namespace exoflow::synth::azure {

namespace {

constexpr std::string_view kAccountType = "Microsoft.Storage/storageAccounts";

/// The services of one storage account: "queue", "blob" or "table".
std::string serviceType(std::string_view service) {
  return fmt::format("Microsoft.Storage/storageAccounts/{}Services", service);
}

std::string childType(std::string_view service) {
  std::string_view child = service == "queue"  ? "queues"
                           : service == "blob" ? "containers"
                                               : "tables";
  return fmt::format("{}/{}", serviceType(service), child);
}

std::string childId(std::string_view service, std::string_view name) {
  return armResourceId(childType(service), {armVar(kStorageVar), "'default'", armQuote(name)});
}

/// The resources of one service: queues and tables with their role assignments, and the
/// containers (nested in the blob service) with theirs. A unit never splits.
struct Unit {
  std::vector<Json> resources;
  Json containers = Json::array();
  std::vector<Json> container_roles;
  [[nodiscard]] std::size_t count() const {
    return resources.size() + containers.size() + container_roles.size();
  }
};

std::string rootId(std::string_view service) {
  return armIdExpr(serviceType(service), {armVar(kStorageVar), "'default'"});
}

Json serviceRoot(std::string_view service, Json properties) {
  return {{"type", serviceType(service)},
          {"apiVersion", api::kStorage},
          {"name", armExpr(fmt::format("format('{{0}}/default', {})", armVar(kStorageVar)))},
          {"properties", std::move(properties)},
          {"dependsOn", {armIdExpr(kAccountType, {armVar(kStorageVar)})}}};
}

/// The blob service with `containers` nested: the schema of a top-level container's name is
/// the container's own name and admits no "account/default/container" expression.
Json blobRoot(Json properties, Json containers) {
  Json root = serviceRoot("blob", std::move(properties));
  root["resources"] = std::move(containers);
  return root;
}

class UnitWriter {
public:
  UnitWriter(Unit& unit, bool assign) : unit_(unit), assign_(assign) {}

  /// A queue, container or table and, for the instances, `role` on exactly that resource.
  void child(std::string_view service, std::string_view name, Json properties,
             std::string_view role) {
    if (service == "blob") {
      unit_.containers.push_back({{"type", "containers"},
                                  {"apiVersion", api::kStorage},
                                  {"name", armLiteral(name)},
                                  {"properties", std::move(properties)},
                                  {"dependsOn", {rootId("blob")}}});
    } else {
      unit_.resources.push_back(
          {{"type", childType(service)},
           {"apiVersion", api::kStorage},
           {"name", armExpr(fmt::format("format('{{0}}/default/{{1}}', {}, {})",
                                        armVar(kStorageVar), armQuote(name)))},
           {"properties", std::move(properties)},
           {"dependsOn", {rootId(service)}}});
    }
    if (!assign_) return;
    const std::string principal = armParam("identityPrincipalId");
    Json r = roleAssignment(role, principal, principal, childId(service, name),
                            {armExpr(childId(service, name))});
    (service == "blob" ? unit_.container_roles : unit_.resources).push_back(std::move(r));
  }

private:
  Unit& unit_;
  bool assign_;
};

std::vector<Unit> renderUnits(const model::App& app, const std::vector<ServiceNames>& names,
                              bool assign) {
  std::vector<Unit> units;
  const Json private_container = {{"publicAccess", "None"}};
  for (std::size_t i = 0; i < app.services.size(); ++i) {
    const model::Service& s = app.services[i];
    const ServiceNames& n = names[i];
    Unit unit;
    UnitWriter w(unit, assign);
    if (std::holds_alternative<model::QueueSpec>(s.spec)) {
      for (const std::string& q : {n.name, n.dead_letter}) {
        if (q.empty()) continue;
        w.child("queue", q, Json::object(), role::kStorageQueueDataContributor);
        w.child("blob", spillContainer(q), private_container, role::kStorageBlobDataContributor);
      }
    } else if (const auto* o = std::get_if<model::ObjectsSpec>(&s.spec)) {
      w.child("blob", n.name, {{"publicAccess", o->public_read ? "Blob" : "None"}},
              role::kStorageBlobDataContributor);
    } else if (std::holds_alternative<model::KvSpec>(s.spec)) {
      w.child("table", n.name, Json::object(), role::kStorageTableDataContributor);
    } else {
      continue;
    }
    units.push_back(std::move(unit));
  }
  return units;
}

/// Everything in the app template itself, in the order of the units.
void addFlat(ArmTemplate& t, std::vector<Unit> units, const Json& blob_properties) {
  Json containers = Json::array();
  std::vector<Json> container_roles;
  for (Unit& u : units) {
    for (Json& r : u.resources)
      t.addResource(std::move(r));
    for (Json& c : u.containers)
      containers.push_back(std::move(c));
    for (Json& r : u.container_roles)
      container_roles.push_back(std::move(r));
  }
  if (!containers.empty()) t.addResource(blobRoot(blob_properties, std::move(containers)));
  for (Json& r : container_roles)
    t.addResource(std::move(r));
}

/// The resources that stay in the app template, which a nested part cannot name.
const std::vector<std::string>& outerIds() {
  static const std::vector<std::string> ids = {armIdExpr(kAccountType, {armVar(kStorageVar)}),
                                               rootId("queue"), rootId("table")};
  return ids;
}

Json withoutOuterDependencies(Json r) {
  if (!r.contains("dependsOn")) return r;
  Json kept = Json::array();
  for (const Json& d : r["dependsOn"]) {
    const auto& ids = outerIds();
    if (std::find(ids.begin(), ids.end(), d.get<std::string>()) == ids.end()) kept.push_back(d);
  }
  if (kept.empty()) {
    r.erase("dependsOn");
  } else {
    r["dependsOn"] = std::move(kept);
  }
  return r;
}

/// One nested deployment of services, deployed after the account and the previous part. Its
/// template is evaluated in the app template's scope, so it names the storage account and the
/// identity with the app template's own variables and parameters.
Json nestedPart(const model::App& app, const model::Target& self, std::size_t number,
                std::vector<Unit> units, const Json& blob_properties, Json depends_on) {
  ArmTemplate inner(
      ArmScope::kResourceGroup,
      fmt::format("ExoFlow app {} on azure {}: services, part {}", app.name, self.region, number));
  Json containers = Json::array();
  std::vector<Json> container_roles;
  for (Unit& u : units) {
    for (Json& r : u.resources)
      inner.addResource(withoutOuterDependencies(std::move(r)));
    for (Json& c : u.containers)
      containers.push_back(std::move(c));
    for (Json& r : u.container_roles)
      container_roles.push_back(std::move(r));
  }
  if (!containers.empty())
    inner.addResource(withoutOuterDependencies(blobRoot(blob_properties, std::move(containers))));
  for (Json& r : container_roles)
    inner.addResource(std::move(r));
  return {{"type", "Microsoft.Resources/deployments"},
          {"apiVersion", api::kResources},
          {"name", fmt::format("{}-services-{}", app.name, number)},
          {"dependsOn", std::move(depends_on)},
          {"properties",
           {{"mode", "Incremental"},
            {"expressionEvaluationOptions", {{"scope", "Outer"}}},
            {"template", inner.toJson()}}}};
}

/// The units spread over nested deployments, each within ARM's resource quota.
void addSplit(ArmTemplate& t, const model::App& app, const model::Target& self,
              std::vector<Unit> units, const Json& blob_properties, const Json& roots) {
  std::vector<std::vector<Unit>> parts;
  std::size_t in_part = 0;
  for (Unit& u : units) {
    // One resource of each part is its own copy of the blob service.
    if (parts.empty() || in_part + u.count() + 1 > kArmMaxResources) {
      parts.emplace_back();
      in_part = 0;
    }
    in_part += u.count();
    parts.back().push_back(std::move(u));
  }
  std::string previous;
  for (std::size_t p = 0; p < parts.size(); ++p) {
    Json depends = roots;
    if (!previous.empty()) depends.push_back(previous);
    const std::string name = fmt::format("{}-services-{}", app.name, p + 1);
    t.addResource(
        nestedPart(app, self, p + 1, std::move(parts[p]), blob_properties, std::move(depends)));
    previous = armIdExpr("Microsoft.Resources/deployments", {armQuote(name)});
  }
}

} // namespace

std::string storageAccountExpr(const model::App& app) {
  return uniqueName(fitName(NameKind::kAzureStorageAccount, {app.name}, kUniqueStringLength),
                    "resourceGroup().id");
}

void addStorage(ArmTemplate& t, const model::App& app, const model::Target& self,
                const std::vector<ServiceNames>& names, const Layout& layout, bool split) {
  if (!layout.storage) return;
  bool public_read = false;
  bool versioning = false;
  bool queues = false;
  bool blobs = false;
  bool tables = false;
  for (const model::Service& s : app.services) {
    if (const auto* o = std::get_if<model::ObjectsSpec>(&s.spec)) {
      public_read = public_read || o->public_read;
      versioning = versioning || o->versioning;
      blobs = true;
    }
    queues = queues || std::holds_alternative<model::QueueSpec>(s.spec);
    tables = tables || std::holds_alternative<model::KvSpec>(s.spec);
  }
  blobs = blobs || queues; // the queues' spill containers
  t.addResource({{"type", kAccountType},
                 {"apiVersion", api::kStorage},
                 {"name", armExpr(armVar(kStorageVar))},
                 {"location", self.region},
                 {"kind", "StorageV2"},
                 {"sku", {{"name", "Standard_LRS"}}},
                 {"properties",
                  {{"accessTier", "Hot"},
                   {"supportsHttpsTrafficOnly", true},
                   {"minimumTlsVersion", "TLS1_2"},
                   {"allowBlobPublicAccess", public_read},
                   {"allowSharedKeyAccess", false}}}});
  Json roots = {armIdExpr(kAccountType, {armVar(kStorageVar)})};
  if (queues) {
    t.addResource(serviceRoot("queue", Json::object()));
    roots.push_back(rootId("queue"));
  }
  if (tables) {
    t.addResource(serviceRoot("table", Json::object()));
    roots.push_back(rootId("table"));
  }
  const Json blob_properties = {{"isVersioningEnabled", versioning}};
  std::vector<Unit> units = renderUnits(app, names, layout.compute);
  if (split) {
    addSplit(t, app, self, std::move(units), blob_properties, roots);
  } else {
    addFlat(t, std::move(units), blob_properties);
  }
  t.addOutput("storageAccountName", "string", armExpr(armVar(kStorageVar)));
}

} // namespace exoflow::synth::azure
