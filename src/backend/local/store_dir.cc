#include "backend/local/store_dir.h"

#include <system_error>

#include <fmt/format.h>

namespace exoflow::backend::local {

Result<std::filesystem::path> resolveStoreDir(const BackendSpec& spec,
                                              const BackendContext& context) {
  for (const auto& [name, value] : spec.params) {
    if (name != "path") {
      return fail(
          ErrorCode::kInvalidArgument,
          fmt::format("{}: unknown parameter \"{}\"; known parameters: path", spec.type, name));
    }
  }
  std::filesystem::path dir;
  if (auto it = spec.params.find("path"); it != spec.params.end()) {
    if (it->second.empty()) {
      return fail(ErrorCode::kInvalidArgument, fmt::format("{}: path is empty", spec.type));
    }
    dir = std::filesystem::path(it->second);
    if (dir.is_relative()) dir = context.data_dir / dir;
  } else {
    const std::string& binding = context.binding;
    if (binding.empty() || binding == "." || binding == ".." ||
        binding.find_first_of(std::string_view("/\\\0", 3)) != std::string::npos) {
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("{}: binding name \"{}\" cannot name a directory; set path",
                              spec.type, binding));
    }
    dir = context.data_dir / binding;
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return fail(ErrorCode::kUnavailable,
                fmt::format("{}: cannot create {}: {}", spec.type, dir.string(), ec.message()));
  }
  // One canonical spelling per directory, so the cache finds a store however it was named.
  std::filesystem::path canonical = std::filesystem::canonical(dir, ec);
  if (ec) {
    return fail(ErrorCode::kUnavailable,
                fmt::format("{}: cannot resolve {}: {}", spec.type, dir.string(), ec.message()));
  }
  return canonical;
}

} // namespace exoflow::backend::local
