#pragma once
// Helpers shared by the synth tests: the case manifests, reading files, checking a manifest.

#include <filesystem>
#include <string>
#include <vector>

#include "model/app.h"

namespace exoflow::synth::test {

/// tests/synth in the source tree.
std::filesystem::path synthTestDir();

/// The names of tests/synth/cases/*.yaml (without .yaml) plus "webshop" for the example,
/// sorted.
std::vector<std::string> caseNames();

/// The manifest of a case: tests/synth/cases/<name>.yaml, or the example for "webshop".
std::filesystem::path caseManifest(const std::string& name);

std::string readFile(const std::filesystem::path& path);

/// Checks manifest text; fails the test (and returns an empty app) when it is invalid.
model::App loadApp(const std::filesystem::path& path);
model::App appFromText(const std::string& text);

/// Every file under `dir`, as paths relative to it with "/" separators, sorted.
std::vector<std::string> filesUnder(const std::filesystem::path& dir);

} // namespace exoflow::synth::test
