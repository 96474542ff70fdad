#pragma once
// The bootstrap template of AWS (out/aws/bootstrap.json): what the app stacks stand on.

#include "model/app.h"
#include "synth/json.h"

namespace exoflow::synth::aws {

/// The artifact bucket (versioned, encrypted, private, TLS only), the execution role
/// CloudFormation creates the app stacks with, the deploy role, and their outputs, which
/// `exoflow deploy` passes to the app stacks as parameters.
Json renderBootstrap(const model::App& app);

/// The DNS layer (out/aws/global.json) when failover.dns.provider is route53: one health
/// check per target and failover (active-passive) or weighted (active-active) records.
Json renderGlobal(const model::App& app);

} // namespace exoflow::synth::aws
