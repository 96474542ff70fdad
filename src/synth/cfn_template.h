#pragma once
// A CloudFormation template under construction: parameters, conditions, resources and
// outputs, each kept in the order they were added.

#include <cstddef>
#include <string>
#include <string_view>

#include "synth/json.h"

namespace exoflow::synth {

/// CloudFormation's quotas that decide how a template is deployed.
constexpr std::size_t kCfnMaxResources = 500;
constexpr std::size_t kCfnMaxOutputs = 200;
constexpr std::size_t kCfnMaxParameters = 200;
constexpr std::size_t kCfnMaxInlineBytes = 51'200;    ///< --template-body
constexpr std::size_t kCfnMaxBucketBytes = 1'048'576; ///< --template-url

class CfnTemplate {
public:
  explicit CfnTemplate(std::string description);

  /// `spec` is the parameter's body: {"Type": ..., "Description": ..., ...}.
  void addParameter(std::string_view name, Json spec);
  void addCondition(std::string_view name, Json condition);
  /// Adds {"Type": type, "Properties": properties} plus any `extra` attributes (DependsOn,
  /// DeletionPolicy, ...). A logical id used twice is a bug in the renderer: it throws.
  void addResource(std::string_view id, std::string_view type, Json properties,
                   Json extra = Json::object());
  void addOutput(std::string_view name, Json value, std::string_view description);

  [[nodiscard]] bool hasResource(std::string_view id) const;
  [[nodiscard]] bool hasParameter(std::string_view name) const;
  [[nodiscard]] std::size_t resourceCount() const { return resources_.size(); }
  [[nodiscard]] std::size_t outputCount() const { return outputs_.size(); }
  [[nodiscard]] std::size_t parameterCount() const { return parameters_.size(); }
  [[nodiscard]] const Json& resources() const { return resources_; }
  [[nodiscard]] const Json& outputs() const { return outputs_; }

  /// The whole template; empty sections are left out.
  [[nodiscard]] Json toJson() const;

private:
  std::string description_;
  Json parameters_ = Json::object();
  Json conditions_ = Json::object();
  Json resources_ = Json::object();
  Json outputs_ = Json::object();
};

} // namespace exoflow::synth
