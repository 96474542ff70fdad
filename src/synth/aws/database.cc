#include <stdexcept>

#include "synth/aws/aws.h"
#include "synth/sizes.h"

namespace exoflow::synth::aws {

namespace {
constexpr int kBackupDays = 7;
} // namespace

std::string databaseEndpointOutput(const ServiceNames& names) {
  return names.id + "DatabaseEndpoint";
}
std::string databasePortOutput(const ServiceNames& names) {
  return names.id + "DatabasePort";
}
std::string databaseSecretOutput(const ServiceNames& names) {
  return names.id + "DatabaseSecretArn";
}

ServiceUnit renderDatabase(const model::DatabaseSpec& spec, const ServiceNames& names,
                           const Shared& shared) {
  const auto version = engineVersion(spec.engine, spec.version);
  if (!version) throw std::logic_error("no RDS version for " + spec.version);
  ServiceUnit unit;
  unit.uses_database_network = true;
  const std::string db = names.id + "Database";
  const bool postgres = spec.engine == model::DbEngine::kPostgres;
  unit.part.addResource(db, "AWS::RDS::DBInstance",
                        {{"DBInstanceIdentifier", names.name},
                         {"Engine", postgres ? "postgres" : "mysql"},
                         {"EngineVersion", version->aws_version},
                         {"DBInstanceClass", databaseSize(spec.size).aws_instance_class},
                         {"AllocatedStorage", std::to_string(spec.storage_gib)},
                         {"StorageType", "gp3"},
                         {"StorageEncrypted", true},
                         {"MultiAZ", spec.ha},
                         {"DBName", names.database},
                         {"MasterUsername", kDatabaseUser},
                         {"ManageMasterUserPassword", true},
                         {"DBSubnetGroupName", shared.db_subnet_group},
                         {"VPCSecurityGroups", Json::array({shared.db_security_group_id})},
                         {"PubliclyAccessible", false},
                         {"BackupRetentionPeriod", kBackupDays},
                         {"CopyTagsToSnapshot", true},
                         {"AutoMinorVersionUpgrade", true}},
                        {{"DeletionPolicy", "Snapshot"}, {"UpdateReplacePolicy", "Snapshot"}});
  unit.part.addOutput(databaseEndpointOutput(names), getAtt(db, "Endpoint.Address"),
                      "Host name of database " + names.name);
  unit.part.addOutput(databasePortOutput(names), getAtt(db, "Endpoint.Port"),
                      "Port of database " + names.name);
  unit.part.addOutput(databaseSecretOutput(names), getAtt(db, "MasterUserSecret.SecretArn"),
                      "Secrets Manager secret holding the master password of " + names.name);
  return unit;
}

ServiceUnit renderService(const model::Service& service, const ServiceNames& names,
                          const Shared& shared) {
  if (const auto* q = std::get_if<model::QueueSpec>(&service.spec)) return renderQueue(*q, names);
  if (const auto* o = std::get_if<model::ObjectsSpec>(&service.spec)) {
    return renderBucket(*o, names);
  }
  if (std::holds_alternative<model::KvSpec>(service.spec)) return renderTable(names);
  return renderDatabase(std::get<model::DatabaseSpec>(service.spec), names, shared);
}

} // namespace exoflow::synth::aws
