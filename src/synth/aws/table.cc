#include "synth/aws/aws.h"

namespace exoflow::synth::aws {

// The key schema is the proxy's: a partition key and a sort key holding the item's key, so a
// listing by prefix is one ordered Query.
ServiceUnit renderTable(const ServiceNames& names) {
  ServiceUnit unit;
  const std::string table = names.id + "Table";
  unit.part.addResource(
      table, "AWS::DynamoDB::Table",
      {{"TableName", names.name},
       {"BillingMode", "PAY_PER_REQUEST"},
       {"AttributeDefinitions", Json::array({{{"AttributeName", "pk"}, {"AttributeType", "S"}},
                                             {{"AttributeName", "sk"}, {"AttributeType", "S"}}})},
       {"KeySchema", Json::array({{{"AttributeName", "pk"}, {"KeyType", "HASH"}},
                                  {{"AttributeName", "sk"}, {"KeyType", "RANGE"}}})},
       {"PointInTimeRecoverySpecification", {{"PointInTimeRecoveryEnabled", true}}},
       {"SSESpecification", {{"SSEEnabled", true}}}},
      {{"DeletionPolicy", "Retain"}, {"UpdateReplacePolicy", "Retain"}});
  unit.part.addOutput(table + "Name", cfnRef(table), "Name of table " + names.name);
  return unit;
}

} // namespace exoflow::synth::aws
