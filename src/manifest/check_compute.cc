// compute, routes and ports.
#include <array>
#include <unordered_map>

#include <fmt/format.h>

#include "manifest/sections.h"

namespace exoflow::manifest {

namespace {

constexpr std::array<std::string_view, 7> kComputeKeys = {"artifact", "run",   "port", "health",
                                                          "size",     "scale", "env"};
constexpr std::array<std::string_view, 3> kScaleKeys = {"min", "max", "cpu"};
constexpr std::array<std::string_view, 2> kRouteKeys = {"path", "port"};
constexpr std::array<std::string_view, 3> kPortKeys = {"port", "protocol", "from"};
constexpr std::array<std::string_view, 4> kSizes = {"small", "medium", "large", "xlarge"};
constexpr std::array<std::string_view, 2> kProtocols = {"tcp", "udp"};

model::Size sizeFrom(std::string_view s) {
  if (s == "medium") return model::Size::kMedium;
  if (s == "large") return model::Size::kLarge;
  if (s == "xlarge") return model::Size::kXlarge;
  return model::Size::kSmall;
}

void checkScale(Checker& c, const Field& f, model::Scale& scale) {
  auto fields = c.mapping(*f.value, f.path, f.key->mark, kScaleKeys);
  if (!fields) return;
  const Field* min_field = fields->get("min");
  const Field* max_field = fields->get("max");
  std::optional<std::int64_t> min;
  std::optional<std::int64_t> max;
  if (min_field != nullptr) min = c.integer(*min_field, 0, 1000);
  if (max_field != nullptr) max = c.integer(*max_field, 1, 1000);
  if (const Field* cpu = fields->get("cpu")) {
    if (auto v = c.integer(*cpu, 1, 100, "a CPU percent")) scale.cpu = static_cast<int>(*v);
  }
  if ((min_field != nullptr && !min) || (max_field != nullptr && !max)) return;
  if (min) scale.min = static_cast<int>(*min);
  if (max) scale.max = static_cast<int>(*max);
  if (scale.min > scale.max) {
    const Field* at = min_field != nullptr ? min_field : max_field;
    c.error(at->value->mark, at->path,
            fmt::format("min {} is greater than max {}", scale.min, scale.max),
            max_field == nullptr   ? std::optional<std::string>("max defaults to 4; set it too")
            : min_field == nullptr ? std::optional<std::string>("min defaults to 2; set it too")
                                   : std::nullopt);
  }
}

void checkEnv(Checker& c, const Field& f, std::map<std::string, std::string>& env) {
  auto fields = c.openMapping(*f.value, f.path, f.key->mark, "variable");
  if (!fields) return;
  for (const Field& var : fields->all()) {
    const std::string& name = var.key->value;
    bool valid = !name.empty() && !(name[0] >= '0' && name[0] <= '9');
    for (const char ch : name) {
      valid = valid && ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                        (ch >= '0' && ch <= '9') || ch == '_');
    }
    if (!valid) {
      c.error(var.key->mark, var.path,
              fmt::format("{} is not an environment variable name", Checker::describe(*var.key)),
              "use letters, digits and \"_\", not starting with a digit");
      continue;
    }
    if (auto text = c.scalarText(var)) env[name] = std::move(*text);
  }
}

} // namespace

void checkCompute(Checker& c, const Field& f, model::App& app) {
  auto fields = c.mapping(*f.value, f.path, f.key->mark, kComputeKeys);
  if (!fields) return;
  model::Compute compute;
  if (const Field* run = c.require(*fields, "run")) {
    if (auto v = c.string(*run)) compute.run = std::move(*v);
  }
  if (const Field* artifact = fields->get("artifact")) {
    if (auto v = c.string(*artifact)) compute.artifact = std::move(*v);
  }
  if (const Field* port = fields->get("port")) {
    if (auto v = c.integer(*port, 1, 65535, "a port")) compute.port = static_cast<int>(*v);
  }
  if (const Field* health = fields->get("health")) {
    auto check = [](std::string_view s) { return parseHttpPath(s, false); };
    if (auto v = c.parsed<std::string>(*health, "an HTTP path such as /healthz", +check)) {
      compute.health = std::move(*v);
    }
  }
  if (const Field* size = fields->get("size")) {
    if (auto v = c.oneOf(*size, kSizes)) compute.size = sizeFrom(*v);
  }
  if (const Field* scale = fields->get("scale")) checkScale(c, *scale, compute.scale);
  if (const Field* env = fields->get("env")) checkEnv(c, *env, compute.env);
  app.compute = std::move(compute);
}

void checkRoutes(Checker& c, const Field& f, model::App& app) {
  const YamlNode* list = c.sequence(*f.value, f.path);
  if (list == nullptr) return;
  std::unordered_map<std::string, std::size_t> seen;
  const int default_port = app.compute ? app.compute->port : 8080;
  for (std::size_t i = 0; i < list->items.size(); ++i) {
    const YamlNode& item = *list->items[i];
    const std::string path = Checker::index(f.path, i);
    auto fields = c.mapping(item, path, item.mark, kRouteKeys);
    if (!fields) continue;
    model::Route route;
    route.port = default_port;
    if (const Field* p = c.require(*fields, "path")) {
      auto check = [](std::string_view s) { return parseHttpPath(s, true); };
      if (auto v = c.parsed<std::string>(*p, "a route path such as /api/*", +check)) {
        auto [it, inserted] = seen.emplace(*v, i);
        if (!inserted) {
          c.error(p->value->mark, p->path, fmt::format("duplicate route path \"{}\"", *v),
                  fmt::format("first used by {}", Checker::index(f.path, it->second)));
        }
        route.path = std::move(*v);
      }
    }
    if (const Field* port = fields->get("port")) {
      if (auto v = c.integer(*port, 1, 65535, "a port")) route.port = static_cast<int>(*v);
    }
    app.routes.push_back(std::move(route));
  }
}

void checkPorts(Checker& c, const Field& f, model::App& app) {
  const YamlNode* list = c.sequence(*f.value, f.path);
  if (list == nullptr) return;
  for (std::size_t i = 0; i < list->items.size(); ++i) {
    const YamlNode& item = *list->items[i];
    const std::string path = Checker::index(f.path, i);
    auto fields = c.mapping(item, path, item.mark, kPortKeys);
    if (!fields) continue;
    model::PortRule rule;
    if (const Field* port = c.require(*fields, "port")) {
      const YamlNode& v = *port->value;
      if (v.kind == YamlNode::Kind::kScalar && Checker::coreType(v) == CoreType::kString &&
          v.value.find('-') != std::string::npos) {
        if (auto range =
                c.parsed<PortRange>(*port, "a port range such as 9000-9010", &parsePortRange)) {
          rule.from_port = range->from;
          rule.to_port = range->to;
        }
      } else if (auto single = c.integer(*port, 1, 65535, "a port")) {
        rule.from_port = rule.to_port = static_cast<int>(*single);
      }
    }
    if (const Field* protocol = fields->get("protocol")) {
      if (auto v = c.oneOf(*protocol, kProtocols)) {
        rule.protocol = *v == "udp" ? model::Protocol::kUdp : model::Protocol::kTcp;
      }
    }
    if (const Field* from = c.require(*fields, "from")) {
      if (auto cidr = c.parsed<Cidr>(*from, "a CIDR such as 10.0.0.0/8", &parseCidr)) {
        rule.cidr = std::move(cidr->canonical);
        rule.ipv6 = cidr->ipv6;
      }
    }
    app.ports.push_back(std::move(rule));
  }
}

} // namespace exoflow::manifest
