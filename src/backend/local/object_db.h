#pragma once
// The SQL side of the local object stores: object rows (key, size, etag, content type,
// metadata, the body file's id) of every bucket of one store directory, and the blobs/
// directory that holds the bodies. Thread-safe; one per directory, shared.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "backend/local/object_files.h"
#include "backend/local/sqlite.h"
#include "backend/object_store.h"

namespace exoflow::backend::local {

class ObjectDb {
public:
  /// Opens the store in `dir`, creating it if needed, and removes what a crash left behind:
  /// temp files of unfinished uploads and body files no object row names.
  static Result<std::shared_ptr<ObjectDb>> open(const std::filesystem::path& dir);

  ObjectDb(Database db, std::filesystem::path blob_dir)
      : db_(std::move(db)), blob_dir_(std::move(blob_dir)) {}

  const std::filesystem::path& blobDir() const { return blob_dir_; }
  /// Where the body with this file id lives once finished.
  std::filesystem::path bodyPath(std::string_view file_id) const;
  /// Where the body with this file id is written while it uploads.
  std::filesystem::path tempPath(std::string_view file_id) const;

  /// True when `key` exists in `bucket`.
  Result<bool> exists(std::string_view bucket, std::string_view key);
  /// Makes the body file `file_id` the object's body, atomically; returns the file id of the
  /// body it replaced (for the caller to unlink). kPreconditionFailed when
  /// `if_none_match_star` and the key exists.
  Result<std::optional<std::string>> commit(std::string_view bucket, const ObjectInfo& info,
                                            std::string_view file_id, bool if_none_match_star);
  /// The object's info and its body opened for reading, taken together so that a concurrent
  /// replacement cannot unlink the file in between. kNotFound for a missing key.
  Result<std::pair<ObjectInfo, UniqueFd>> openBody(std::string_view bucket, std::string_view key);
  /// The object's info; kNotFound for a missing key.
  Result<ObjectInfo> info(std::string_view bucket, std::string_view key);
  /// Deletes the row; returns its body's file id (for the caller to unlink), if it existed.
  Result<std::optional<std::string>> remove(std::string_view bucket, std::string_view key);
  /// One page of keys and common prefixes in byte order.
  Result<ListResult> list(std::string_view bucket, const ListRequest& request);

private:
  Result<void> removeLeftovers();

  std::mutex mutex_;
  Database db_;
  std::filesystem::path blob_dir_;
};

} // namespace exoflow::backend::local
