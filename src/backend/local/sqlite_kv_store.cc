// The local.sqlite KvStore: JSON text under byte-ordered keys, versions from one counter per
// store file (so a deleted and re-created item never reuses a version).

#include <mutex>

#include <fmt/format.h>

#include "backend/local/codec.h"
#include "backend/local/local_backends.h"
#include "backend/local/sqlite.h"
#include "backend/local/store_dir.h"

namespace exoflow::backend::local {
namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS items (
  tbl TEXT NOT NULL,
  key BLOB NOT NULL,        -- BLOB: compared byte by byte
  value TEXT NOT NULL,      -- JSON text as given
  version INTEGER NOT NULL,
  PRIMARY KEY (tbl, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS version_counter (
  id INTEGER PRIMARY KEY CHECK (id = 0),
  last INTEGER NOT NULL
);
INSERT OR IGNORE INTO version_counter (id, last) VALUES (0, 0);
)sql";

/// An If-Match value as a version number; the quoted ETag form is accepted too. Anything
/// else matches no version.
std::optional<std::int64_t> parseVersion(std::string_view text) {
  if (text.size() >= 2 && text.front() == '"' && text.back() == '"') {
    text = text.substr(1, text.size() - 2);
  }
  if (text.empty() || text.size() > 18) return std::nullopt;
  std::int64_t version = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    version = version * 10 + (c - '0');
  }
  return version;
}

Result<void> checkKey(std::string_view key) {
  if (key.empty() || key.size() > 512) {
    return fail(ErrorCode::kInvalidArgument, "an item key holds 1..512 bytes");
  }
  return {};
}

/// Every table of one store file; thread-safe.
class KvDb {
public:
  explicit KvDb(Database db) : db_(std::move(db)) {}

  static Result<std::shared_ptr<KvDb>> open(const std::filesystem::path& dir) {
    Result<Database> db = Database::open(dir / "kv.sqlite");
    if (!db) return tl::unexpected(db.error());
    if (auto ok = db->exec(kSchema); !ok) return tl::unexpected(ok.error());
    return std::make_shared<KvDb>(std::move(*db));
  }

  Result<std::string> put(std::string_view table, const KvPutRequest& request) {
    std::lock_guard lock(mutex_);
    Result<Transaction> txn = Transaction::begin(db_);
    if (!txn) return tl::unexpected(txn.error());
    Result<std::optional<std::int64_t>> current = currentVersion(table, request.key);
    if (!current) return tl::unexpected(current.error());
    if (request.if_none_match_star && *current) {
      return fail(ErrorCode::kPreconditionFailed, "the item exists (If-None-Match: *)");
    }
    if (request.if_match && (!*current || parseVersion(*request.if_match) != **current)) {
      return fail(ErrorCode::kPreconditionFailed, "the item's version does not match If-Match");
    }
    std::int64_t version = 0;
    {
      Result<Query> next =
          db_.query("UPDATE version_counter SET last = last + 1 WHERE id = 0 RETURNING last");
      if (!next) return tl::unexpected(next.error());
      Result<bool> row = next->step();
      if (!row) return tl::unexpected(row.error());
      if (!*row) return fail(ErrorCode::kInternal, "the version counter is missing");
      version = next->integer(0);
      if (auto done = next->run(); !done) return tl::unexpected(done.error());
    }
    Result<Query> upsert = db_.query(
        "INSERT OR REPLACE INTO items (tbl, key, value, version) VALUES (?1, ?2, ?3, ?4)");
    if (!upsert) return tl::unexpected(upsert.error());
    upsert->bindText(1, table).bindBlob(2, request.key).bindText(3, request.value);
    if (auto ok = upsert->bind(4, version).run(); !ok) return tl::unexpected(ok.error());
    if (auto ok = txn->commit(); !ok) return tl::unexpected(ok.error());
    return std::to_string(version);
  }

  Result<KvItem> get(std::string_view table, std::string_view key) {
    std::lock_guard lock(mutex_);
    Result<Query> find = db_.query("SELECT value, version FROM items WHERE tbl = ?1 AND key = ?2");
    if (!find) return tl::unexpected(find.error());
    Result<bool> row = find->bindText(1, table).bindBlob(2, key).step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) return fail(ErrorCode::kNotFound, "no such item");
    return KvItem{std::string(key), find->bytes(0), std::to_string(find->integer(1))};
  }

