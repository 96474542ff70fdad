#pragma once
// The Azure DNS layer: a Traffic Manager profile over every target of every cloud, deployed
// in the first Azure target's resource group.

#include <string>

#include "model/app.h"
#include "synth/json.h"

namespace exoflow::synth::azure {

/// The template; the app has failover.dns with provider trafficmanager and an Azure target.
Json renderGlobal(const model::App& app);

/// The parameter that takes a non-Azure target's DNS name: "awsUsEast1Endpoint".
std::string externalEndpointParameter(const model::Target& target);

} // namespace exoflow::synth::azure
