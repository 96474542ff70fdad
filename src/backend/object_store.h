#pragma once
// The objects building block (API.md, "Objects"): named byte streams with a content type,
// user metadata and an etag, streamed both ways so no object is ever held in memory whole.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "backend/backend.h"

namespace exoflow::backend {

enum class ObjectFeature {
  kRanges,         ///< get() honours byte ranges
  kMetadata,       ///< user metadata round-trips
  kIfNoneMatchPut, ///< put() with if_none_match_star is atomic
  kDelimiterList,  ///< list() groups keys into prefixes by a delimiter
  kLargeObjects,   ///< objects of 5 GiB and more
};
using ObjectFeatures = FeatureSet<ObjectFeature>;

struct ObjectStoreConfig {
  std::string name; ///< the bucket's API name
  bool versioning = false;
};

using Metadata = std::map<std::string, std::string>; ///< names lower-cased, without x-exo-meta-

struct ObjectInfo {
  std::string key;
  std::uint64_t size = 0;
  std::string etag; ///< quoted, as the ETag header carries it
  std::chrono::system_clock::time_point last_modified;
  std::string content_type;
  Metadata metadata;
};

struct PutRequest {
  std::string key;
  std::string content_type = "application/octet-stream";
  Metadata metadata;
  bool if_none_match_star = false;   ///< fail with kPreconditionFailed if the key exists
  std::optional<std::uint64_t> size; ///< the body's length when known in advance
};

/// One upload in progress. Call write() for each chunk, waiting for its completion before the
/// next, then finish(); or abort(). Until finish() completes, readers see the old object (or
/// none); a destroyed, unfinished upload is aborted and leaves nothing behind.
class ObjectUpload {
public:
  virtual ~ObjectUpload() = default;
  virtual void write(std::string chunk, Done<void> done) = 0;
  /// Makes the object visible atomically and durably; kPreconditionFailed for if_none_match.
  virtual void finish(Done<ObjectInfo> done) = 0;
  virtual void abort() = 0;
};

/// A byte range as the client asked for it (Range: bytes=a-b, a-, -n).
struct ByteRange {
  std::optional<std::uint64_t> first; ///< empty for a suffix range
  std::optional<std::uint64_t> last;  ///< empty for "a-"; for a suffix range, n is in `suffix`
  std::uint64_t suffix = 0;
};

/// One download in progress: the object's info, the resolved range, and its bytes by chunks.
class ObjectDownload {
public:
  virtual ~ObjectDownload() = default;
  virtual const ObjectInfo& info() const = 0;
  /// The first byte served and how many; the whole object when no range was asked.
  virtual std::uint64_t offset() const = 0;
  virtual std::uint64_t length() const = 0;
  /// Reads the next chunk of at most `max` bytes; an empty chunk means the end.
  virtual void read(std::size_t max, Done<std::string> done) = 0;
};

struct ListRequest {
  std::string prefix;
  std::string delimiter; ///< empty: no grouping
  int limit = 1000;      ///< 1..1000; objects and prefixes together
  std::string cursor;    ///< empty: from the start; else a next_cursor from an earlier page
};

struct ListResult {
  std::vector<ObjectInfo> objects; ///< key, size, etag, last_modified filled in
  std::vector<std::string> prefixes;
  std::optional<std::string> next_cursor;
};

class ObjectStore {
public:
  virtual ~ObjectStore() = default;
  virtual std::string describe() const = 0;
  virtual ObjectFeatures features() const = 0;

  virtual void put(PutRequest request, Done<std::unique_ptr<ObjectUpload>> done) = 0;
  /// kNotFound for a missing key; kRangeNotSatisfiable when the range cannot be served.
  virtual void get(std::string key, std::optional<ByteRange> range,
                   Done<std::unique_ptr<ObjectDownload>> done) = 0;
  virtual void head(std::string key, Done<ObjectInfo> done) = 0;
  /// Succeeds also when the key did not exist.
  virtual void remove(std::string key, Done<void> done) = 0;
  /// Keys and prefixes in byte order.
  virtual void list(ListRequest request, Done<ListResult> done) = 0;
};

} // namespace exoflow::backend
