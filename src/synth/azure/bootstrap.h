#pragma once
// The Azure bootstrap: a subscription-scope template with one resource group per Azure target
// and, in the first one, the artifact store and the instances' managed identity.

#include "model/app.h"
#include "synth/json.h"

namespace exoflow::synth::azure {

/// The template; the app must have at least one Azure target.
Json renderBootstrap(const model::App& app);

} // namespace exoflow::synth::azure
