#pragma once
// Manifest v1: from the bytes of exoflow.yaml to a checked model::App, with every problem
// reported as a diagnostic (see docs/manifest.md for the format and its rules).

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

#include "manifest/diagnostic.h"
#include "model/app.h"

namespace exoflow::manifest {

struct LoadResult {
  std::optional<model::App> app;       ///< set only when there are no errors (warnings allowed)
  std::vector<Diagnostic> diagnostics; ///< sorted by line, then column
};

struct CheckOptions {
  /// The folder `compute.artifact` is relative to. When set, a missing artifact is warned
  /// about; when empty, the file system is not consulted (fuzzing, benchmarks).
  std::optional<std::filesystem::path> base_dir;
};

/// Checks a manifest. `file_name` is used as written in every diagnostic. Never throws.
LoadResult checkManifest(std::string_view file_name, std::string bytes,
                         const CheckOptions& options = {});

/// Reads and checks a file; an unreadable file comes back as an Error.
struct ReadError {
  std::string message;
};
tl::expected<LoadResult, ReadError> loadManifestFile(const std::filesystem::path& path,
                                                     std::string_view display_name);

} // namespace exoflow::manifest