  Result<void> remove(std::string_view table, std::string_view key,
                      const std::optional<std::string>& if_match) {
    std::lock_guard lock(mutex_);
    Result<Transaction> txn = Transaction::begin(db_);
    if (!txn) return tl::unexpected(txn.error());
    if (if_match) {
      Result<std::optional<std::int64_t>> current = currentVersion(table, key);
      if (!current) return tl::unexpected(current.error());
      if (!*current || parseVersion(*if_match) != **current) {
        return fail(ErrorCode::kPreconditionFailed,
                    "the item is missing or its version does not match If-Match");
      }
    }
    Result<Query> drop = db_.query("DELETE FROM items WHERE tbl = ?1 AND key = ?2");
    if (!drop) return tl::unexpected(drop.error());
    if (auto ok = drop->bindText(1, table).bindBlob(2, key).run(); !ok) {
      return tl::unexpected(ok.error());
    }
    return txn->commit();
  }

  Result<KvListResult> list(std::string_view table, const KvListRequest& request) {
    if (request.limit < 1 || request.limit > 1000) {
      return fail(ErrorCode::kInvalidArgument, "limit must be 1..1000");
    }
    std::string seek = request.prefix;
    if (!request.cursor.empty()) {
      Result<std::string> resume = decodeCursor(request.cursor);
      if (!resume) return tl::unexpected(resume.error());
      if (*resume > seek) seek = std::move(*resume);
    }
    std::lock_guard lock(mutex_);
    Result<Query> page =
        db_.query("SELECT key, value, version FROM items WHERE tbl = ?1 AND key >= ?2 ORDER BY key "
                  "LIMIT ?3");
    if (!page) return tl::unexpected(page.error());
    page->bindText(1, table).bindBlob(2, seek).bind(3, request.limit + 1);
    KvListResult result;
    while (true) {
      Result<bool> row = page->step();
      if (!row) return tl::unexpected(row.error());
      if (!*row) break;
      std::string key = page->bytes(0);
      if (key.compare(0, request.prefix.size(), request.prefix) != 0) break;
      if (static_cast<int>(result.items.size()) == request.limit) {
        result.next_cursor = encodeCursor(result.items.back().key + '\0');
        break;
      }
      result.items.push_back(
          KvItem{std::move(key), page->bytes(1), std::to_string(page->integer(2))});
    }
    return result;
  }

private:
  /// The item's version, if it exists. Locked.
  Result<std::optional<std::int64_t>> currentVersion(std::string_view table, std::string_view key) {
    Result<Query> find = db_.query("SELECT version FROM items WHERE tbl = ?1 AND key = ?2");
    if (!find) return tl::unexpected(find.error());
    Result<bool> row = find->bindText(1, table).bindBlob(2, key).step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) return std::optional<std::int64_t>();
    return std::optional<std::int64_t>(find->integer(0));
  }

  std::mutex mutex_;
  Database db_;
};

StoreCache<KvDb>& kvStores() {
  static StoreCache<KvDb> instance;
  return instance;
}

class SqliteKvStore final : public KvStore {
public:
  SqliteKvStore(std::shared_ptr<KvDb> db, KvStoreConfig config)
      : db_(std::move(db)), config_(std::move(config)) {}

  std::string describe() const override { return std::string(kType); }

  KvFeatures features() const override {
    return {KvFeature::kConditionalWrites, KvFeature::kPrefixList, KvFeature::kLargeValues};
  }

  void put(KvPutRequest request, Done<std::string> done) override {
    if (auto ok = checkKey(request.key); !ok) return done(tl::unexpected(ok.error()));
    done(db_->put(config_.name, request));
  }

  void get(std::string key, Done<KvItem> done) override {
    if (auto ok = checkKey(key); !ok) return done(tl::unexpected(ok.error()));
    done(db_->get(config_.name, key));
  }

  void remove(std::string key, std::optional<std::string> if_match, Done<void> done) override {
    if (auto ok = checkKey(key); !ok) return done(tl::unexpected(ok.error()));
    done(db_->remove(config_.name, key, if_match));
  }

  void list(KvListRequest request, Done<KvListResult> done) override {
    done(db_->list(config_.name, request));
  }

private:
  std::shared_ptr<KvDb> db_;
  KvStoreConfig config_;
};

} // namespace

Result<std::unique_ptr<KvStore>> openKvStore(const BackendSpec& spec, const KvStoreConfig& config,
                                             const BackendContext& context) {
  if (config.name.empty()) return fail(ErrorCode::kInvalidArgument, "table name is empty");
  Result<std::filesystem::path> dir = resolveStoreDir(spec, context);
  if (!dir) return tl::unexpected(dir.error());
  Result<std::shared_ptr<KvDb>> db = kvStores().get(*dir, &KvDb::open);
  if (!db) return tl::unexpected(db.error());
  return std::make_unique<SqliteKvStore>(std::move(*db), config);
}

} // namespace exoflow::backend::local
