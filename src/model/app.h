#pragma once
// The cloud-neutral application model: what exoflow.yaml describes, with every default filled
// in and every value checked. Renderers for each cloud and the local runtime read only this.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace exoflow::model {

/// Durations are whole milliseconds; sizes are whole bytes.
using Millis = std::int64_t;
using Bytes = std::uint64_t;

enum class Size { kSmall, kMedium, kLarge, kXlarge };
enum class Cloud { kAws, kAzure };
enum class Protocol { kTcp, kUdp };
enum class DbEngine { kPostgres, kMysql };
enum class FailoverMode { kActivePassive, kActiveActive };
enum class DnsProvider { kRoute53, kTrafficManager };
enum class QueueFailover { kFailover, kNone };
enum class Replication { kAsync, kSync };

struct Scale {
  int min = 2;
  int max = 4;
  int cpu = 60; ///< target CPU percent, 1..100
};

struct Compute {
  std::string artifact = "."; ///< as written, relative to the manifest's folder
  std::string run;
  int port = 8080;
  std::string health = "/healthz";
  Size size = Size::kSmall;
  Scale scale;
  std::map<std::string, std::string> env; ///< sorted by name
};

struct Route {
  std::string path; ///< starts with "/", may end with one "*"
  int port = 8080;  ///< compute.port unless given
};

struct PortRule {
  int from_port = 0; ///< first port of the range
  int to_port = 0;   ///< last port of the range (== from_port for a single port)
  Protocol protocol = Protocol::kTcp;
  std::string cidr; ///< canonical form, e.g. "10.0.0.0/8" or "2001:db8::/32"
  bool ipv6 = false;
};

struct QueueSpec {
  Millis visibility_timeout = 30'000;
  Millis retention = 4LL * 24 * 3600 * 1000;
  Bytes max_message_size = 256ULL * 1024;
  std::optional<int> dead_letter_after; ///< receives before a message moves to <name>-dlq
  bool fifo = false;
};

struct ObjectsSpec {
  bool versioning = false;
  bool public_read = false;
};

struct KvSpec {};

struct DatabaseSpec {
  DbEngine engine = DbEngine::kPostgres;
  std::string version = "16";
  Size size = Size::kSmall;
  int storage_gib = 32;
  bool ha = false;
};

struct Service {
  std::string name;
  std::variant<QueueSpec, ObjectsSpec, KvSpec, DatabaseSpec> spec;
};

struct Target {
  Cloud cloud = Cloud::kAws;
  std::string region;
};

struct Dns {
  std::string domain;
  std::string name;
  DnsProvider provider = DnsProvider::kRoute53;
};

struct FailoverHealth {
  std::string path = "/healthz";
  Millis interval = 10'000;
  int threshold = 3;
};

struct Failover {
  FailoverMode mode = FailoverMode::kActivePassive;
  std::optional<Dns> dns;
  FailoverHealth health;
  QueueFailover queues = QueueFailover::kFailover;
  Replication objects = Replication::kAsync;
  Replication kv = Replication::kAsync;
};

/// A whole, valid application. Services keep the manifest's order.
struct App {
  int format_version = 1;
  std::string name;
  std::optional<Compute> compute;
  std::vector<Route> routes;
  std::vector<PortRule> ports;
  std::vector<Service> services;
  std::vector<Target> targets;
  std::optional<Failover> failover;
};

std::string_view cloudName(Cloud cloud);
std::string_view sizeName(Size size);
std::string_view engineName(DbEngine engine);

} // namespace exoflow::model
