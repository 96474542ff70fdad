#include "schema_check.h"

#include <algorithm>
#include <fstream>
#include <set>

namespace exoflow::synth::test {

namespace {

using nlohmann::json;

const std::set<std::string> kFunctions = {
    "Ref",        "Fn::Base64", "Fn::Cidr",        "Fn::FindInMap",    "Fn::GetAtt",
    "Fn::GetAZs", "Fn::If",     "Fn::ImportValue", "Fn::Join",         "Fn::Length",
    "Fn::Select", "Fn::Split",  "Fn::Sub",         "Fn::ToJsonString", "Fn::Transform",
    "Condition",  "Fn::Equals", "Fn::And",         "Fn::Or",           "Fn::Not"};

const std::set<std::string> kPseudo = {"AWS::AccountId", "AWS::NotificationARNs", "AWS::NoValue",
                                       "AWS::Partition", "AWS::Region",           "AWS::StackId",
                                       "AWS::StackName", "AWS::URLSuffix"};

bool isFunction(const json& v) {
  return v.is_object() && v.size() == 1 && kFunctions.contains(v.begin().key());
}

bool hasType(const json& v, const std::string& type) {
  if (type == "string") return v.is_string();
  if (type == "boolean") return v.is_boolean();
  if (type == "object") return v.is_object();
  if (type == "array") return v.is_array();
  if (type == "null") return v.is_null();
  if (type == "number") return v.is_number();
  if (type == "integer") {
    return v.is_number_integer() ||
           (v.is_number_float() &&
            v.get<double>() == static_cast<double>(static_cast<long long>(v.get<double>())));
  }
  return true; // "date" and other cfn-lint types: not ours to judge
}

std::size_t utf8Length(const std::string& s) {
  return static_cast<std::size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

std::string key(const std::string& path, const std::string& k) {
  return path + "." + k;
}

} // namespace

CfnSchemaCheck::CfnSchemaCheck(std::filesystem::path schema_dir) : dir_(std::move(schema_dir)) {}

const json* CfnSchemaCheck::schemaFor(const std::string& type) {
  auto it = schemas_.find(type);
  if (it == schemas_.end()) {
    std::string file = type;
    std::transform(file.begin(), file.end(), file.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    for (std::size_t p = file.find("::"); p != std::string::npos; p = file.find("::"))
      file.replace(p, 2, "-");
    std::ifstream in(dir_ / "us-east-1" / (file + ".json"));
    std::optional<json> schema;
    if (in) schema = json::parse(in);
    it = schemas_.emplace(type, std::move(schema)).first;
  }
  return it->second ? &*it->second : nullptr;
}

const std::regex* CfnSchemaCheck::regexFor(const std::string& pattern) {
  auto it = regexes_.find(pattern);
  if (it != regexes_.end()) return it->second.get();
  // AWS writes patterns for Python and Java: \A and \Z anchor the text, and a leading (?i)
  // or (?s) sets a flag. ECMAScript spells the anchors ^ and $ and has no inline flags.
  std::string source = pattern;
  auto flags = std::regex::ECMAScript;
  for (const std::string inline_flag : {"(?i)", "(?s)"}) {
    if (source.starts_with(inline_flag)) {
      source.erase(0, inline_flag.size());
      if (inline_flag == "(?i)") flags |= std::regex::icase;
    }
  }
  for (const auto& [from, to] : {std::pair<std::string, std::string>{"\\A", "^"}, {"\\Z", "$"}}) {
    for (std::size_t p = source.find(from); p != std::string::npos; p = source.find(from, p))
      source.replace(p, from.size(), to);
  }
  std::unique_ptr<std::regex> re;
  try {
    re = std::make_unique<std::regex>(source, flags);
  } catch (const std::regex_error&) {
    ++skipped_patterns_;
  }
  return regexes_.emplace(pattern, std::move(re)).first->second.get();
}

bool CfnSchemaCheck::passes(const json& schema, const json& root, const json& value) {
  std::vector<std::string> errors;
  validate(schema, root, value, "", errors);
  return errors.empty();
}

void CfnSchemaCheck::validate(const json& schema, const json& root, const json& value,
                              const std::string& path, std::vector<std::string>& errors) {
  if (schema.is_boolean()) {
    if (!schema.get<bool>()) errors.push_back(path + ": not allowed");
    return;
  }
  if (!schema.is_object() || isFunction(value)) return;
  if (schema.contains("$ref")) {
    const std::string ref = schema["$ref"];
    const std::string prefix = "#/definitions/";
    if (ref.starts_with(prefix) && root.contains("definitions")) {
      validate(root["definitions"][ref.substr(prefix.size())], root, value, path, errors);
    }
  }
  if (schema.contains("type")) {
    const json& t = schema["type"];
    bool ok = false;
    if (t.is_string()) ok = hasType(value, t);
    for (const json& one : t.is_array() ? t : json::array())
      ok = ok || hasType(value, one);
    if (!ok) {
      errors.push_back(path + ": must be of type " + t.dump() + ", got " + value.dump());
      return;
    }
  }
  if (schema.contains("enum")) {
    const json& e = schema["enum"];
    if (std::find(e.begin(), e.end(), value) == e.end()) {
      errors.push_back(path + ": must be one of " + e.dump().substr(0, 200) + ", got " +
                       value.dump());
    }
  }
  if (schema.contains("const") && schema["const"] != value) {
    errors.push_back(path + ": must be " + schema["const"].dump());
  }
  if (value.is_string()) {
    const std::string& s = value.get_ref<const std::string&>();
    if (schema.contains("pattern")) {
      if (const std::regex* re = regexFor(schema["pattern"]); re && !std::regex_search(s, *re)) {
        errors.push_back(path + ": \"" + s + "\" does not match " + schema["pattern"].dump());
      }
    }
    if (schema.contains("minLength") && utf8Length(s) < schema["minLength"].get<std::size_t>())
      errors.push_back(path + ": shorter than " + schema["minLength"].dump());
    if (schema.contains("maxLength") && utf8Length(s) > schema["maxLength"].get<std::size_t>())
      errors.push_back(path + ": longer than " + schema["maxLength"].dump());
  }
  if (value.is_number()) {
    const double d = value.get<double>();
    if (schema.contains("minimum") && d < schema["minimum"].get<double>())
      errors.push_back(path + ": below " + schema["minimum"].dump());
    if (schema.contains("maximum") && d > schema["maximum"].get<double>())
      errors.push_back(path + ": above " + schema["maximum"].dump());
  }
  if (value.is_array()) {
    if (schema.contains("minItems") && value.size() < schema["minItems"].get<std::size_t>())
      errors.push_back(path + ": fewer than " + schema["minItems"].dump() + " items");
    if (schema.contains("maxItems") && value.size() > schema["maxItems"].get<std::size_t>())
      errors.push_back(path + ": more than " + schema["maxItems"].dump() + " items");
    if (schema.contains("items") && schema["items"].is_object()) {
      for (std::size_t i = 0; i < value.size(); ++i)
        validate(schema["items"], root, value[i], path + "[" + std::to_string(i) + "]", errors);
    }
  }
  if (value.is_object()) validateObject(schema, root, value, path, errors);
  if (schema.contains("allOf")) {
    for (const json& s : schema["allOf"])
      validate(s, root, value, path, errors);
  }
  for (const char* any : {"anyOf", "oneOf"}) {
    if (!schema.contains(any)) continue;
    const json& list = schema[any];
    if (std::none_of(list.begin(), list.end(),
                     [&](const json& s) { return passes(s, root, value); })) {
      errors.push_back(path + ": matches none of " + any);
    }
  }
  if (schema.contains("not") && passes(schema["not"], root, value)) {
    errors.push_back(path + ": matches a schema it must not");
  }
  if (schema.contains("if")) {
    const bool cond = passes(schema["if"], root, value);
    const char* branch = cond ? "then" : "else";
    if (schema.contains(branch)) validate(schema[branch], root, value, path, errors);
  }
}

void CfnSchemaCheck::validateObject(const json& schema, const json& root, const json& value,
                                    const std::string& path, std::vector<std::string>& errors) {
  for (const json& name : schema.value("required", json::array())) {
    if (!value.contains(name.get<std::string>())) {
      errors.push_back(path + ": missing required property " + name.dump());
    }
  }
  const json props = schema.value("properties", json::object());
  const json patterns = schema.value("patternProperties", json::object());
  for (const auto& [k, v] : value.items()) {
    bool known = false;
    if (props.contains(k)) {
      known = true;
      validate(props[k], root, v, key(path, k), errors);
    }
    for (const auto& [pattern, sub] : patterns.items()) {
      const std::regex* re = regexFor(pattern);
      if (re == nullptr || std::regex_search(k, *re)) {
        known = true;
        validate(sub, root, v, key(path, k), errors);
      }
    }
    if (known || !schema.contains("additionalProperties")) continue;
    const json& extra = schema["additionalProperties"];
    if (extra.is_boolean() && !extra.get<bool>()) {
      errors.push_back(path + ": unknown property \"" + k + "\"");
    } else if (extra.is_object()) {
      validate(extra, root, v, key(path, k), errors);
    }
  }
  if (schema.contains("minProperties") && value.size() < schema["minProperties"].get<std::size_t>())
    errors.push_back(path + ": too few properties");
  if (schema.contains("maxProperties") && value.size() > schema["maxProperties"].get<std::size_t>())
    errors.push_back(path + ": too many properties");
  auto count = [&](const json& names) {
    return std::count_if(names.begin(), names.end(),
                         [&](const json& n) { return value.contains(n.get<std::string>()); });
  };
  if (schema.contains("requiredXor") && count(schema["requiredXor"]) != 1)
    errors.push_back(path + ": exactly one of " + schema["requiredXor"].dump() + " must be set");
  if (schema.contains("requiredOr") && count(schema["requiredOr"]) < 1)
    errors.push_back(path + ": one of " + schema["requiredOr"].dump() + " must be set");
  for (const char* dep : {"dependentExcluded", "dependentRequired", "dependencies"}) {
    if (!schema.contains(dep)) continue;
    for (const auto& [k, other] : schema[dep].items()) {
      if (!value.contains(k)) continue;
      if (other.is_object()) {
        validate(other, root, value, path, errors);
      } else if (std::string(dep) == "dependentExcluded" && count(other) > 0) {
        errors.push_back(path + ": " + k + " excludes " + other.dump());
      } else if (std::string(dep) != "dependentExcluded" &&
                 count(other) != static_cast<long>(other.size())) {
        errors.push_back(path + ": " + k + " needs " + other.dump());
      }
    }
  }
}

std::vector<std::string> CfnSchemaCheck::check(const json& tmpl) {
  std::vector<std::string> errors;
  const json resources = tmpl.value("Resources", json::object());
  const json parameters = tmpl.value("Parameters", json::object());
  if (resources.empty()) errors.emplace_back("Resources: empty");
  std::set<std::string> used;

  for (const auto& [id, r] : resources.items()) {
    const std::string where = "Resources." + id;
    const std::string type = r.value("Type", "");
    const json* schema = schemaFor(type);
    if (schema == nullptr) {
      errors.push_back(where + ".Type: no schema for \"" + type + "\"");
      continue;
    }
    const json props = r.value("Properties", json::object());
    for (const json& ro : schema->value("readOnlyProperties", json::array())) {
      const std::string p = ro.get<std::string>();
      if (p.find('/', 12) == std::string::npos && props.contains(p.substr(12)))
        errors.push_back(where + ".Properties: \"" + p.substr(12) + "\" is read-only");
    }
    validate(*schema, *schema, props, where + ".Properties", errors);
    for (const json& d :
         r.contains("DependsOn")
             ? (r["DependsOn"].is_array() ? r["DependsOn"] : json::array({r["DependsOn"]}))
             : json::array()) {
      if (!resources.contains(d.get<std::string>()))
        errors.push_back(where + ".DependsOn: no resource " + d.dump());
    }
  }

  // Names that intrinsic functions point to.
  auto known = [&](const std::string& name) {
    return parameters.contains(name) || resources.contains(name) || kPseudo.contains(name);
  };
  auto attributeOk = [&](const std::string& id, const std::string& att) {
    const std::string type = resources[id].value("Type", "");
    if (type == "AWS::CloudFormation::Stack") return att.starts_with("Outputs.");
    const json* schema = schemaFor(type);
    if (schema == nullptr) return false;
    std::string as_path = "/properties/" + att;
    std::replace(as_path.begin() + 12, as_path.end(), '.', '/');
    for (const json& ro : schema->value("readOnlyProperties", json::array()))
      if (ro == as_path) return true;
    return schema->value("properties", json::object()).contains(att);
  };
  std::function<void(const json&, const std::string&, const std::set<std::string>&)> visit =
      [&](const json& v, const std::string& where, const std::set<std::string>& locals) {
        if (v.is_array()) {
          for (std::size_t i = 0; i < v.size(); ++i)
            visit(v[i], where + "[" + std::to_string(i) + "]", locals);
          return;
        }
        if (!v.is_object()) return;
        if (v.size() == 1 && v.contains("Ref")) {
          const std::string name = v["Ref"];
          used.insert(name);
          if (!known(name)) errors.push_back(where + ": Ref to unknown \"" + name + "\"");
          return;
        }
        if (v.size() == 1 && v.contains("Fn::GetAtt")) {
          const json& a = v["Fn::GetAtt"];
          const std::string id = a[0];
          if (!resources.contains(id)) {
            errors.push_back(where + ": Fn::GetAtt of unknown resource \"" + id + "\"");
          } else if (!attributeOk(id, a[1])) {
            errors.push_back(where + ": " + a[1].get<std::string>() + " is not an attribute of " +
                             id);
          }
          return;
        }
        if (v.size() == 1 && v.contains("Fn::Sub")) {
          const json& a = v["Fn::Sub"];
          const std::string text = a.is_array() ? a[0].get<std::string>() : a.get<std::string>();
          std::set<std::string> vars;
          if (a.is_array()) {
            for (const auto& [k, e] : a[1].items()) {
              vars.insert(k);
              visit(e, where + ".Fn::Sub." + k, locals);
            }
          }
          for (std::size_t p = text.find("${"); p != std::string::npos;
               p = text.find("${", p + 2)) {
            const std::size_t end = text.find('}', p);
            const std::string name = text.substr(p + 2, end - p - 2);
            if (name.starts_with("!")) continue;
            const std::string head = name.substr(0, name.find('.'));
            used.insert(head);
            if (vars.contains(name)) continue;
            if (!known(head)) {
              errors.push_back(where + ": Fn::Sub refers to unknown \"" + name + "\"");
            } else if (name != head && !attributeOk(head, name.substr(head.size() + 1))) {
              errors.push_back(where + ": Fn::Sub attribute \"" + name + "\" does not exist");
            }
          }
          return;
        }
        for (const auto& [k, x] : v.items())
          visit(x, where + "." + k, locals);
      };
  visit(resources, "Resources", {});
  visit(tmpl.value("Outputs", json::object()), "Outputs", {});
  for (const auto& [name, p] : parameters.items()) {
    if (!used.contains(name)) errors.push_back("Parameters." + name + ": never used");
  }
  return errors;
}

} // namespace exoflow::synth::test
