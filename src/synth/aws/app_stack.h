#pragma once
// The app stack of one AWS target: one template when it fits CloudFormation's quotas, else a
// parent template with the services spread over nested stacks kept in the bootstrap bucket.

#include <utility>

#include <string>
#include <vector>

#include <tl/expected.hpp>

#include "model/app.h"
#include "synth/json.h"

namespace exoflow::synth::aws {

// nlohmann::json's special members are not noexcept, which clang-tidy reports for every
// aggregate that holds one; nothing here throws while moving.
struct AppStack { // NOLINT(bugprone-exception-escape)
  Json parent;
  /// Nested templates by file name ("services-1.json"), in order; empty when all fits in one.
  std::vector<std::pair<std::string, Json>> nested;
  std::string proxy_config;
  bool proxy_config_inline = true; ///< false: the instances fetch it from the bootstrap bucket
};

/// The stack, or why it cannot be made (a limit CloudFormation or EC2 has no way around).
tl::expected<AppStack, std::string> renderAppStack(const model::App& app,
                                                   const model::Target& self);

/// The key prefix of a target's files in the bootstrap bucket: "<app>/aws-<region>/".
std::string targetPrefix(const model::App& app, const model::Target& self);

} // namespace exoflow::synth::aws
