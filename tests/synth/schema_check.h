#pragma once
// An offline check of CloudFormation templates against the resource provider schemas in
// tests/synth/cfn-schemas (copied from cfn-lint, see its README).
//
// What it covers, per resource:
// - the type has a schema (an unknown type is an error);
// - Properties against the schema: type (one or several), enum, const, pattern (ECMAScript,
//   after turning Python's \A, \Z and a leading (?i) or (?s) into their ECMAScript forms;
//   a pattern std::regex still cannot compile is counted and skipped), minLength,
//   maxLength, minimum, maximum, minItems, maxItems, items, required, properties,
//   additionalProperties, patternProperties, minProperties, maxProperties, $ref into
//   definitions, allOf, anyOf, oneOf (taken as anyOf: with intrinsic functions accepted
//   anywhere, branches may overlap), not, if/then/else, dependencies, dependentRequired, and
//   cfn-lint's requiredXor, requiredOr and dependentExcluded;
// - no read-only property is set;
// - an intrinsic function object ({"Ref": ...}, {"Fn::Sub": ...}, ...) is accepted wherever a
//   value may be.
// And over the template: every Ref names a parameter, a resource or a pseudo parameter; every
// Fn::GetAtt names a resource and an attribute its schema has (Outputs.* for nested stacks);
// every ${...} of Fn::Sub resolves; every DependsOn names a resource; every parameter is used.
// Not covered: `format`, uniqueItems, and what cfn-lint checks beyond the schemas (cfn_lint.sh
// runs cfn-lint itself).

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace exoflow::synth::test {

class CfnSchemaCheck {
public:
  explicit CfnSchemaCheck(std::filesystem::path schema_dir);

  /// Every problem of `tmpl`, as "Resources.Id.Properties.Key: message"; empty when it passes.
  std::vector<std::string> check(const nlohmann::json& tmpl);

  /// Patterns that std::regex could not compile, and so were not checked.
  [[nodiscard]] std::size_t skippedPatterns() const { return skipped_patterns_; }

private:
  const nlohmann::json* schemaFor(const std::string& type);
  void validate(const nlohmann::json& schema, const nlohmann::json& root,
                const nlohmann::json& value, const std::string& path,
                std::vector<std::string>& errors);
  void validateObject(const nlohmann::json& schema, const nlohmann::json& root,
                      const nlohmann::json& value, const std::string& path,
                      std::vector<std::string>& errors);
  bool passes(const nlohmann::json& schema, const nlohmann::json& root,
              const nlohmann::json& value);
  const std::regex* regexFor(const std::string& pattern);

  std::filesystem::path dir_;
  std::map<std::string, std::optional<nlohmann::json>> schemas_;
  std::map<std::string, std::unique_ptr<std::regex>> regexes_;
  std::size_t skipped_patterns_ = 0;
};

} // namespace exoflow::synth::test
