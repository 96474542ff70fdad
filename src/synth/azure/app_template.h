#pragma once
// The app template of one Azure target: network, gateway, scale set, storage and databases in
// the target's resource group, plus the target's exo-proxy config.

#include <string>
#include <vector>

#include <tl/expected.hpp>

#include "model/app.h"
#include "synth/json.h"

namespace exoflow::synth::azure {

// nlohmann::json's special members are not noexcept; nothing here throws while moving.
struct AppTemplate {        // NOLINT(bugprone-exception-escape)
  Json tmpl;                ///< null when the target has nothing to run
  std::string proxy_config; ///< empty when the app has no services
  bool proxy_config_inline = true;
  bool split_services = false; ///< queues, containers and tables in nested deployments
  std::vector<std::string> notes;
};

/// The template, or why it cannot be made (a limit ARM or Azure has no way around).
tl::expected<AppTemplate, std::string> renderAppTemplate(const model::App& app,
                                                         const model::Target& self);

} // namespace exoflow::synth::azure
