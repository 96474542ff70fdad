#pragma once
// The exo-proxy configuration of one target (API.md, "Proxy configuration v1"): every service
// bound to its own cloud's resource in the target's region first, then to the proxies of the
// other targets in the manifest's order, as peers. Each cloud renderer supplies the first
// backend; the rest is the same for every cloud.

#include <utility>

#include <functional>
#include <string>
#include <vector>

#include "model/app.h"

namespace exoflow::synth {

/// One entry of a binding's `backends` list: its type and its keys, in order.
struct BackendEntry {
  std::string type;
  std::vector<std::pair<std::string, std::string>> keys;
};

/// What a cloud renderer tells the proxy config about its own target.
struct ProxyTargetInfo {
  /// The backend that serves `service` in this target.
  std::function<BackendEntry(const model::Service&)> local_backend;
  std::string data_dir;    ///< where the proxy keeps its journal on the instance
  std::string credentials; ///< the `credentials:` mapping body, e.g. "aws: {source: imds}"
};

/// The peer name of a target in every proxy config: "aws-us-west-2", "azure-eastus".
std::string peerName(const model::Target& target);
/// The environment variable that holds a peer's URL on an instance: EXO_PEER_AWS_US_WEST_2_URL.
std::string peerUrlVariable(const model::Target& target);
/// The environment variable of a database's password, host, ...: EXO_DB_SHOP_DB_<WHAT>.
std::string databaseVariable(const model::Service& service, std::string_view what);

/// True when the targets talk to each other: a failover section and more than one target.
bool hasPeers(const model::App& app);
/// True when the bindings of `service` list the other targets as peers.
bool servicePeers(const model::App& app, const model::Service& service);

/// The configuration text for `self` (one of app.targets).
std::string renderProxyConfig(const model::App& app, const model::Target& self,
                              const ProxyTargetInfo& info);

/// The configuration of `exoflow synth --target local`: every service on local.sqlite, each
/// database on a local server whose password comes from the environment.
std::string renderLocalSynthProxyConfig(const model::App& app);

} // namespace exoflow::synth
