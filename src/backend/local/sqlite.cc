#include "backend/local/sqlite.h"

#include <utility>

#include <fmt/format.h>
#include <sqlite3.h>

namespace exoflow::backend::local {
namespace {

tl::unexpected<Error> sqliteError(sqlite3* db, int code, std::string_view what) {
  const char* detail = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(code);
  // A database another process holds locked past the busy timeout is temporarily unavailable.
  const int primary = code & 0xff;
  const ErrorCode mapped = (primary == SQLITE_BUSY || primary == SQLITE_LOCKED)
                               ? ErrorCode::kUnavailable
                               : ErrorCode::kInternal;
  return fail(mapped, fmt::format("sqlite: {}: {}", what, detail));
}

} // namespace

Query::~Query() {
  if (statement_ == nullptr) return;
  sqlite3_reset(statement_);
  sqlite3_clear_bindings(statement_);
}

Query::Query(Query&& other) noexcept
    : statement_(std::exchange(other.statement_, nullptr)), bind_error_(other.bind_error_) {}

Query& Query::bind(int index, std::int64_t value) {
  const int rc = sqlite3_bind_int64(statement_, index, value);
  if (rc != SQLITE_OK && bind_error_ == 0) bind_error_ = rc;
  return *this;
}

Query& Query::bindText(int index, std::string_view text) {
  const int rc = sqlite3_bind_text64(statement_, index, text.data(), text.size(), SQLITE_TRANSIENT,
                                     SQLITE_UTF8);
  if (rc != SQLITE_OK && bind_error_ == 0) bind_error_ = rc;
  return *this;
}

Query& Query::bindBlob(int index, std::string_view bytes) {
  // A zero-length blob must still be a BLOB, not NULL: pass a non-null pointer.
  static constexpr char kEmpty = 0;
  const char* data = bytes.empty() ? &kEmpty : bytes.data();
  const int rc = sqlite3_bind_blob64(statement_, index, data, bytes.size(), SQLITE_TRANSIENT);
  if (rc != SQLITE_OK && bind_error_ == 0) bind_error_ = rc;
  return *this;
}

Result<bool> Query::step() {
  sqlite3* db = sqlite3_db_handle(statement_);
  if (bind_error_ != 0) return sqliteError(db, bind_error_, "bind");
  const int rc = sqlite3_step(statement_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return sqliteError(db, rc, sqlite3_sql(statement_));
}

Result<void> Query::run() {
  while (true) {
    Result<bool> row = step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) return {};
  }
}

std::int64_t Query::integer(int column) const {
  return sqlite3_column_int64(statement_, column);
}

std::string Query::bytes(int column) const {
  // sqlite3_column_blob() before _bytes(): the documented order that avoids a conversion.
  const void* data = sqlite3_column_blob(statement_, column);
  const int size = sqlite3_column_bytes(statement_, column);
  if (data == nullptr || size <= 0) return {};
  return {static_cast<const char*>(data), static_cast<std::size_t>(size)};
}

bool Query::isNull(int column) const {
  return sqlite3_column_type(statement_, column) == SQLITE_NULL;
}

void Database::Closer::operator()(sqlite3* db) const {
  sqlite3_close_v2(db);
}

void Database::Finalizer::operator()(sqlite3_stmt* statement) const {
  sqlite3_finalize(statement);
}

Result<Database> Database::open(const std::filesystem::path& file) {
  sqlite3* raw = nullptr;
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(file.c_str(), &raw, flags, nullptr);
  Database db(raw); // owns the handle even when opening failed
  if (rc != SQLITE_OK) {
    return sqliteError(raw, rc, fmt::format("opening {}", file.string()));
  }
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, 5000);
  // WAL with synchronous=NORMAL: a commit survives a killed process; only a power loss may
  // lose the last transactions (never corrupt the file). Exclusive locking, set before WAL:
  // the process takes the file's lock once and keeps it, and the WAL index lives in its heap
  // instead of a shared -shm file, so a transaction costs no fcntl() lock calls (two per read,
  // about six per write) and the proxy's threads do not meet in SQLite's process-wide lock
  // table; a kv GET took about a fifth less CPU under load (docs/benchmarks.md). One process
  // owns a store, as the in-process long-poll waiters already assume.
  if (auto ok = db.exec("PRAGMA locking_mode=EXCLUSIVE; PRAGMA journal_mode=WAL; "
                        "PRAGMA synchronous=NORMAL;");
      !ok) {
    if (ok.error().code != ErrorCode::kUnavailable) return tl::unexpected(ok.error());
    return fail(ErrorCode::kUnavailable,
                fmt::format("{} is in use by another process (another exo-proxy with the same "
                            "data_dir?): {}",
                            file.string(), ok.error().message));
  }
  return db;
}

Database::~Database() {
  statements_.clear(); // finalize before the connection closes
}

Result<void> Database::exec(const char* sql) {
  char* message = nullptr;
  const int rc = sqlite3_exec(db_.get(), sql, nullptr, nullptr, &message);
  if (rc == SQLITE_OK) return {};
  std::string detail = message != nullptr ? message : sqlite3_errstr(rc);
  sqlite3_free(message);
  const ErrorCode code =
      ((rc & 0xff) == SQLITE_BUSY) ? ErrorCode::kUnavailable : ErrorCode::kInternal;
  return fail(code, fmt::format("sqlite: {}: {}", sql, detail));
}

Result<Query> Database::query(std::string_view sql) {
  auto it = statements_.find(std::string(sql));
  if (it == statements_.end()) {
    sqlite3_stmt* raw = nullptr;
    const int rc = sqlite3_prepare_v3(db_.get(), sql.data(), static_cast<int>(sql.size()),
                                      SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
    if (rc != SQLITE_OK) {
      sqlite3_finalize(raw);
      return sqliteError(db_.get(), rc, fmt::format("preparing {}", sql));
    }
    it = statements_.emplace(std::string(sql), std::unique_ptr<sqlite3_stmt, Finalizer>(raw)).first;
  }
  return Query(it->second.get());
}

std::int64_t Database::changes() const {
  return sqlite3_changes64(db_.get());
}

Result<Transaction> Transaction::begin(Database& db) {
  // Prepared once and kept, like COMMIT: sqlite3_exec() would parse them on every call.
  Result<Query> begin = db.query("BEGIN IMMEDIATE");
  if (!begin) return tl::unexpected(begin.error());
  if (auto ok = begin->run(); !ok) return tl::unexpected(ok.error());
  return Transaction(db);
}

Transaction::~Transaction() {
  if (db_ != nullptr) (void)db_->exec("ROLLBACK");
}

Result<void> Transaction::commit() {
  Result<Query> commit = db_->query("COMMIT");
  if (!commit) return tl::unexpected(commit.error());
  Result<void> ok = commit->run();
  if (ok) db_ = nullptr;
  return ok;
}

} // namespace exoflow::backend::local
