#pragma once
// Random tokens and passwords for the local runtime, kept in files under .exoflow/ so that a
// restart finds the same ones (the data of the last run stays usable).

#include <filesystem>
#include <string>

#include "common/error.h"

namespace exoflow::local {

/// 32 random bytes from the kernel, as 64 hex digits.
Result<std::string> randomToken();

/// The secret stored in `path` (mode 0600), created on first use.
Result<std::string> loadOrCreateSecret(const std::filesystem::path& path);

} // namespace exoflow::local
