#include <fmt/format.h>

#include "synth/azure/azure.h"

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

class StorageWriter {
public:
  StorageWriter(ArmTemplate& t, bool assign) : t_(t), assign_(assign) {}

  void serviceRoot(std::string_view service, Json properties) {
    t_.addResource(
        {{"type", serviceType(service)},
         {"apiVersion", api::kStorage},
         {"name", armExpr(fmt::format("format('{{0}}/default', {})", armVar(kStorageVar)))},
         {"properties", std::move(properties)},
         {"dependsOn", {armIdExpr(kAccountType, {armVar(kStorageVar)})}}});
  }

  /// A queue, container or table and, for the instances, `role` on exactly that resource.
  /// Containers are nested in their blob service: the schema of a top-level container's name
  /// is the container's own name and admits no "account/default/container" expression.
  void child(std::string_view service, std::string_view name, Json properties,
             std::string_view role) {
    if (service == "blob") {
      containers_.push_back(
          {{"type", "containers"},
           {"apiVersion", api::kStorage},
           {"name", armLiteral(name)},
           {"properties", std::move(properties)},
           {"dependsOn", {armIdExpr(serviceType(service), {armVar(kStorageVar), "'default'"})}}});
      assign(service, name, role);
      return;
    }
    t_.addResource(
        {{"type", childType(service)},
         {"apiVersion", api::kStorage},
         {"name", armExpr(fmt::format("format('{{0}}/default/{{1}}', {}, {})", armVar(kStorageVar),
                                      armQuote(name)))},
         {"properties", std::move(properties)},
         {"dependsOn", {armIdExpr(serviceType(service), {armVar(kStorageVar), "'default'"})}}});
    assign(service, name, role);
  }

  /// The blob service with its containers, then the role assignments on them.
  void finish(Json blob_properties) {
    if (containers_.empty()) return;
    Json root = {{"type", serviceType("blob")},
                 {"apiVersion", api::kStorage},
                 {"name", armExpr(fmt::format("format('{{0}}/default', {})", armVar(kStorageVar)))},
                 {"properties", std::move(blob_properties)},
                 {"dependsOn", {armIdExpr(kAccountType, {armVar(kStorageVar)})}},
                 {"resources", std::move(containers_)}};
    t_.addResource(std::move(root));
    for (Json& r : blob_roles_)
      t_.addResource(std::move(r));
  }

private:
  void assign(std::string_view service, std::string_view name, std::string_view role) {
    if (!assign_) return;
    const std::string principal = armParam("identityPrincipalId");
    Json r = roleAssignment(role, principal, principal, childId(service, name),
                            {armExpr(childId(service, name))});
    if (service == "blob") {
      blob_roles_.push_back(std::move(r));
    } else {
      t_.addResource(std::move(r));
    }
  }

  ArmTemplate& t_;
  bool assign_;
  Json containers_ = Json::array();
  std::vector<Json> blob_roles_;
};

} // namespace

void addStorage(ArmTemplate& t, const model::App& app, const model::Target& self,
                const std::vector<ServiceNames>& names, const Layout& layout) {
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
  StorageWriter w(t, layout.compute);
  if (queues) w.serviceRoot("queue", Json::object());
  if (tables) w.serviceRoot("table", Json::object());
  const Json private_container = {{"publicAccess", "None"}};
  for (std::size_t i = 0; i < app.services.size(); ++i) {
    const model::Service& s = app.services[i];
    const ServiceNames& n = names[i];
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
    }
  }
  if (blobs) w.finish({{"isVersioningEnabled", versioning}});
  t.addOutput("storageAccountName", "string", armExpr(armVar(kStorageVar)));
}

} // namespace exoflow::synth::azure
