#pragma once
// `exoflow synth`: from a checked app model to the files of each target: CloudFormation for
// AWS and ARM templates for Azure (bootstrap, one app template per region, the DNS layer), one
// exo-proxy config per target,
// and a plan that says how each template is deployed. The same model always gives the same
// bytes.

#include <string>
#include <vector>

#include <tl/expected.hpp>

#include "model/app.h"

namespace exoflow::synth {

enum class TargetSet { kAws, kAzure, kLocal, kAll };

/// One file to write, relative to the output folder, with "/" between folders.
struct OutputFile {
  std::string path;
  std::string content;
};

struct SynthOutput {
  std::vector<OutputFile> files;  ///< in a fixed order
  std::vector<std::string> notes; ///< what the user should know: skipped targets, limits hit
};

/// A request the manifest cannot satisfy, with the manifest field it comes from.
struct SynthError {
  std::string path; ///< e.g. "targets"
  std::string message;
};

tl::expected<SynthOutput, SynthError> synthesize(const model::App& app, TargetSet targets);

/// The AWS files alone: aws/bootstrap.json, aws/<region>/app.json (+ stacks/services-N.json),
/// aws/<region>/proxy.yaml, aws/global.json with Route 53, and aws/plan.json.
tl::expected<SynthOutput, SynthError> synthesizeAws(const model::App& app);

/// The Azure files alone: azure/bootstrap.json (subscription scope), azure/<region>/app.json,
/// azure/<region>/proxy.yaml, azure/global.json with Traffic Manager, and azure/plan.json.
tl::expected<SynthOutput, SynthError> synthesizeAzure(const model::App& app);

} // namespace exoflow::synth
