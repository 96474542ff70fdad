#include <set>

#include "synth/aws/aws.h"
#include "synth/naming.h"

namespace exoflow::synth::aws {

namespace {

/// Logical-id stems, made unique: "a1-b" and "a1b" would both be "A1b"/"A1B"-like, and a
/// manifest name with "-" before a digit loses it ("a-1" and "a1" are both "A1").
std::vector<std::string> uniqueIds(const model::App& app) {
  std::vector<std::string> ids;
  std::set<std::string> seen;
  for (const model::Service& s : app.services) {
    std::string id = logicalId(s.name);
    if (seen.contains(id)) id += "X" + shortHash(s.name, 6);
    seen.insert(id);
    ids.push_back(std::move(id));
  }
  return ids;
}

} // namespace

std::vector<ServiceNames> serviceNames(const model::App& app, std::string_view region) {
  const std::vector<std::string> ids = uniqueIds(app);
  std::vector<ServiceNames> all;
  all.reserve(app.services.size());
  for (std::size_t i = 0; i < app.services.size(); ++i) {
    const model::Service& s = app.services[i];
    ServiceNames n;
    n.id = ids[i];
    if (const auto* q = std::get_if<model::QueueSpec>(&s.spec)) {
      // The dead-letter queue is the queue's name with "-dlq" before any ".fifo", the name
      // the proxy derives from the queue's; room for both is kept in the queue's name.
      const std::string suffix = q->fifo ? ".fifo" : "";
      const std::string base = fitName(NameKind::kAwsSqsQueue, {app.name, s.name},
                                       suffix.size() + std::string_view("-dlq").size());
      n.name = base + suffix;
      if (q->dead_letter_after) {
        n.dead_letter = base;
        n.dead_letter += "-dlq";
        n.dead_letter += suffix;
      }
    } else if (std::holds_alternative<model::ObjectsSpec>(s.spec)) {
      // "-" and a 12-digit account id follow.
      n.name = fitName(NameKind::kAwsS3Bucket, {app.name, s.name, region}, 13);
    } else if (std::holds_alternative<model::KvSpec>(s.spec)) {
      n.name = fitName(NameKind::kAwsDynamoDbTable, {app.name, s.name});
    } else {
      n.name = fitName(NameKind::kAwsRdsInstance, {app.name, s.name});
      n.database = fitName(NameKind::kAwsRdsDatabase, {s.name});
    }
    all.push_back(std::move(n));
  }
  return all;
}

Layout layoutOf(const model::App& app) {
  Layout l;
  l.compute = app.compute.has_value();
  l.routes = l.compute && !app.routes.empty();
  for (const model::Service& s : app.services)
    l.databases = l.databases || std::holds_alternative<model::DatabaseSpec>(s.spec);
  l.network = l.compute || l.databases;
  l.instances_public = l.compute && !app.ports.empty();
  l.nat = l.compute && !l.instances_public;
  l.peers =
      l.compute && !app.services.empty() && app.failover.has_value() && app.targets.size() > 1;
  return l;
}

std::string artifactPrefix(const model::App& app) {
  return app.name + "/";
}

std::string rolePath(const model::App& app) {
  return "/exoflow/" + app.name + "/";
}

std::string globalRegion(const model::App& app) {
  for (const model::Target& t : app.targets) {
    if (t.cloud == model::Cloud::kAws) return t.region;
  }
  return "us-east-1";
}

} // namespace exoflow::synth::aws
