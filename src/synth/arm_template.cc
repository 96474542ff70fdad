#include "synth/arm_template.h"

#include <stdexcept>

namespace exoflow::synth {

namespace {

constexpr std::string_view kResourceGroupSchema =
    "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#";
constexpr std::string_view kSubscriptionSchema =
    "https://schema.management.azure.com/schemas/2018-05-01/subscriptionDeploymentTemplate.json#";

} // namespace

ArmTemplate::ArmTemplate(ArmScope scope, std::string description)
    : scope_(scope), description_(std::move(description)) {}

void ArmTemplate::addParameter(std::string_view name, Json spec) {
  parameters_[std::string(name)] = std::move(spec);
}

void ArmTemplate::addVariable(std::string_view name, Json value) {
  variables_[std::string(name)] = std::move(value);
}

void ArmTemplate::addResource(Json resource) {
  if (!resource.contains("type") || !resource.contains("apiVersion") || !resource.contains("name"))
    throw std::logic_error("an ARM resource needs a type, an apiVersion and a name");
  resources_.push_back(std::move(resource));
}

void ArmTemplate::addOutput(std::string_view name, std::string_view type, Json value) {
  outputs_[std::string(name)] = {{"type", type}, {"value", std::move(value)}};
}

Json ArmTemplate::toJson() const {
  Json t = {
      {"$schema", scope_ == ArmScope::kSubscription ? kSubscriptionSchema : kResourceGroupSchema},
      {"contentVersion", "1.0.0.0"},
      {"metadata", {{"description", description_}}}};
  if (!parameters_.empty()) t["parameters"] = parameters_;
  if (!variables_.empty()) t["variables"] = variables_;
  t["resources"] = resources_;
  if (!outputs_.empty()) t["outputs"] = outputs_;
  return t;
}

std::string armQuote(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

std::string armExpr(std::string_view inner) {
  std::string out = "[";
  out += inner;
  return out + "]";
}

std::string armLiteral(std::string_view text) {
  if (!text.empty() && text.front() == '[') return "[" + std::string(text);
  return std::string(text);
}

std::string armParam(std::string_view name) {
  return "parameters(" + armQuote(name) + ")";
}

std::string armVar(std::string_view name) {
  return "variables(" + armQuote(name) + ")";
}

std::string armResourceId(std::string_view type, std::initializer_list<std::string_view> names) {
  std::string out = "resourceId(" + armQuote(type);
  for (std::string_view n : names) {
    out += ", ";
    out += n;
  }
  return out + ")";
}

std::string armIdExpr(std::string_view type, std::initializer_list<std::string_view> names) {
  return armExpr(armResourceId(type, names));
}

ArmConcat& ArmConcat::text(std::string_view literal) {
  pending_ += literal;
  return *this;
}

ArmConcat& ArmConcat::expr(std::string_view part) {
  flush();
  if (has_args_) args_ += ", ";
  args_ += part;
  has_args_ = true;
  return *this;
}

void ArmConcat::flush() {
  if (pending_.empty()) return;
  if (has_args_) args_ += ", ";
  args_ += armQuote(pending_);
  has_args_ = true;
  pending_.clear();
}

std::string ArmConcat::str() const {
  ArmConcat copy = *this;
  copy.flush();
  if (!copy.has_args_) return "''";
  return "concat(" + copy.args_ + ")";
}

} // namespace exoflow::synth
