#include "backend/dedup_window.h"

#include "backend/local/codec.h"
#include "backend/local/store_dir.h"

namespace exoflow::backend {
namespace {

constexpr std::int64_t kDedupWindowMs = std::int64_t{5} * 60 * 1000;
constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS dedup (
  queue TEXT NOT NULL,       -- the cloud queue's URL or name
  dedup_id TEXT NOT NULL,
  message_id TEXT NOT NULL,
  accepted_at INTEGER NOT NULL,
  PRIMARY KEY (queue, dedup_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS dedup_by_age ON dedup (accepted_at);
)sql";

} // namespace

Result<std::shared_ptr<DedupWindow>> DedupWindow::open(const std::filesystem::path& file) {
  static local::StoreCache<DedupWindow> cache;
  return cache.get(file,
                   [](const std::filesystem::path& path) -> Result<std::shared_ptr<DedupWindow>> {
                     std::error_code ec;
                     std::filesystem::create_directories(path.parent_path(), ec);
                     Result<local::Database> db = local::Database::open(path);
                     if (!db) return tl::unexpected(db.error());
                     if (auto ok = db->exec(kSchema); !ok) return tl::unexpected(ok.error());
                     return std::make_shared<DedupWindow>(std::move(*db));
                   });
}

Result<std::optional<std::string>> DedupWindow::find(const std::string& queue,
                                                     const std::string& dedup_id) {
  std::lock_guard lock(mutex_);
  const std::int64_t now = local::nowMillis();
  Result<local::Query> purge = db_.query("DELETE FROM dedup WHERE accepted_at <= ?1");
  if (!purge) return tl::unexpected(purge.error());
  if (auto ok = purge->bind(1, now - kDedupWindowMs).run(); !ok) {
    return tl::unexpected(ok.error());
  }
  Result<local::Query> seen =
      db_.query("SELECT message_id FROM dedup WHERE queue = ?1 AND dedup_id = ?2");
  if (!seen) return tl::unexpected(seen.error());
  seen->bindText(1, queue).bindText(2, dedup_id);
  Result<bool> row = seen->step();
  if (!row) return tl::unexpected(row.error());
  if (!*row) return std::optional<std::string>();
  return std::optional<std::string>(seen->bytes(0));
}

Result<void> DedupWindow::remember(const std::string& queue, const std::string& dedup_id,
                                   const std::string& message_id) {
  std::lock_guard lock(mutex_);
  Result<local::Query> insert =
      db_.query("INSERT OR REPLACE INTO dedup (queue, dedup_id, message_id, accepted_at) "
                "VALUES (?1, ?2, ?3, ?4)");
  if (!insert) return tl::unexpected(insert.error());
  insert->bindText(1, queue).bindText(2, dedup_id).bindText(3, message_id);
  return insert->bind(4, local::nowMillis()).run();
}

} // namespace exoflow::backend
