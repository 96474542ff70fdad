#include "synth/cfn_template.h"

#include <stdexcept>

namespace exoflow::synth {

CfnTemplate::CfnTemplate(std::string description) : description_(std::move(description)) {}

void CfnTemplate::addParameter(std::string_view name, Json spec) {
  parameters_[std::string(name)] = std::move(spec);
}

void CfnTemplate::addCondition(std::string_view name, Json condition) {
  conditions_[std::string(name)] = std::move(condition);
}

void CfnTemplate::addResource(std::string_view id, std::string_view type, Json properties,
                              Json extra) {
  if (hasResource(id)) throw std::logic_error("duplicate logical id " + std::string(id));
  Json resource = {{"Type", type}};
  for (auto& [key, value] : extra.items())
    resource[key] = value;
  if (!properties.empty()) resource["Properties"] = std::move(properties);
  resources_[std::string(id)] = std::move(resource);
}

void CfnTemplate::addOutput(std::string_view name, Json value, std::string_view description) {
  outputs_[std::string(name)] = Json{{"Description", description}, {"Value", std::move(value)}};
}

bool CfnTemplate::hasResource(std::string_view id) const {
  return resources_.contains(std::string(id));
}

bool CfnTemplate::hasParameter(std::string_view name) const {
  return parameters_.contains(std::string(name));
}

Json CfnTemplate::toJson() const {
  Json out = {{"AWSTemplateFormatVersion", "2010-09-09"}, {"Description", description_}};
  if (!parameters_.empty()) out["Parameters"] = parameters_;
  if (!conditions_.empty()) out["Conditions"] = conditions_;
  out["Resources"] = resources_;
  if (!outputs_.empty()) out["Outputs"] = outputs_;
  return out;
}

} // namespace exoflow::synth
