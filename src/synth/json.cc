#include "synth/json.h"

namespace exoflow::synth {

Json cfnRef(std::string_view name) {
  return Json{{"Ref", name}};
}

Json getAtt(std::string_view resource, std::string_view attribute) {
  return Json{{"Fn::GetAtt", Json::array({resource, attribute})}};
}

Json sub(std::string_view text) {
  return Json{{"Fn::Sub", text}};
}

Json sub(std::string_view text, Json variables) {
  return Json{{"Fn::Sub", Json::array({text, std::move(variables)})}};
}

Json availabilityZone(int index) {
  return Json{{"Fn::Select", Json::array({index, Json{{"Fn::GetAZs", ""}}})}};
}

std::string dumpJson(const Json& value) {
  return value.dump(2) + "\n";
}

std::string escapeForSub(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    out += text[i];
    if (text[i] == '$' && i + 1 < text.size() && text[i + 1] == '{') {
      out += "{!";
      ++i;
    }
  }
  return out;
}

} // namespace exoflow::synth
