#pragma once
// The key-value building block (API.md, "Key-value tables"): JSON values under string keys,
// each with an opaque version for optimistic concurrency.

#include <optional>
#include <string>
#include <vector>

#include "backend/backend.h"

namespace exoflow::backend {

enum class KvFeature {
  kConditionalWrites, ///< if_match / if_none_match_star are atomic
  kPrefixList,        ///< list() by prefix with cursors
  kLargeValues,       ///< values up to 256 KiB
};
using KvFeatures = FeatureSet<KvFeature>;

struct KvStoreConfig {
  std::string name; ///< the table's API name
};

struct KvItem {
  std::string key;
  std::string value;   ///< JSON text, as stored (whitespace may differ from what was put)
  std::string version; ///< opaque, unquoted
};

struct KvPutRequest {
  std::string key;
  std::string value;                   ///< valid JSON, checked by the proxy
  std::optional<std::string> if_match; ///< an unquoted version: write only if it is current
  bool if_none_match_star = false;     ///< write only if the key does not exist
};

struct KvListRequest {
  std::string prefix;
  int limit = 1000;
  std::string cursor;
};

struct KvListResult {
  std::vector<KvItem> items; ///< keys in byte order
  std::optional<std::string> next_cursor;
};

class KvStore {
public:
  virtual ~KvStore() = default;
  virtual std::string describe() const = 0;
  virtual KvFeatures features() const = 0;

  /// Returns the new version; kPreconditionFailed when a condition fails (if_match on a
  /// missing item fails).
  virtual void put(KvPutRequest request, Done<std::string> done) = 0;
  /// kNotFound when the key is absent.
  virtual void get(std::string key, Done<KvItem> done) = 0;
  /// Succeeds when the item did not exist, unless if_match is given (then kPreconditionFailed).
  virtual void remove(std::string key, std::optional<std::string> if_match, Done<void> done) = 0;
  virtual void list(KvListRequest request, Done<KvListResult> done) = 0;
};

} // namespace exoflow::backend
