// The local.sqlite ObjectStore: rows in ObjectDb, bodies as files named by random ids (a key
// never becomes a path, so "..", "/" and "//" are just names), streamed both ways.

#include <fmt/format.h>

#include "backend/local/local_backends.h"
#include "backend/local/object_db.h"
#include "backend/local/object_files.h"
#include "backend/local/store_dir.h"

namespace exoflow::backend::local {
namespace {

StoreCache<ObjectDb>& objectStores() {
  static StoreCache<ObjectDb> instance;
  return instance;
}

Result<void> checkKey(std::string_view key) {
  if (key.empty() || key.size() > 1024) {
    return fail(ErrorCode::kInvalidArgument, "an object key holds 1..1024 bytes");
  }
  return {};
}

class SqliteObjectStore final : public ObjectStore {
public:
  SqliteObjectStore(std::shared_ptr<ObjectDb> db, ObjectStoreConfig config)
      : db_(std::move(db)), config_(std::move(config)) {}

  std::string describe() const override { return std::string(kType); }

  ObjectFeatures features() const override {
    return {ObjectFeature::kRanges, ObjectFeature::kMetadata, ObjectFeature::kIfNoneMatchPut,
            ObjectFeature::kDelimiterList, ObjectFeature::kLargeObjects};
  }

  void put(PutRequest request, Done<std::unique_ptr<ObjectUpload>> done) override {
    if (auto ok = checkKey(request.key); !ok) return done(tl::unexpected(ok.error()));
    if (request.if_none_match_star) {
      // Fails early to spare the upload; finish() checks again, atomically.
      Result<bool> exists = db_->exists(config_.name, request.key);
      if (!exists) return done(tl::unexpected(exists.error()));
      if (*exists) {
        return done(fail(ErrorCode::kPreconditionFailed, "the key exists (If-None-Match: *)"));
      }
    }
    done(startUpload(db_, config_.name, std::move(request)));
  }

  void get(std::string key, std::optional<ByteRange> range,
           Done<std::unique_ptr<ObjectDownload>> done) override {
    if (auto ok = checkKey(key); !ok) return done(tl::unexpected(ok.error()));
    Result<std::pair<ObjectInfo, UniqueFd>> body = db_->openBody(config_.name, key);
    if (!body) return done(tl::unexpected(body.error()));
    Result<std::pair<std::uint64_t, std::uint64_t>> span = resolveRange(body->first.size, range);
    if (!span) return done(tl::unexpected(span.error()));
    done(makeDownload(std::move(body->first), std::move(body->second), span->first, span->second));
  }

  void head(std::string key, Done<ObjectInfo> done) override {
    if (auto ok = checkKey(key); !ok) return done(tl::unexpected(ok.error()));
    done(db_->info(config_.name, key));
  }

  void remove(std::string key, Done<void> done) override {
    if (auto ok = checkKey(key); !ok) return done(tl::unexpected(ok.error()));
    Result<std::optional<std::string>> file = db_->remove(config_.name, key);
    if (!file) return done(tl::unexpected(file.error()));
    if (*file) {
      // The row is gone, so the object is; a failed unlink only leaves a stray file that the
      // next open removes. Readers holding the file open keep reading it.
      std::error_code ec;
      std::filesystem::remove(db_->bodyPath(**file), ec);
    }
    done({});
  }

  void list(ListRequest request, Done<ListResult> done) override {
    done(db_->list(config_.name, request));
  }

private:
  std::shared_ptr<ObjectDb> db_;
  ObjectStoreConfig config_;
};

} // namespace

Result<std::unique_ptr<ObjectStore>> openObjectStore(const BackendSpec& spec,
                                                     const ObjectStoreConfig& config,
                                                     const BackendContext& context) {
  if (config.name.empty()) return fail(ErrorCode::kInvalidArgument, "bucket name is empty");
  Result<std::filesystem::path> dir = resolveStoreDir(spec, context);
  if (!dir) return tl::unexpected(dir.error());
  Result<std::shared_ptr<ObjectDb>> db = objectStores().get(*dir, &ObjectDb::open);
  if (!db) return tl::unexpected(db.error());
  return std::make_unique<SqliteObjectStore>(std::move(*db), config);
}

} // namespace exoflow::backend::local
