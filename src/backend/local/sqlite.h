#pragma once
// A small RAII layer over the SQLite C API: a connection that caches its prepared statements,
// a borrowed statement that resets itself when it goes out of scope, and a transaction that
// rolls back unless committed. Every failure is a Result error (kInternal or kUnavailable for
// a busy database); nothing throws. Not thread-safe: one caller at a time per Database.

#include <utility>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/error.h"

struct sqlite3;
struct sqlite3_stmt;

namespace exoflow::backend::local {

/// One use of a cached prepared statement: bind (1-based), step, read columns (0-based).
/// Resets the statement and clears its bindings when destroyed.
class Query {
public:
  explicit Query(sqlite3_stmt* statement) : statement_(statement) {}
  ~Query();
  Query(Query&& other) noexcept;
  Query& operator=(Query&&) = delete;
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;

  /// Binds an integer.
  Query& bind(int index, std::int64_t value);
  /// Binds text (stored and compared as TEXT).
  Query& bindText(int index, std::string_view text);
  /// Binds bytes (stored and compared as BLOB: byte order, any byte allowed).
  Query& bindBlob(int index, std::string_view bytes);

  /// Steps once: true when a row is ready, false when the statement is done.
  Result<bool> step();
  /// Steps to the end, for statements that return no rows.
  Result<void> run();

  /// Reads a column of the current row.
  std::int64_t integer(int column) const;
  /// Reads a TEXT or BLOB column's bytes.
  std::string bytes(int column) const;
  /// True when the column is NULL.
  bool isNull(int column) const;

private:
  sqlite3_stmt* statement_;
  int bind_error_ = 0; ///< the first failed bind, reported by step()
};

/// A connection to one database file in WAL mode with synchronous=NORMAL (durable against a
/// killed process), holding the file's lock exclusively from its first transaction until it
/// closes: another process (or connection) that opens the file waits up to the busy timeout
/// and then gets kUnavailable.
class Database {
public:
  /// Opens or creates the file.
  static Result<Database> open(const std::filesystem::path& file);

  Database(Database&&) noexcept = default;
  Database& operator=(Database&&) noexcept = default;
  ~Database();

  /// Runs SQL text that may hold several statements and returns no rows.
  Result<void> exec(const char* sql);
  /// Borrows the statement for `sql`, preparing it the first time. Call with constant SQL
  /// text only: each distinct text stays prepared for the connection's lifetime.
  Result<Query> query(std::string_view sql);
  /// Rows changed by the last INSERT, UPDATE or DELETE.
  std::int64_t changes() const;

private:
  struct Closer {
    void operator()(sqlite3* db) const;
  };
  struct Finalizer {
    void operator()(sqlite3_stmt* statement) const;
  };
  explicit Database(sqlite3* db) : db_(db) {}

  std::unique_ptr<sqlite3, Closer> db_; ///< first: closed after every statement is finalized
  std::unordered_map<std::string, std::unique_ptr<sqlite3_stmt, Finalizer>> statements_;
};

/// BEGIN IMMEDIATE ... COMMIT; rolls back when destroyed uncommitted.
class Transaction {
public:
  /// Begins a write transaction (taking the write lock at once, so it never fails later with
  /// a lock upgrade).
  static Result<Transaction> begin(Database& db);
  Transaction(Transaction&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();

  /// Commits; after a failure the destructor rolls back.
  Result<void> commit();

private:
  explicit Transaction(Database& db) : db_(&db) {}
  Database* db_;
};

} // namespace exoflow::backend::local
