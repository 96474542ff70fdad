// targets, failover and the rules that depend on which clouds are targeted.
#include <array>
#include <limits>
#include <map>

#include <fmt/format.h>

#include "manifest/sections.h"
#include "manifest/suggest.h"
#include "model/regions.h"

namespace exoflow::manifest {

namespace {

constexpr std::array<std::string_view, 2> kTargetKeys = {"cloud", "region"};
constexpr std::array<std::string_view, 4> kFailoverKeys = {"mode", "dns", "health", "data"};
constexpr std::array<std::string_view, 3> kDnsKeys = {"domain", "name", "provider"};
constexpr std::array<std::string_view, 3> kHealthKeys = {"path", "interval", "threshold"};
constexpr std::array<std::string_view, 3> kDataKeys = {"queues", "objects", "kv"};
constexpr std::array<std::string_view, 2> kModes = {"active-passive", "active-active"};
constexpr std::array<std::string_view, 2> kProviders = {"route53", "trafficmanager"};
constexpr std::array<std::string_view, 2> kQueueModes = {"failover", "none"};
constexpr std::array<std::string_view, 2> kReplication = {"async", "sync"};

std::optional<std::string> checkRegion(Checker& c, const Field& f, std::string_view cloud) {
  auto region = c.string(f);
  if (!region) return std::nullopt;
  const model::RegionLookup found = model::lookupRegion(cloud, *region);
  if (found.kind == model::RegionKind::kSupported) return region;
  if (found.kind == model::RegionKind::kUnsupportedSovereign) {
    c.error(f.value->mark, f.path,
            fmt::format("region \"{}\" is in {}, which v1 does not support", *region, found.note),
            fmt::format("v1 deploys to the public commercial {} regions", cloud));
    return std::nullopt;
  }
  std::optional<std::string> hint;
  if (auto match = closestMatch(*region, model::publicRegions(cloud))) {
    hint = fmt::format("did you mean \"{}\"?", *match);
  } else {
    hint = fmt::format("docs/manifest.md lists the {} regions", cloud);
  }
  c.error(f.value->mark, f.path, fmt::format("unknown {} region \"{}\"", cloud, *region),
          std::move(hint));
  return std::nullopt;
}

void checkDns(Checker& c, const Field& f, model::Failover& failover) {
  auto fields = c.mapping(*f.value, f.path, f.key->mark, kDnsKeys);
  if (!fields) return;
  model::Dns dns;
  if (const Field* d = c.require(*fields, "domain")) {
    auto check = [](std::string_view s) { return parseDnsName(s, false); };
    if (auto v = c.parsed<std::string>(*d, "a DNS name such as example.com", +check)) {
      dns.domain = std::move(*v);
    }
  }
  if (const Field* n = c.require(*fields, "name")) {
    auto check = [](std::string_view s) { return parseDnsName(s, true); };
    if (auto v = c.parsed<std::string>(*n, "a DNS label such as shop", +check)) {
      dns.name = std::move(*v);
    }
  }
  if (const Field* p = c.require(*fields, "provider")) {
    if (auto v = c.oneOf(*p, kProviders)) {
      dns.provider =
          *v == "route53" ? model::DnsProvider::kRoute53 : model::DnsProvider::kTrafficManager;
    }
  }
  failover.dns = std::move(dns);
}

void checkHealth(Checker& c, const Field& f, model::FailoverHealth& health) {
  auto fields = c.mapping(*f.value, f.path, f.key->mark, kHealthKeys);
  if (!fields) return;
  if (const Field* p = fields->get("path")) {
    auto check = [](std::string_view s) { return parseHttpPath(s, false); };
    if (auto v = c.parsed<std::string>(*p, "an HTTP path such as /healthz", +check)) {
      health.path = std::move(*v);
    }
  }
  if (const Field* i = fields->get("interval")) {
    const YamlNode& v = *i->value;
    auto millis = c.duration(*i, 0, std::numeric_limits<model::Millis>::max());
    if (millis && *millis != 10'000 && *millis != 30'000) {
      c.error(v.mark, i->path, fmt::format("expected 10s or 30s, got {}", v.value),
              "Route 53 and Traffic Manager probe every 10 or 30 seconds");
    } else if (millis) {
      health.interval = *millis;
    }
  }
  if (const Field* t = fields->get("threshold")) {
    if (auto v = c.integer(*t, 1, 10)) health.threshold = static_cast<int>(*v);
  }
}

void checkData(Checker& c, const Field& f, model::Failover& failover) {
  auto fields = c.mapping(*f.value, f.path, f.key->mark, kDataKeys);
  if (!fields) return;
  if (const Field* q = fields->get("queues")) {
    if (auto v = c.oneOf(*q, kQueueModes)) {
      failover.queues =
          *v == "none" ? model::QueueFailover::kNone : model::QueueFailover::kFailover;
    }
  }
  auto replication = [](const std::string& s) {
    return s == "sync" ? model::Replication::kSync : model::Replication::kAsync;
  };
  if (const Field* o = fields->get("objects")) {
    if (auto v = c.oneOf(*o, kReplication)) failover.objects = replication(*v);
  }
  if (const Field* k = fields->get("kv")) {
    if (auto v = c.oneOf(*k, kReplication)) failover.kv = replication(*v);
  }
}

} // namespace

void checkTargets(Checker& c, const Field& f, model::App& app) {
  const YamlNode* list = c.sequence(*f.value, f.path);
  if (list == nullptr) return;
  if (list->items.empty()) {
    c.error(f.value->mark, f.path, "expected at least one target, got an empty list",
            "e.g. targets: [{cloud: aws, region: us-east-1}]");
    return;
  }
  std::map<std::pair<std::string, std::string>, std::size_t> seen;
  for (std::size_t i = 0; i < list->items.size(); ++i) {
    const YamlNode& item = *list->items[i];
    const std::string path = Checker::index(f.path, i);
    auto fields = c.mapping(item, path, item.mark, kTargetKeys);
    if (!fields) continue;
    const Field* cloud_field = c.require(*fields, "cloud");
    const Field* region_field = c.require(*fields, "region");
    std::optional<std::string> cloud;
    if (cloud_field != nullptr) cloud = c.oneOf(*cloud_field, model::knownClouds());
    std::optional<std::string> region;
    if (cloud && region_field != nullptr) {
      region = checkRegion(c, *region_field, *cloud);
    } else if (region_field != nullptr) {
      (void)c.string(*region_field);
    }
    if (!cloud || !region) continue;
    auto [it, inserted] = seen.emplace(std::make_pair(*cloud, *region), i);
    if (!inserted) {
      c.error(item.mark, path, fmt::format("duplicate target {} {}", *cloud, *region),
              fmt::format("already listed as {}", Checker::index(f.path, it->second)));
      continue;
    }
    app.targets.push_back(
        model::Target{*cloud == "aws" ? model::Cloud::kAws : model::Cloud::kAzure, *region});
  }
}

void checkFailover(Checker& c, const Field& f, model::App& app) {
  auto fields = c.mapping(*f.value, f.path, f.key->mark, kFailoverKeys);
  if (!fields) return;
  model::Failover failover;
  if (app.compute) failover.health.path = app.compute->health;
  if (const Field* m = fields->get("mode")) {
    if (auto v = c.oneOf(*m, kModes)) {
      failover.mode = *v == "active-active" ? model::FailoverMode::kActiveActive
                                            : model::FailoverMode::kActivePassive;
    }
  }
  if (const Field* d = fields->get("dns")) checkDns(c, *d, failover);
  if (const Field* h = fields->get("health")) checkHealth(c, *h, failover.health);
  if (const Field* d = fields->get("data")) checkData(c, *d, failover);
  app.failover = std::move(failover);
}

void checkCapabilities(Checker& c, const model::App& app, const CrossMarks& marks) {
  std::string azure_targets;
  for (std::size_t i = 0; i < app.targets.size(); ++i) {
    if (app.targets[i].cloud != model::Cloud::kAzure) continue;
    azure_targets += azure_targets.empty() ? "" : ", ";
    azure_targets += fmt::format("azure {}", app.targets[i].region);
  }
  if (azure_targets.empty()) return;
  for (const CrossMarks::FifoQueue& fifo : marks.fifo_queues) {
    c.error(fifo.mark, fifo.path,
            fmt::format("fifo queues are not available on target {}", azure_targets),
            "Azure Queue Storage does not keep order; set fifo: false or drop the Azure target");
  }
}

} // namespace exoflow::manifest
