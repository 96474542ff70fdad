#pragma once
// The dedup_ids a queue accepted in the last 5 minutes, for cloud queues that do not deduplicate
// themselves (SQS standard queues, Azure Queue Storage): kept in a SQLite file under the proxy's
// data_dir so that the window survives a restart. One file per binding and backend type, shared
// by every Queue object of this process on it (the file is held exclusively).

#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "backend/local/sqlite.h"
#include "common/error.h"

namespace exoflow::backend {

class DedupWindow {
public:
  explicit DedupWindow(local::Database db) : db_(std::move(db)) {}

  /// The window kept in `file` (its directory is created), shared while any holder lives.
  static Result<std::shared_ptr<DedupWindow>> open(const std::filesystem::path& file);

  /// The message id a dedup_id got in the window on `queue`, if any.
  Result<std::optional<std::string>> find(const std::string& queue, const std::string& dedup_id);
  Result<void> remember(const std::string& queue, const std::string& dedup_id,
                        const std::string& message_id);

private:
  std::mutex mutex_;
  local::Database db_;
};

} // namespace exoflow::backend
