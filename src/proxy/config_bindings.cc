// The proxy config's `bindings`: kinds, options, replication, and each backend entry checked
// against the table of backend types (API.md) and the types this build has.
#include <algorithm>
#include <array>

#include <fmt/format.h>

#include "manifest/suggest.h"
#include "manifest/values.h"
#include "proxy/config_sections.h"

namespace exoflow::proxy::config_detail {

namespace {

constexpr std::array<std::string_view, 4> kBindingKeys = {"kind", "options", "backends",
                                                          "replication"};
constexpr std::array<std::string_view, 4> kKinds = {"queue", "objects", "kv", "database"};
constexpr std::array<std::string_view, 5> kQueueOptions = {
    "visibility_timeout", "retention", "max_message_size", "dead_letter_after", "fifo"};
constexpr std::array<std::string_view, 1> kObjectOptions = {"versioning"};
constexpr std::array<std::string_view, 3> kReplication = {"none", "async", "sync"};
constexpr std::array<std::string_view, 6> kSslModes = {"disable", "allow",     "prefer",
                                                       "require", "verify-ca", "verify-full"};

enum class KeyType { kString, kPath, kBool, kUrl, kRegion, kPort, kSslMode, kPeer };

struct KeyInfo {
  std::string_view name;
  KeyType type = KeyType::kString;
  bool required = false;
};

/// One backend type of API.md's table: the binding kinds it serves and its keys.
struct TypeInfo {
  std::string_view type;
  std::vector<BindingKind> kinds;
  std::vector<KeyInfo> keys;
  std::string_view cloud; ///< for region checks: "aws", "azure", or empty
};

const std::vector<TypeInfo>& typeTable() {
  using K = BindingKind;
  static const std::vector<TypeInfo> table = {
      {"local.sqlite", {K::kQueue, K::kObjects, K::kKv}, {{"path", KeyType::kPath}}, ""},
      {"aws.sqs",
       {K::kQueue},
       {{"region", KeyType::kRegion, true},
        {"queue"},
        {"queue_url", KeyType::kUrl},
        {"endpoint", KeyType::kUrl},
        {"create", KeyType::kBool}}, // an extension: create missing queues (development, tests)
       "aws"},
      {"aws.s3",
       {K::kObjects},
       {{"region", KeyType::kRegion, true},
        {"bucket", KeyType::kString, true},
        {"endpoint", KeyType::kUrl},
        {"path_style", KeyType::kBool},
        {"create", KeyType::kBool}}, // an extension: create a missing bucket (development, tests)
       "aws"},
      {"aws.dynamodb",
       {K::kKv},
       {{"region", KeyType::kRegion, true},
        {"table", KeyType::kString, true},
        {"endpoint", KeyType::kUrl},
        {"create", KeyType::kBool}}, // an extension: create a missing table (development, tests)
       "aws"},
      {"azure.queue",
       {K::kQueue},
       {{"account", KeyType::kString, true},
        {"queue", KeyType::kString, true},
        {"endpoint", KeyType::kUrl},
        {"spill_container"},
        {"blob_endpoint", KeyType::kUrl}, // extensions: where the claim checks go, and
        {"create", KeyType::kBool}},      // create missing queues (development, tests)
       "azure"},
      {"azure.blob",
       {K::kObjects},
       {{"account", KeyType::kString, true},
        {"container", KeyType::kString, true},
        {"endpoint", KeyType::kUrl},
        {"create",
         KeyType::kBool}}, // an extension: create a missing container (development, tests)
       "azure"},
      {"azure.table",
       {K::kKv},
       {{"account", KeyType::kString, true},
        {"table", KeyType::kString, true},
        {"endpoint", KeyType::kUrl},
        {"create", KeyType::kBool}}, // an extension: create a missing table (development, tests)
       "azure"},
      {"peer", {K::kQueue, K::kObjects, K::kKv}, {{"peer", KeyType::kPeer, true}, {"name"}}, ""},
      {"local.postgres",
       {K::kDatabase},
       {{"host"},
        {"port", KeyType::kPort, true},
        {"database", KeyType::kString, true},
        {"user", KeyType::kString, true},
        {"password"},
        {"sslmode", KeyType::kSslMode}},
       ""},
      {"local.mysql",
       {K::kDatabase},
       {{"host"},
        {"port", KeyType::kPort, true},
        {"database", KeyType::kString, true},
        {"user", KeyType::kString, true},
        {"password"},
        {"sslmode", KeyType::kSslMode}},
       ""},
  };
  return table;
}

const TypeInfo* findType(std::string_view type) {
  for (const TypeInfo& t : typeTable()) {
    if (t.type == type) return &t;
  }
  return nullptr;
}

/// The types this build serves for a kind: the registry's, and the proxy's own for databases.
std::vector<std::string> availableFor(BindingKind kind, const AvailableTypes& available) {
  switch (kind) {
  case BindingKind::kQueue:
    return available.queue;
  case BindingKind::kObjects:
    return available.objects;
  case BindingKind::kKv:
    return available.kv;
  case BindingKind::kDatabase:
    return {"local.mysql", "local.postgres"};
  }
  return {};
}

std::string listOf(const std::vector<std::string>& names) {
  std::vector<std::string_view> views(names.begin(), names.end());
  return views.empty() ? std::string("none") : manifest::joinAlternatives(views);
}

/// Checks `type` for a binding of `kind`; returns the table entry (null for a type the
/// registry has but the table does not list) or reports and returns nothing.
std::optional<const TypeInfo*> checkType(Checker& c, const Field& f, BindingKind kind,
                                         const AvailableTypes& available, std::string& type) {
  auto text = c.string(f);
  if (!text) return std::nullopt;
  type = *text;
  const std::vector<std::string> here = availableFor(kind, available);
  const bool is_here = std::find(here.begin(), here.end(), type) != here.end();
  const TypeInfo* info = findType(type);
  const std::string_view kind_name = bindingKindName(kind);
  if (info == nullptr) {
    if (is_here) return info;
    std::vector<std::string_view> known;
    for (const TypeInfo& t : typeTable())
      known.push_back(t.type);
    for (const std::string& t : here)
      known.push_back(t);
    std::optional<std::string> hint =
        fmt::format("{} bindings in this build: {}", kind_name, listOf(here));
    if (auto match = manifest::closestMatch(type, known)) {
      hint = fmt::format("did you mean \"{}\"?", *match);
    }
    c.error(f.value->mark, f.path, fmt::format("unknown backend type \"{}\"", type), hint);
    return std::nullopt;
  }
  if (std::find(info->kinds.begin(), info->kinds.end(), kind) == info->kinds.end()) {
    std::vector<std::string> serving;
    for (const TypeInfo& t : typeTable()) {
      if (std::find(t.kinds.begin(), t.kinds.end(), kind) != t.kinds.end()) {
        serving.emplace_back(t.type);
      }
    }
    c.error(f.value->mark, f.path,
            fmt::format("backend type \"{}\" does not serve {} bindings", type, kind_name),
            fmt::format("{} bindings take {}", kind_name, listOf(serving)));
    return std::nullopt;
  }
  if (!is_here) {
    c.error(f.value->mark, f.path,
            fmt::format("backend type \"{}\" is not available in this build", type),
            fmt::format("{} bindings in this build: {}", kind_name, listOf(here)));
    // Keep checking its keys: the rest of the entry may hold more mistakes.
  }
  return info;
}

std::optional<std::string> checkKey(Checker& c, const Field& f, const KeyInfo& key,
                                    const TypeInfo& type, const ConfigOptions& options,
                                    std::vector<PeerReference>& peer_refs) {
  switch (key.type) {
  case KeyType::kString:
    return c.string(f);
  case KeyType::kPath: {
    auto text = c.string(f);
    if (!text) return std::nullopt;
    return resolvePath(options.base_dir, *text).string();
  }
  case KeyType::kBool: {
    auto v = c.boolean(f);
    if (!v) return std::nullopt;
    return *v ? "true" : "false";
  }
  case KeyType::kUrl:
    return checkUrl(c, f, false);
  case KeyType::kRegion:
    return checkRegion(c, f, type.cloud);
  case KeyType::kPort: {
    auto v = c.integer(f, 1, 65535, "a port");
    if (!v) return std::nullopt;
    return std::to_string(*v);
  }
  case KeyType::kSslMode:
    return c.oneOf(f, kSslModes);
  case KeyType::kPeer: {
    auto v = c.string(f);
    if (v) peer_refs.push_back(PeerReference{f.value->mark, f.path, *v});
    return v;
  }
  }
  return std::nullopt;
}

std::optional<BackendEntry> checkBackend(Checker& c, const YamlNode& node, const std::string& path,
                                         BindingKind kind, const ConfigOptions& options,
                                         std::vector<PeerReference>& peer_refs) {
  if (node.kind != YamlNode::Kind::kMapping) {
    c.error(node.mark, path,
            "expected a mapping such as {type: local.sqlite}, got " + Checker::describe(node));
    return std::nullopt;
  }
  // The type decides which keys are allowed, so look at it before reading the mapping.
  const YamlNode* type_node = peekScalar(node, "type");
  const TypeInfo* known = type_node != nullptr ? findType(type_node->value) : nullptr;
  std::optional<Fields> fields;
  std::vector<std::string_view> allowed = {"type"};
  if (known != nullptr) {
    for (const KeyInfo& k : known->keys)
      allowed.push_back(k.name);
    const std::string hint = fmt::format("a {} backend takes {}", known->type,
                                         manifest::joinAlternatives(std::span(allowed).subspan(1)));
    fields = c.mapping(node, path, node.mark, allowed, hint);
  } else {
    fields = c.openMapping(node, path, node.mark, "key");
  }
  if (!fields) return std::nullopt;
  const Field* type_field = c.require(*fields, "type");
  if (type_field == nullptr) return std::nullopt;
  BackendEntry entry;
  entry.mark = node.mark;
  auto info = checkType(c, *type_field, kind, options.available, entry.spec.type);
  if (!info) return std::nullopt;
  if (*info == nullptr) {
    // A type the registry has but API.md does not list: its keys are its own business.
    for (const Field& f : fields->all()) {
      if (f.key->value == "type") continue;
      if (auto v = c.scalarText(f)) entry.spec.params[f.key->value] = *v;
    }
    return entry;
  }
  const TypeInfo& type = **info;
  bool ok = true;
  for (const KeyInfo& k : type.keys) {
    const Field* f = k.required ? c.require(*fields, k.name) : fields->get(k.name);
    if (f == nullptr) {
      ok = ok && !k.required;
      continue;
    }
    auto v = checkKey(c, *f, k, type, options, peer_refs);
    if (!v) {
      ok = false;
      continue;
    }
    entry.spec.params[std::string(k.name)] = std::move(*v);
  }
  if (type.type == "aws.sqs" && fields->has("queue") == fields->has("queue_url")) {
    c.error(node.mark, path, "give exactly one of queue and queue_url");
    ok = false;
  }
  if (!ok) return std::nullopt;
  return entry;
}

void checkQueueOptions(Checker& c, const Fields& fields, Binding& binding) {
  constexpr model::Millis kMinute = 60'000;
  constexpr model::Millis kHour = 60 * kMinute;
  backend::QueueOptions& q = binding.queue;
  if (const Field* f = fields.get("visibility_timeout")) {
    if (auto v = c.duration(*f, 0, 12 * kHour))
      q.visibility_timeout = std::chrono::seconds(*v / 1000);
  }
  if (const Field* f = fields.get("retention")) {
    if (auto v = c.duration(*f, kMinute, kHour * 24 * 14))
      q.retention = std::chrono::seconds(*v / 1000);
  }
  if (const Field* f = fields.get("max_message_size")) {
    if (auto v = c.size(*f, 1024, model::Bytes{256} * 1024)) q.max_message_size = *v;
  }
  if (const Field* f = fields.get("dead_letter_after")) {
    if (auto v = c.integer(*f, 1, 1000)) {
      q.dead_letter_after = static_cast<int>(*v);
      q.dead_letter_queue = binding.name + "-dlq";
    }
  }
  if (const Field* f = fields.get("fifo")) {
    if (auto v = c.boolean(*f)) q.fifo = *v;
  }
}

void checkOptions(Checker& c, const Field& f, Binding& binding) {
  std::span<const std::string_view> allowed;
  if (binding.kind == BindingKind::kQueue) allowed = kQueueOptions;
  if (binding.kind == BindingKind::kObjects) allowed = kObjectOptions;
  const std::string hint =
      allowed.empty() ? fmt::format("a {} binding takes no options", bindingKindName(binding.kind))
                      : fmt::format("a {} binding takes {}", bindingKindName(binding.kind),
                                    manifest::joinAlternatives(allowed));
  auto fields = c.mapping(*f.value, f.path, f.key->mark, allowed, hint);
  if (!fields) return;
  if (binding.kind == BindingKind::kQueue) checkQueueOptions(c, *fields, binding);
  if (const Field* v = fields->get("versioning")) {
    if (auto b = c.boolean(*v)) binding.versioning = *b;
  }
}

std::optional<Binding> checkBinding(Checker& c, const Field& entry, const ConfigOptions& options,
                                    std::vector<PeerReference>& peer_refs) {
  auto fields = c.mapping(*entry.value, entry.path, entry.key->mark, kBindingKeys);
  if (!fields) return std::nullopt;
  Binding binding;
  binding.name = entry.key->value;
  const Field* kind_field = c.require(*fields, "kind");
  auto kind = kind_field != nullptr ? c.oneOf(*kind_field, kKinds) : std::nullopt;
  if (!kind) return std::nullopt;
  for (std::size_t i = 0; i < kKinds.size(); ++i) {
    if (*kind == kKinds[i]) binding.kind = static_cast<BindingKind>(i);
  }
  if (const Field* f = fields->get("options")) checkOptions(c, *f, binding);
  if (const Field* f = fields->get("replication")) {
    if (binding.kind == BindingKind::kQueue || binding.kind == BindingKind::kDatabase) {
      c.error(f->key->mark, f->path, "replication applies to objects and kv bindings only",
              binding.kind == BindingKind::kQueue
                  ? std::optional<std::string>("queues fail over; they are not replicated")
                  : std::nullopt);
    } else if (auto v = c.oneOf(*f, kReplication)) {
      binding.replication = *v == "async"  ? Replication::kAsync
                            : *v == "sync" ? Replication::kSync
                                           : Replication::kNone;
    }
  }
  const Field* backends = c.require(*fields, "backends");
  if (backends == nullptr || c.sequence(*backends->value, backends->path) == nullptr) {
    return binding;
  }
  if (backends->value->items.empty()) {
    c.error(backends->value->mark, backends->path, "expected at least one backend",
            "e.g. backends: [{type: local.sqlite}]");
  }
  for (std::size_t i = 0; i < backends->value->items.size(); ++i) {
    auto backend = checkBackend(c, *backends->value->items[i], Checker::index(backends->path, i),
                                binding.kind, options, peer_refs);
    if (backend) binding.backends.push_back(std::move(*backend));
  }
  return binding;
}

} // namespace

void checkBindings(Checker& c, const Field& f, const ConfigOptions& options, ProxyConfig& config,
                   std::vector<PeerReference>& peer_refs) {
  auto bindings = c.openMapping(*f.value, f.path, f.key->mark, "binding");
  if (!bindings) return;
  if (bindings->all().empty()) {
    c.error(f.value->mark, f.path, "expected at least one binding",
            "e.g. bindings: {orders: {kind: queue, backends: [{type: local.sqlite}]}}");
  }
  /// Dead-letter queue names, with the binding that implies each.
  std::map<std::string, const Field*> dlq_names;
  for (const Field& entry : bindings->all()) {
    if (auto name = manifest::parseName(entry.key->value); !name) {
      c.error(entry.key->mark, entry.path,
              fmt::format("\"{}\" is not a valid binding name", entry.key->value), name.error());
    }
    auto binding = checkBinding(c, entry, options, peer_refs);
    if (!binding) continue;
    if (binding->queue.dead_letter_after) dlq_names[binding->queue.dead_letter_queue] = &entry;
    config.bindings.emplace(binding->name, std::move(*binding));
  }
  for (const auto& [dlq, owner] : dlq_names) {
    const Field* clash = bindings->get(dlq);
    if (clash == nullptr) continue;
    c.error(clash->key->mark, clash->path,
            fmt::format("the binding \"{}\" collides with the dead-letter queue of \"{}\"", dlq,
                        owner->key->value),
            fmt::format("rename it; \"{}\" with dead_letter_after has its dead letters in \"{}\"",
                        owner->key->value, dlq));
  }
}

} // namespace exoflow::proxy::config_detail
