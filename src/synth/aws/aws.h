#pragma once
// Internals of the AWS renderer: the names of each service, the pieces of the app stack and
// the expressions they share. One file per resource kind renders its part.

#include <string>
#include <vector>

#include "model/app.h"
#include "synth/cfn_template.h"
#include "synth/json.h"

namespace exoflow::synth::aws {

/// The names of one service on AWS. Only the bucket name depends on the region.
struct ServiceNames {
  std::string id;          ///< logical-id stem, unique within the app: "ShopDb"
  std::string name;        ///< queue, table or RDS instance name; a bucket's name before
                           ///< "-<account id>", which only the deployed stack knows
  std::string dead_letter; ///< a queue with dead_letter: its dead-letter queue's name
  std::string database;    ///< a database: the database created in the instance ("shop_db")
};

/// The names of every service of `app` in `region`, in the manifest's order.
std::vector<ServiceNames> serviceNames(const model::App& app, std::string_view region);

/// EC2 takes 16 KiB of user data; a proxy config larger than this is fetched from the
/// bootstrap bucket by the instances instead of being written inline.
constexpr std::size_t kInlineProxyConfigBytes = std::size_t{8} * 1024;

/// The master user of every RDS instance.
constexpr std::string_view kDatabaseUser = "exoflow";

/// What the app stack shares with the services: in one template these are Ref/GetAtt of its
/// own resources, in a nested stack the parameters the parent passes down.
struct Shared {
  Json db_subnet_group;
  Json db_security_group_id;
};

/// The resources and outputs of one service, rendered apart so that they can move into a
/// nested stack when the app stack grows past CloudFormation's limits.
struct ServiceUnit {
  CfnTemplate part{""};
  bool uses_database_network = false;
};

ServiceUnit renderQueue(const model::QueueSpec& spec, const ServiceNames& names);
ServiceUnit renderBucket(const model::ObjectsSpec& spec, const ServiceNames& names);
ServiceUnit renderTable(const ServiceNames& names);
ServiceUnit renderDatabase(const model::DatabaseSpec& spec, const ServiceNames& names,
                           const Shared& shared);
ServiceUnit renderService(const model::Service& service, const ServiceNames& names,
                          const Shared& shared);

/// The output names a service unit always has, which the app stack reads back.
std::string databaseEndpointOutput(const ServiceNames& names);
std::string databasePortOutput(const ServiceNames& names);
std::string databaseSecretOutput(const ServiceNames& names);

/// What the app stack of one target holds, decided from the manifest alone.
struct Layout {
  bool compute = false;          ///< launch template, auto scaling group, instance role
  bool routes = false;           ///< load balancer, listener, one rule and target group each
  bool databases = false;        ///< private subnets, subnet group, database security group
  bool network = false;          ///< a VPC at all (compute or databases)
  bool instances_public = false; ///< `ports` open ports directly: instances in public subnets
  bool nat = false;              ///< instances in private subnets need NAT for egress
  bool peers = false;            ///< services shared with other targets: a load balancer for peers
};
Layout layoutOf(const model::App& app);

/// How a service attribute read by the app stack is reached: one template or nested stacks.
class UnitRefs {
public:
  virtual ~UnitRefs() = default;
  /// The value of output `output` of the unit of service `index`.
  [[nodiscard]] virtual Json output(std::size_t index, const std::string& output) const = 0;
};

/// The core of the app stack (everything but the services), added to `t`.
void addParameters(CfnTemplate& t, const model::App& app, const model::Target& self);
void addNetwork(CfnTemplate& t, const Layout& layout);
void addSecurityGroups(CfnTemplate& t, const model::App& app, const Layout& layout);
void addLoadBalancer(CfnTemplate& t, const model::App& app, const Layout& layout);
void addInstanceRole(CfnTemplate& t, const model::App& app, const model::Target& self,
                     const std::vector<ServiceNames>& names, const UnitRefs& refs);
void addCompute(CfnTemplate& t, const model::App& app, const model::Target& self,
                const Layout& layout, const std::vector<ServiceNames>& names, const UnitRefs& refs,
                const std::string& proxy_config, bool inline_proxy);

/// With peers: the NoEcho parameters of the peer TLS files and token, the secret holding them
/// (logical id kPeerSecret) and the user data lines that write them to /etc/exoflow/tls.
constexpr std::string_view kPeerSecret = "PeerSecret";
void addPeerSecretParameters(CfnTemplate& t, const model::Target& self);
void addPeerSecret(CfnTemplate& t, const model::App& app, const model::Target& self);
std::string peerSecretFetch();

/// The instance's start-up script for the launch template, as a Fn::Sub expression.
Json userData(const model::App& app, const model::Target& self,
              const std::vector<ServiceNames>& names, const UnitRefs& refs,
              const std::string& proxy_config, bool inline_proxy);

/// EC2 takes 16 KiB of user data, counted after CloudFormation has filled it in.
constexpr std::size_t kMaxUserDataBytes = std::size_t{16} * 1024;
/// The size of user data once CloudFormation has resolved its ${...} references, estimated
/// generously (a host name or ARN counts as 128 bytes).
std::size_t resolvedUserDataSize(const Json& user_data);

/// The proxy config of an AWS target; empty when the app has no services (no proxy runs).
std::string awsProxyConfig(const model::App& app, const model::Target& self,
                           const std::vector<ServiceNames>& names);

/// The S3 key prefix of the app's files in the bootstrap bucket: "<app>/".
std::string artifactPrefix(const model::App& app);

/// The IAM path of the app's roles, which the bootstrap's execution role is limited to.
std::string rolePath(const model::App& app);

/// The first AWS target's region, where the global stack lives (us-east-1 without one).
std::string globalRegion(const model::App& app);

} // namespace exoflow::synth::aws
