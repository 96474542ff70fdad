#pragma once
// An Azure Resource Manager template under construction, and the template-expression
// vocabulary the Azure renderer writes with. Parameters, variables, resources and outputs keep
// the order they were added in, so the same model gives the same bytes.

#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>

#include "synth/json.h"

namespace exoflow::synth {

/// ARM's quotas that decide whether a template can be deployed at all.
constexpr std::size_t kArmMaxResources = 800;
constexpr std::size_t kArmMaxParameters = 256;
constexpr std::size_t kArmMaxOutputs = 64;
constexpr std::size_t kArmMaxTemplateBytes = std::size_t{4} * 1024 * 1024;

/// The deployment scope a template is written for; it decides its `$schema`.
enum class ArmScope { kResourceGroup, kSubscription };

class ArmTemplate {
public:
  ArmTemplate(ArmScope scope, std::string description);

  /// `spec` is the parameter's body: {"type": ..., "metadata": {"description": ...}, ...}.
  void addParameter(std::string_view name, Json spec);
  void addVariable(std::string_view name, Json value);
  /// A resource: an object with at least "type", "apiVersion" and "name".
  void addResource(Json resource);
  void addOutput(std::string_view name, std::string_view type, Json value);

  [[nodiscard]] std::size_t resourceCount() const { return resources_.size(); }
  [[nodiscard]] std::size_t outputCount() const { return outputs_.size(); }
  [[nodiscard]] std::size_t parameterCount() const { return parameters_.size(); }

  /// The whole template; empty sections are left out.
  [[nodiscard]] Json toJson() const;

private:
  ArmScope scope_;
  std::string description_;
  Json parameters_ = Json::object();
  Json variables_ = Json::object();
  Json resources_ = Json::array();
  Json outputs_ = Json::object();
};

/// A string literal inside an expression: 'text', with every ' doubled.
std::string armQuote(std::string_view text);
/// A whole-value expression: "[" + inner + "]".
std::string armExpr(std::string_view inner);
/// A JSON string that ARM reads literally, even when it starts with "[".
std::string armLiteral(std::string_view text);
/// parameters('name') and variables('name'), as parts of a larger expression.
std::string armParam(std::string_view name);
std::string armVar(std::string_view name);
/// resourceId('type', name...), where each name is already an expression part.
std::string armResourceId(std::string_view type, std::initializer_list<std::string_view> names);
/// [resourceId(...)] for dependsOn lists and "id" properties.
std::string armIdExpr(std::string_view type, std::initializer_list<std::string_view> names);

/// Builds the argument of concat() from literal text and expression parts; long literal runs
/// stay one argument.
class ArmConcat {
public:
  ArmConcat& text(std::string_view literal);
  ArmConcat& expr(std::string_view part);
  /// concat(...) as an expression part (a single quoted literal when there are no parts).
  [[nodiscard]] std::string str() const;

private:
  std::string args_;
  std::string pending_;
  bool has_args_ = false;
  void flush();
};

} // namespace exoflow::synth
