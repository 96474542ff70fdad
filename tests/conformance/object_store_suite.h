#pragma once
// The fixture of the objects conformance suite: uploads, downloads and listings awaited,
// plus MD5 and test patterns.

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/evp.h>

#include "conformance/conformance.h"

namespace exoflow::backend::conformance {

inline constexpr std::size_t kMiB = std::size_t{1024} * 1024;

/// Incremental MD5, as the etag's hex.
class Md5 {
public:
  Md5() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_, EVP_md5(), nullptr); }
  ~Md5() { EVP_MD_CTX_free(ctx_); }
  Md5(const Md5&) = delete;
  Md5& operator=(const Md5&) = delete;
  void add(std::string_view bytes) { EVP_DigestUpdate(ctx_, bytes.data(), bytes.size()); }
  std::string quotedHex() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    EVP_DigestFinal_ex(ctx_, digest, &size);
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string hex = "\"";
    for (unsigned int i = 0; i < size; ++i) {
      hex += kDigits[digest[i] >> 4];
      hex += kDigits[digest[i] & 15];
    }
    return hex + "\"";
  }

private:
  EVP_MD_CTX* ctx_;
};

inline std::string quotedMd5(std::string_view bytes) {
  Md5 md5;
  md5.add(bytes);
  return md5.quotedHex();
}

/// `size` bytes of a pattern that differs per `seed`, so misplaced chunks show.
inline std::string pattern(std::size_t size, std::uint64_t seed) {
  std::string bytes(size, '\0');
  std::uint64_t x = seed * 0x9E3779B97F4A7C15ULL + 1;
  for (char& c : bytes) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c = static_cast<char>(x & 0xff);
  }
  return bytes;
}

inline PutRequest putRequest(std::string key, std::string content_type = "application/octet-stream",
                             Metadata metadata = {}) {
  PutRequest request;
  request.key = std::move(key);
  request.content_type = std::move(content_type);
  request.metadata = std::move(metadata);
  return request;
}

struct Download {
  ObjectInfo info;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  std::string body;
};

class ObjectStoreConformanceTest : public BackendTest {
protected:
  /// The skip reason when the backend does not claim `feature`, else empty.
  std::string unclaimed(ObjectFeature feature, const char* name) const {
    if (row().object_features.has(feature)) return {};
    return row().name + " does not claim ObjectFeature::" + name + "; skipped by design";
  }

  std::unique_ptr<ObjectStore> open(const std::string& name = "assets") {
    Result<std::unique_ptr<ObjectStore>> store =
        registry_.createObjectStore(spec(name), ObjectStoreConfig{name, false}, context());
    EXPECT_TRUE(store.has_value()) << describeError(store.error());
    return store ? std::move(*store) : nullptr;
  }

  static Result<std::unique_ptr<ObjectUpload>> start(ObjectStore& store, PutRequest request) {
    return await<std::unique_ptr<ObjectUpload>>(
        [&](auto done) { store.put(std::move(request), std::move(done)); });
  }

  static Result<void> write(ObjectUpload& upload, std::string chunk) {
    return await<void>([&](auto done) { upload.write(std::move(chunk), std::move(done)); });
  }

  static Result<ObjectInfo> finish(ObjectUpload& upload) {
    return await<ObjectInfo>([&](auto done) { upload.finish(std::move(done)); });
  }

  /// Puts `body` in chunks of `chunk` bytes.
  static Result<ObjectInfo> put(ObjectStore& store, PutRequest request, std::string_view body,
                                std::size_t chunk = std::size_t{64} * 1024) {
    Result<std::unique_ptr<ObjectUpload>> upload = start(store, std::move(request));
    if (!upload) return tl::unexpected(upload.error());
    for (std::size_t at = 0; at < body.size(); at += chunk) {
      Result<void> written = write(**upload, std::string(body.substr(at, chunk)));
      if (!written) return tl::unexpected(written.error());
    }
    return finish(**upload);
  }

  static Result<ObjectInfo> put(ObjectStore& store, const std::string& key, std::string_view body) {
    PutRequest request;
    request.key = key;
    return put(store, std::move(request), body);
  }

  static Result<Download> get(ObjectStore& store, const std::string& key,
                              std::optional<ByteRange> range = std::nullopt,
                              std::size_t chunk = std::size_t{64} * 1024) {
    Result<std::unique_ptr<ObjectDownload>> download = await<std::unique_ptr<ObjectDownload>>(
        [&](auto done) { store.get(key, range, std::move(done)); });
    if (!download) return tl::unexpected(download.error());
    Download got{(*download)->info(), (*download)->offset(), (*download)->length(), {}};
    while (true) {
      Result<std::string> part =
          await<std::string>([&](auto done) { (*download)->read(chunk, std::move(done)); });
      if (!part) return tl::unexpected(part.error());
      if (part->empty()) break;
      EXPECT_LE(part->size(), chunk) << "read() returned more than asked";
      got.body += *part;
    }
    return got;
  }

  static Result<ObjectInfo> head(ObjectStore& store, const std::string& key) {
    return await<ObjectInfo>([&](auto done) { store.head(key, std::move(done)); });
  }

  static Result<void> remove(ObjectStore& store, const std::string& key) {
    return await<void>([&](auto done) { store.remove(key, std::move(done)); });
  }

  static Result<ListResult> list(ObjectStore& store, ListRequest request) {
    return await<ListResult>([&](auto done) { store.list(std::move(request), std::move(done)); });
  }

  /// Every page of a listing, in order: objects' keys and prefixes as they came.
  static std::vector<std::string> listAll(ObjectStore& store, ListRequest request,
                                          int* pages = nullptr) {
    std::vector<std::string> names;
    for (int page = 1; page <= 1000; ++page) {
      Result<ListResult> got = list(store, request);
      EXPECT_TRUE(got.has_value()) << describeError(got.error());
      if (!got) break;
      EXPECT_LE(static_cast<int>(got->objects.size() + got->prefixes.size()), request.limit);
      // Within a page, objects and prefixes interleave in byte order.
      std::vector<std::string> merged;
      for (const ObjectInfo& o : got->objects)
        merged.push_back(o.key);
      for (const std::string& p : got->prefixes)
        merged.push_back("prefix:" + p);
      std::sort(merged.begin(), merged.end(), [](const std::string& a, const std::string& b) {
        auto bare = [](const std::string& s) {
          return s.rfind("prefix:", 0) == 0 ? s.substr(7) : s;
        };
        return bare(a) < bare(b);
      });
      names.insert(names.end(), merged.begin(), merged.end());
      if (pages != nullptr) *pages = page;
      if (!got->next_cursor) break;
      EXPECT_FALSE(got->next_cursor->empty());
      request.cursor = *got->next_cursor;
    }
    return names;
  }

  static ByteRange range(std::optional<std::uint64_t> first, std::optional<std::uint64_t> last) {
    return ByteRange{first, last, 0};
  }
  static ByteRange suffix(std::uint64_t n) { return ByteRange{std::nullopt, std::nullopt, n}; }
};

} // namespace exoflow::backend::conformance
