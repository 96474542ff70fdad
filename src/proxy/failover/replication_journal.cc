// The replication journal (SQLite) and the copy of one key between two backends.
#include <fmt/format.h>

#include "backend/local/codec.h"
#include "proxy/failover/replication.h"

namespace exoflow::proxy::failover {

namespace {

using backend::Done;
namespace local = backend::local;

/// One row per (key, target) that still needs a copy. A newer write of the key replaces the
/// row's source and seq but keeps written_at: the target has lacked the key's newest state
/// since the oldest write it missed, and that is what the lag measures.
constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS pending (
  key BLOB NOT NULL,
  target INTEGER NOT NULL,    -- the chain index of the backend that needs the copy
  source INTEGER NOT NULL,    -- the chain index of the backend the key was last written on
  seq INTEGER NOT NULL,       -- the write that made or last replaced the row
  written_at INTEGER NOT NULL,
  PRIMARY KEY (key, target)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS pending_by_seq ON pending (seq);
)sql";

/// Objects are copied in chunks of this size, so no object is held in memory whole.
constexpr std::size_t kCopyChunk = std::size_t{1} << 20;

tl::unexpected<Error> journalError(const std::filesystem::path& file, const Error& error) {
  return fail(error.code, fmt::format("replication journal {}: {}", file.string(), error.message));
}

struct ObjectCopy : std::enable_shared_from_this<ObjectCopy> {
  backend::ObjectStore* from = nullptr;
  backend::ObjectStore* to = nullptr;
  std::string key;
  Done<void> done;
  std::unique_ptr<backend::ObjectDownload> download;
  std::unique_ptr<backend::ObjectUpload> upload;

  void start() {
    from->get(key, std::nullopt,
              [self = shared_from_this()](Result<std::unique_ptr<backend::ObjectDownload>> got) {
                if (!got) {
                  if (got.error().code == ErrorCode::kNotFound) {
                    self->to->remove(self->key, std::move(self->done));
                  } else {
                    self->done(tl::unexpected(got.error()));
                  }
                  return;
                }
                self->download = std::move(*got);
                self->open();
              });
  }

  void open() {
    const backend::ObjectInfo& info = download->info();
    backend::PutRequest put;
    put.key = key;
    if (!info.content_type.empty()) put.content_type = info.content_type;
    put.metadata = info.metadata;
    put.size = info.size;
    to->put(std::move(put),
            [self = shared_from_this()](Result<std::unique_ptr<backend::ObjectUpload>> made) {
              if (!made) {
                self->done(tl::unexpected(made.error()));
                return;
              }
              self->upload = std::move(*made);
              self->pipe();
            });
  }

