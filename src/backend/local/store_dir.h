#pragma once
// Where a local.sqlite store lives and the process-wide cache that lets every backend object
// of one store share a single open store (one SQLite connection, one set of queue waiters).

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "backend/backend.h"

namespace exoflow::backend::local {

/// The store's directory, created if missing: the spec's `path` param (relative to data_dir
/// when relative), else `<data_dir>/<binding>`. kInvalidArgument for unknown params or a
/// binding that is not a plain name; kUnavailable when the directory cannot be created.
Result<std::filesystem::path> resolveStoreDir(const BackendSpec& spec,
                                              const BackendContext& context);

/// Opens each store once per process and hands out shared references while any is alive.
template <typename Store> class StoreCache {
public:
  using Opener = std::function<Result<std::shared_ptr<Store>>(const std::filesystem::path&)>;

  /// The live store for `dir` (a path resolveStoreDir() returned), or a new one from `open`.
  Result<std::shared_ptr<Store>> get(const std::filesystem::path& dir, const Opener& open) {
    std::lock_guard lock(mutex_);
    const std::string key = dir.string();
    if (auto it = stores_.find(key); it != stores_.end()) {
      if (std::shared_ptr<Store> live = it->second.lock()) return live;
    }
    Result<std::shared_ptr<Store>> opened = open(dir);
    if (opened) stores_[key] = *opened;
    // Drop entries whose stores are gone, so the map does not grow without bound.
    std::erase_if(stores_, [](const auto& entry) { return entry.second.expired(); });
    return opened;
  }

private:
  std::mutex mutex_;
  std::map<std::string, std::weak_ptr<Store>> stores_;
};

} // namespace exoflow::backend::local
