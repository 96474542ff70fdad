#include "backend/local/object_db.h"

#include <system_error>
#include <vector>

#include <fcntl.h>
#include <fmt/format.h>

#include "backend/local/codec.h"

namespace exoflow::backend::local {
namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS objects (
  bucket TEXT NOT NULL,
  key BLOB NOT NULL,           -- BLOB: compared byte by byte
  file TEXT NOT NULL,          -- the body's file id under blobs/
  size INTEGER NOT NULL,
  etag TEXT NOT NULL,          -- quoted
  content_type TEXT NOT NULL,
  metadata BLOB NOT NULL,      -- codec.h encodeMap()
  modified INTEGER NOT NULL,   -- ms since the epoch
  PRIMARY KEY (bucket, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS objects_by_file ON objects (file);
)sql";

constexpr std::string_view kBodySuffix = ".blob";
constexpr std::string_view kTempSuffix = ".tmp";
constexpr std::string_view kColumns = "key, size, etag, modified, content_type, metadata, file";

std::chrono::system_clock::time_point fromMillis(std::int64_t ms) {
  return std::chrono::system_clock::time_point(std::chrono::milliseconds(ms));
}

std::int64_t toMillis(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

/// Reads kColumns from the current row; the file id goes to `file`.
Result<ObjectInfo> readRow(const Query& row, std::string* file) {
  ObjectInfo info;
  info.key = row.bytes(0);
  info.size = static_cast<std::uint64_t>(row.integer(1));
  info.etag = row.bytes(2);
  info.last_modified = fromMillis(row.integer(3));
  info.content_type = row.bytes(4);
  std::optional<Metadata> metadata = decodeMap(row.bytes(5));
  if (!metadata) return fail(ErrorCode::kInternal, "corrupt object metadata");
  info.metadata = std::move(*metadata);
  if (file != nullptr) *file = row.bytes(6);
  return info;
}

bool hasSuffix(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

} // namespace

Result<std::shared_ptr<ObjectDb>> ObjectDb::open(const std::filesystem::path& dir) {
  std::filesystem::path blob_dir = dir / "blobs";
  std::error_code ec;
  std::filesystem::create_directories(blob_dir, ec);
  if (ec) {
    return fail(ErrorCode::kUnavailable,
                fmt::format("cannot create {}: {}", blob_dir.string(), ec.message()));
  }
  Result<Database> db = Database::open(dir / "objects.sqlite");
  if (!db) return tl::unexpected(db.error());
  if (auto ok = db->exec(kSchema); !ok) return tl::unexpected(ok.error());
  auto store = std::make_shared<ObjectDb>(std::move(*db), std::move(blob_dir));
  if (auto ok = store->removeLeftovers(); !ok) return tl::unexpected(ok.error());
  return store;
}

Result<void> ObjectDb::removeLeftovers() {
  std::vector<std::filesystem::path> doomed;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator(blob_dir_, ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (hasSuffix(name, kTempSuffix)) {
      doomed.push_back(it->path()); // an upload a crash interrupted
      continue;
    }
    if (!hasSuffix(name, kBodySuffix)) continue;
    // A body no row names: renamed before a crash prevented its commit, or replaced and
    // not yet unlinked.
    Result<Query> used = db_.query("SELECT 1 FROM objects WHERE file = ?1");
    if (!used) return tl::unexpected(used.error());
    used->bindText(1, std::string_view(name).substr(0, name.size() - kBodySuffix.size()));
    Result<bool> row = used->step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) doomed.push_back(it->path());
  }
  if (ec) {
    return fail(ErrorCode::kUnavailable,
                fmt::format("cannot list {}: {}", blob_dir_.string(), ec.message()));
  }
  for (const std::filesystem::path& path : doomed)
    std::filesystem::remove(path, ec);
  return {};
}

std::filesystem::path ObjectDb::bodyPath(std::string_view file_id) const {
  return blob_dir_ / fmt::format("{}{}", file_id, kBodySuffix);
}

std::filesystem::path ObjectDb::tempPath(std::string_view file_id) const {
  return blob_dir_ / fmt::format("{}{}", file_id, kTempSuffix);
}

Result<bool> ObjectDb::exists(std::string_view bucket, std::string_view key) {
  std::lock_guard lock(mutex_);
  Result<Query> find = db_.query("SELECT 1 FROM objects WHERE bucket = ?1 AND key = ?2");
  if (!find) return tl::unexpected(find.error());
  return find->bindText(1, bucket).bindBlob(2, key).step();
}

Result<std::optional<std::string>> ObjectDb::commit(std::string_view bucket, const ObjectInfo& info,
                                                    std::string_view file_id,
                                                    bool if_none_match_star) {
  std::lock_guard lock(mutex_);
  Result<Transaction> txn = Transaction::begin(db_);
  if (!txn) return tl::unexpected(txn.error());
  std::optional<std::string> replaced;
  {
    Result<Query> old = db_.query("SELECT file FROM objects WHERE bucket = ?1 AND key = ?2");
    if (!old) return tl::unexpected(old.error());
    Result<bool> row = old->bindText(1, bucket).bindBlob(2, info.key).step();
    if (!row) return tl::unexpected(row.error());
    if (*row) {
      if (if_none_match_star) {
        return fail(ErrorCode::kPreconditionFailed, "the key exists (If-None-Match: *)");
      }
      replaced = old->bytes(0);
    }
  }
  Result<Query> upsert = db_.query(
      "INSERT OR REPLACE INTO objects (bucket, key, file, size, etag, content_type, metadata, "
      "modified) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
  if (!upsert) return tl::unexpected(upsert.error());
  upsert->bindText(1, bucket).bindBlob(2, info.key).bindText(3, file_id);
  upsert->bind(4, static_cast<std::int64_t>(info.size)).bindText(5, info.etag);
  upsert->bindText(6, info.content_type).bindBlob(7, encodeMap(info.metadata));
  upsert->bind(8, toMillis(info.last_modified));
  if (auto ok = upsert->run(); !ok) return tl::unexpected(ok.error());
  if (auto ok = txn->commit(); !ok) return tl::unexpected(ok.error());
  return replaced;
}

Result<ObjectInfo> ObjectDb::info(std::string_view bucket, std::string_view key) {
  std::lock_guard lock(mutex_);
  Result<Query> find =
      db_.query(fmt::format("SELECT {} FROM objects WHERE bucket = ?1 AND key = ?2", kColumns));
  if (!find) return tl::unexpected(find.error());
  Result<bool> row = find->bindText(1, bucket).bindBlob(2, key).step();
  if (!row) return tl::unexpected(row.error());
  if (!*row) return fail(ErrorCode::kNotFound, "no such key");
  return readRow(*find, nullptr);
}

Result<std::pair<ObjectInfo, UniqueFd>> ObjectDb::openBody(std::string_view bucket,
                                                           std::string_view key) {
  std::lock_guard lock(mutex_);
  Result<Query> find =
      db_.query(fmt::format("SELECT {} FROM objects WHERE bucket = ?1 AND key = ?2", kColumns));
  if (!find) return tl::unexpected(find.error());
  Result<bool> row = find->bindText(1, bucket).bindBlob(2, key).step();
  if (!row) return tl::unexpected(row.error());
  if (!*row) return fail(ErrorCode::kNotFound, "no such key");
  std::string file;
  Result<ObjectInfo> info = readRow(*find, &file);
  if (!info) return tl::unexpected(info.error());
  const std::filesystem::path path = bodyPath(file);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return tl::unexpected(fileError("opening", path));
  return std::make_pair(std::move(*info), std::move(fd));
}

Result<std::optional<std::string>> ObjectDb::remove(std::string_view bucket, std::string_view key) {
  std::lock_guard lock(mutex_);
  Result<Transaction> txn = Transaction::begin(db_);
  if (!txn) return tl::unexpected(txn.error());
  std::optional<std::string> file;
  {
    Result<Query> find = db_.query("SELECT file FROM objects WHERE bucket = ?1 AND key = ?2");
    if (!find) return tl::unexpected(find.error());
    Result<bool> row = find->bindText(1, bucket).bindBlob(2, key).step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) return file;
    file = find->bytes(0);
  }
  Result<Query> drop = db_.query("DELETE FROM objects WHERE bucket = ?1 AND key = ?2");
  if (!drop) return tl::unexpected(drop.error());
  if (auto ok = drop->bindText(1, bucket).bindBlob(2, key).run(); !ok) {
    return tl::unexpected(ok.error());
  }
  if (auto ok = txn->commit(); !ok) return tl::unexpected(ok.error());
  return file;
}

Result<ListResult> ObjectDb::list(std::string_view bucket, const ListRequest& request) {
  if (request.limit < 1 || request.limit > 1000) {
    return fail(ErrorCode::kInvalidArgument, "limit must be 1..1000");
  }
  std::string seek = request.prefix;
  if (!request.cursor.empty()) {
    Result<std::string> resume = decodeCursor(request.cursor);
    if (!resume) return tl::unexpected(resume.error());
    if (*resume > seek) seek = std::move(*resume);
  }
  const std::string_view prefix = request.prefix;
  const std::string_view delimiter = request.delimiter;
  constexpr int kPage = 256;

  std::lock_guard lock(mutex_);
  ListResult result;
  int count = 0;
  // `seek` is where the next element may start: after the last key emitted (key + "\0") or
  // past every key under the last common prefix (its successor).
  bool more = true;
  while (more) {
    Result<Query> page = db_.query(fmt::format(
        "SELECT {} FROM objects WHERE bucket = ?1 AND key >= ?2 ORDER BY key LIMIT ?3", kColumns));
    if (!page) return tl::unexpected(page.error());
    page->bindText(1, bucket).bindBlob(2, seek).bind(3, kPage);
    int rows = 0;
    bool reseek = false;
    while (!reseek) {
      Result<bool> row = page->step();
      if (!row) return tl::unexpected(row.error());
      if (!*row) break;
      ++rows;
      std::string key = page->bytes(0);
      if (std::string_view(key).substr(0, prefix.size()) != prefix) {
        more = false; // past the prefix: nothing further can match
        break;
      }
      if (count == request.limit) {
        result.next_cursor = encodeCursor(seek); // another element exists
        return result;
      }
      const std::size_t at =
          delimiter.empty() ? std::string::npos : key.find(delimiter, prefix.size());
      if (at != std::string::npos) {
        std::string common = key.substr(0, at + delimiter.size());
        std::optional<std::string> next = prefixSuccessor(common);
        result.prefixes.push_back(std::move(common));
        ++count;
        if (!next) return result; // nothing sorts after this prefix's keys
        seek = std::move(*next);
        reseek = true;
        continue;
      }
      Result<ObjectInfo> info = readRow(*page, nullptr);
      if (!info) return tl::unexpected(info.error());
      result.objects.push_back(std::move(*info));
      ++count;
      seek = key + '\0';
    }
    if (!reseek && rows < kPage) more = false; // the table ended
  }
  return result;
}

} // namespace exoflow::backend::local