  void pipe() {
    download->read(kCopyChunk, [self = shared_from_this()](Result<std::string> chunk) {
      if (!chunk) {
        self->upload->abort();
        self->done(tl::unexpected(chunk.error()));
        return;
      }
      if (chunk->empty()) {
        self->upload->finish([self](Result<backend::ObjectInfo> r) {
          self->done(r ? Result<void>() : tl::unexpected(r.error()));
        });
        return;
      }
      self->upload->write(std::move(*chunk), [self](Result<void> w) {
        if (!w) {
          self->done(std::move(w));
          return;
        }
        self->pipe();
      });
    });
  }
};

} // namespace

// ---- journal ----

Result<std::unique_ptr<ReplicationJournal>>
ReplicationJournal::open(const std::filesystem::path& file, std::size_t chain_size) {
  std::error_code ec;
  std::filesystem::create_directories(file.parent_path(), ec);
  Result<local::Database> db = local::Database::open(file);
  if (!db) return journalError(file, db.error());
  if (auto ok = db->exec(kSchema); !ok) return journalError(file, ok.error());
  auto journal = std::make_unique<ReplicationJournal>(std::move(*db), chain_size);
  Result<local::Query> drop =
      journal->db_.query("DELETE FROM pending WHERE target >= ?1 OR source >= ?1");
  if (!drop) return journalError(file, drop.error());
  if (auto ok = drop->bind(1, static_cast<std::int64_t>(chain_size)).run(); !ok) {
    return journalError(file, ok.error());
  }
  Result<local::Query> last = journal->db_.query("SELECT COALESCE(MAX(seq), 0) FROM pending");
  if (!last) return journalError(file, last.error());
  Result<bool> row = last->step();
  if (!row) return journalError(file, row.error());
  journal->next_seq_ = last->integer(0) + 1;
  return journal;
}

Result<std::int64_t> ReplicationJournal::record(const std::string& key, std::size_t source) {
  std::lock_guard lock(mutex_);
  const std::int64_t seq = next_seq_++;
  const std::int64_t now = local::nowMillis();
  Result<local::Transaction> tx = local::Transaction::begin(db_);
  if (!tx) return tl::unexpected(tx.error());
  {
    Result<local::Query> done = db_.query("DELETE FROM pending WHERE key = ?1 AND target = ?2");
    if (!done) return tl::unexpected(done.error());
    done->bindBlob(1, key).bind(2, static_cast<std::int64_t>(source));
    if (auto ok = done->run(); !ok) return tl::unexpected(ok.error());
  }
  for (std::size_t target = 0; target < chain_size_; ++target) {
    if (target == source) continue;
    Result<local::Query> owe =
        db_.query("INSERT INTO pending (key, target, source, seq, written_at) "
                  "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (key, target) DO UPDATE "
                  "SET source = excluded.source, seq = excluded.seq");
    if (!owe) return tl::unexpected(owe.error());
    owe->bindBlob(1, key)
        .bind(2, static_cast<std::int64_t>(target))
        .bind(3, static_cast<std::int64_t>(source))
        .bind(4, seq)
        .bind(5, now);
    if (auto ok = owe->run(); !ok) return tl::unexpected(ok.error());
  }
  if (auto ok = tx->commit(); !ok) return tl::unexpected(ok.error());
  return seq;
}

Result<void> ReplicationJournal::settle(const std::string& key, std::size_t target,
                                        std::int64_t seq) {
  std::lock_guard lock(mutex_);
  Result<local::Query> done =
      db_.query("DELETE FROM pending WHERE key = ?1 AND target = ?2 AND seq <= ?3");
  if (!done) return tl::unexpected(done.error());
  done->bindBlob(1, key).bind(2, static_cast<std::int64_t>(target)).bind(3, seq);
  return done->run();
}

Result<std::vector<PendingCopy>> ReplicationJournal::oldest(std::uint64_t usable,
                                                            std::size_t limit) {
  std::lock_guard lock(mutex_);
  Result<local::Query> select =
      db_.query("SELECT key, source, target, seq, written_at FROM pending "
                "WHERE ((?1 >> target) & 1) = 1 AND ((?1 >> source) & 1) = 1 "
                "ORDER BY seq LIMIT ?2");
  if (!select) return tl::unexpected(select.error());
  select->bind(1, static_cast<std::int64_t>(usable)).bind(2, static_cast<std::int64_t>(limit));
  std::vector<PendingCopy> out;
  while (true) {
    Result<bool> row = select->step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) break;
    out.push_back({select->bytes(0), static_cast<std::size_t>(select->integer(1)),
                   static_cast<std::size_t>(select->integer(2)), select->integer(3),
                   select->integer(4)});
  }
  return out;
}

Result<ReplicationStatus> ReplicationJournal::status() {
  std::lock_guard lock(mutex_);
  Result<local::Query> select = db_.query("SELECT COUNT(*), MIN(written_at) FROM pending");
  if (!select) return tl::unexpected(select.error());
  Result<bool> row = select->step();
  if (!row) return tl::unexpected(row.error());
  ReplicationStatus out;
  out.pending = static_cast<std::uint64_t>(select->integer(0));
  if (out.pending > 0 && !select->isNull(1)) {
    const std::int64_t age = local::nowMillis() - select->integer(1);
    out.lag_seconds = static_cast<double>(std::max<std::int64_t>(age, 0)) / 1000.0;
  }
  return out;
}

// ---- copies ----

CopyFn objectCopier(std::vector<backend::ObjectStore*> members) {
  return [members = std::move(members)](const std::string& key, std::size_t source,
                                        std::size_t target, Done<void> done) {
    auto copy = std::make_shared<ObjectCopy>();
    copy->from = members.at(source);
    copy->to = members.at(target);
    copy->key = key;
    copy->done = std::move(done);
    copy->start();
  };
}

CopyFn kvCopier(std::vector<backend::KvStore*> members) {
  return [members = std::move(members)](const std::string& key, std::size_t source,
                                        std::size_t target, Done<void> done) {
    backend::KvStore* to = members.at(target);
    members.at(source)->get(
        key, [to, key, done = std::move(done)](Result<backend::KvItem> item) mutable {
          if (!item) {
            if (item.error().code == ErrorCode::kNotFound) {
              to->remove(key, std::nullopt, std::move(done));
            } else {
              done(tl::unexpected(item.error()));
            }
            return;
          }
          backend::KvPutRequest put;
          put.key = key;
          put.value = std::move(item->value);
          to->put(std::move(put), [done = std::move(done)](Result<std::string> r) {
            done(r ? Result<void>() : tl::unexpected(r.error()));
          });
        });
  };
}

} // namespace exoflow::proxy::failover
