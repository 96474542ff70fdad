// services: queues, objects, kv and databases.
#include <array>
#include <unordered_map>

#include <fmt/format.h>

#include "manifest/sections.h"
#include "manifest/suggest.h"

namespace exoflow::manifest {

namespace {

constexpr std::array<std::string_view, 4> kKinds = {"queue", "objects", "kv", "database"};
constexpr std::array<std::string_view, 6> kQueueKeys = {
    "kind", "visibility_timeout", "retention", "max_message_size", "dead_letter", "fifo"};
constexpr std::array<std::string_view, 3> kObjectsKeys = {"kind", "versioning", "public_read"};
constexpr std::array<std::string_view, 1> kKvKeys = {"kind"};
constexpr std::array<std::string_view, 6> kDatabaseKeys = {"kind", "engine",  "version",
                                                           "size", "storage", "ha"};
/// Every key of every kind, for a service whose kind is missing or unknown.
constexpr std::array<std::string_view, 14> kAnyServiceKeys = {"kind",        "visibility_timeout",
                                                              "retention",   "max_message_size",
                                                              "dead_letter", "fifo",
                                                              "versioning",  "public_read",
                                                              "engine",      "version",
                                                              "size",        "storage",
                                                              "ha",          "after"};
constexpr std::array<std::string_view, 1> kDeadLetterKeys = {"after"};
constexpr std::array<std::string_view, 2> kEngines = {"postgres", "mysql"};
constexpr std::array<std::string_view, 5> kPostgresVersions = {"13", "14", "15", "16", "17"};
constexpr std::array<std::string_view, 2> kMysqlVersions = {"8.0", "8.4"};
constexpr std::array<std::string_view, 4> kSizes = {"small", "medium", "large", "xlarge"};

constexpr model::Millis kSecond = 1000;
constexpr model::Millis kMinute = 60 * kSecond;
constexpr model::Millis kHour = 60 * kMinute;
constexpr model::Millis kDay = 24 * kHour;
constexpr model::Bytes kKiB = 1024;
constexpr model::Bytes kGiB = kKiB * kKiB * kKiB;

/// Says which kind a key belongs to, for a key used on the wrong kind of service.
std::string kindHint(std::string_view kind, std::span<const std::string_view> allowed) {
  std::string keys;
  for (std::string_view k : allowed) {
    if (k == "kind") continue;
    keys += keys.empty() ? "" : ", ";
    keys += k;
  }
  if (keys.empty()) return fmt::format("a {} service takes no settings besides kind", kind);
  return fmt::format("a {} service takes {}", kind, keys);
}

void checkQueue(Checker& c, const Fields& fields, model::Service& service, CrossMarks& marks) {
  model::QueueSpec q;
  if (const Field* f = fields.get("visibility_timeout")) {
    if (auto v = c.duration(*f, 0, 12 * kHour)) q.visibility_timeout = *v;
  }
  if (const Field* f = fields.get("retention")) {
    if (auto v = c.duration(*f, kMinute, 14 * kDay)) q.retention = *v;
  }
  if (const Field* f = fields.get("max_message_size")) {
    if (auto v = c.size(*f, kKiB, 256 * kKiB)) q.max_message_size = *v;
  }
  if (const Field* f = fields.get("dead_letter")) {
    if (auto dl = c.mapping(*f->value, f->path, f->key->mark, kDeadLetterKeys)) {
      if (const Field* after = c.require(*dl, "after")) {
        if (auto v = c.integer(*after, 1, 1000)) q.dead_letter_after = static_cast<int>(*v);
      }
    }
  }
  if (const Field* f = fields.get("fifo")) {
    if (auto v = c.boolean(*f)) {
      q.fifo = *v;
      if (*v) marks.fifo_queues.push_back({f->value->mark, f->path});
    }
  }
  service.spec = q;
}

void checkObjects(Checker& c, const Fields& fields, model::Service& service) {
  model::ObjectsSpec o;
  if (const Field* f = fields.get("versioning")) {
    if (auto v = c.boolean(*f)) o.versioning = *v;
  }
  if (const Field* f = fields.get("public_read")) {
    if (auto v = c.boolean(*f)) o.public_read = *v;
  }
  service.spec = o;
}

void checkDatabase(Checker& c, const Fields& fields, model::Service& service) {
  model::DatabaseSpec db;
  std::optional<std::string> engine;
  if (const Field* f = c.require(fields, "engine")) engine = c.oneOf(*f, kEngines);
  if (engine == "mysql") {
    db.engine = model::DbEngine::kMysql;
    db.version = "8.0";
  }
  if (const Field* f = fields.get("version")) {
    const auto& versions = db.engine == model::DbEngine::kMysql
                               ? std::span<const std::string_view>(kMysqlVersions)
                               : std::span<const std::string_view>(kPostgresVersions);
    const YamlNode& v = *f->value;
    if (v.kind == YamlNode::Kind::kScalar && Checker::coreType(v) != CoreType::kString) {
      c.error(v.mark, f->path,
              fmt::format("expected a version string such as \"{}\", got {}", db.version,
                          Checker::describe(v)),
              fmt::format("quote it: version: \"{}\"", v.value));
    } else if (engine) {
      const std::string hint = fmt::format("{} versions are written as strings: {}", *engine,
                                           joinAlternatives(versions));
      if (auto s = c.oneOf(*f, versions, hint)) db.version = std::move(*s);
    } else {
      (void)c.string(*f);
    }
  }
  if (const Field* f = fields.get("size")) {
    if (auto v = c.oneOf(*f, kSizes)) {
      db.size = *v == "medium"   ? model::Size::kMedium
                : *v == "large"  ? model::Size::kLarge
                : *v == "xlarge" ? model::Size::kXlarge
                                 : model::Size::kSmall;
    }
  }
  if (const Field* f = fields.get("storage")) {
    if (auto v = c.size(*f, 32 * kGiB, 16ULL * 1024 * kGiB)) {
      if (*v % kGiB != 0) {
        c.error(f->value->mark, f->path,
                fmt::format("expected a whole number of GiB, got {}", f->value->value),
                fmt::format("round it to {}GiB or {}GiB", *v / kGiB, *v / kGiB + 1));
      } else {
        db.storage_gib = static_cast<int>(*v / kGiB);
      }
    }
  }
  if (const Field* f = fields.get("ha")) {
    if (auto v = c.boolean(*f)) db.ha = *v;
  }
  service.spec = db;
}

void checkService(Checker& c, const Field& entry, model::App& app, CrossMarks& marks) {
  model::Service service;
  if (auto name = parseName(entry.key->value)) {
    service.name = std::move(*name);
  } else {
    c.error(entry.key->mark, entry.path,
            fmt::format("expected a service name, got {}", Checker::describe(*entry.key)),
            name.error());
  }
  // Read the kind first: it decides which keys are allowed.
  std::optional<std::string> kind;
  if (entry.value->kind == YamlNode::Kind::kMapping) {
    for (const auto& [key, value] : entry.value->entries) {
      if (key->kind == YamlNode::Kind::kScalar && key->value == "kind") {
        kind = c.oneOf(Field{key.get(), value.get(), Checker::child(entry.path, "kind")}, kKinds);
        break;
      }
    }
  }
  std::span<const std::string_view> keys = kAnyServiceKeys;
  if (kind == "queue") keys = kQueueKeys;
  if (kind == "objects") keys = kObjectsKeys;
  if (kind == "kv") keys = kKvKeys;
  if (kind == "database") keys = kDatabaseKeys;
  auto fields = c.mapping(*entry.value, entry.path, entry.key->mark, keys,
                          kind ? kindHint(*kind, keys) : std::string());
  if (!fields) return;
  if (!fields->has("kind")) {
    c.require(*fields, "kind");
    return;
  }
  if (kind == "queue") checkQueue(c, *fields, service, marks);
  if (kind == "objects") checkObjects(c, *fields, service);
  if (kind == "kv") service.spec = model::KvSpec{};
  if (kind == "database") checkDatabase(c, *fields, service);
  if (kind) app.services.push_back(std::move(service));
}

} // namespace

void checkServices(Checker& c, const Field& f, model::App& app, CrossMarks& marks) {
  auto fields = c.openMapping(*f.value, f.path, f.key->mark, "service");
  if (!fields) return;
  for (const Field& entry : fields->all())
    checkService(c, entry, app, marks);

  // No service may take the name of a queue's dead-letter queue, "<queue>-dlq".
  std::unordered_map<std::string, const Field*> by_name;
  for (const Field& entry : fields->all())
    by_name.emplace(entry.key->value, &entry);
  for (const model::Service& s : app.services) {
    if (!std::holds_alternative<model::QueueSpec>(s.spec)) continue;
    auto it = by_name.find(s.name + "-dlq");
    if (it == by_name.end()) continue;
    c.error(it->second->key->mark, it->second->path,
            fmt::format("the name \"{}\" belongs to the dead-letter queue of \"{}\"", it->first,
                        s.name),
            "rename this service");
  }
}

} // namespace exoflow::manifest
