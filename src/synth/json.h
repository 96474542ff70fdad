#pragma once
// A small vocabulary for building templates: insertion-ordered JSON (so output is
// byte-identical run to run and reads in the order it was written) and the CloudFormation
// intrinsic functions as one-line helpers.

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace exoflow::synth {

using Json = nlohmann::ordered_json;

/// {"Ref": name}; not `ref`, which argument-dependent lookup would confuse with std::ref
Json cfnRef(std::string_view name);
/// {"Fn::GetAtt": [resource, attribute]}
Json getAtt(std::string_view resource, std::string_view attribute);
/// {"Fn::Sub": text}
Json sub(std::string_view text);
/// {"Fn::Sub": [text, variables]}
Json sub(std::string_view text, Json variables);
/// {"Fn::Select": [index, {"Fn::GetAZs": ""}]}: the index-th availability zone of the region.
Json availabilityZone(int index);

/// Two-space indentation, keys in insertion order, a final newline. Non-ASCII stays UTF-8.
std::string dumpJson(const Json& value);

/// Escapes text for the string argument of Fn::Sub: every "${" becomes "${!".
std::string escapeForSub(std::string_view text);

} // namespace exoflow::synth
