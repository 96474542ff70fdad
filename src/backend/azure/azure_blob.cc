// azure.blob: see azure_blob.h. Calls go through StorageApi on the shared HTTP client; an
// upload or a download makes one call at a time, as its caller waits for each completion.

#include "backend/azure/azure_blob.h"

#include <utility>

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <ctime>
#include <map>
#include <mutex>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <openssl/evp.h>
#include <pugixml.hpp>

#include "backend/azure/names.h"
#include "backend/azure/storage_api.h"
#include "backend/cloud.h"
#include "backend/local/codec.h"

namespace exoflow::backend::azure_blob {
namespace {

using azure::Call;
using azure::StorageApi;

constexpr std::size_t kBlockSize = std::size_t{4} << 20;
constexpr std::size_t kMaxKey = 1024;
/// Escaped names are "~" and two letters per byte, within Azure's 1,024 characters.
constexpr std::size_t kMaxEscapedKey = 511;
constexpr std::size_t kMaxBlocks = 50000;

std::uint64_t number(std::string_view digits) {
  std::uint64_t value = 0;
  const char* end = digits.data() + digits.size();
  auto [at, ec] = std::from_chars(digits.data(), end, value);
  return ec == std::errc() && at == end ? value : 0;
}

/// "Sun, 06 Dec 2026 10:00:00 GMT"; the epoch when it is not one.
std::chrono::system_clock::time_point httpDate(const std::string& text) {
  std::tm tm{};
  if (::strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm) == nullptr) return {};
  return std::chrono::system_clock::from_time_t(::timegm(&tm));
}

/// The user's metadata as one header value Azure accepts.
std::string encodeMetadata(const Metadata& metadata) {
  return local::base64UrlEncode(local::encodeMap(metadata));
}

Metadata decodeMetadata(std::string_view value) {
  if (value.empty()) return {};
  std::optional<std::string> raw = local::base64UrlDecode(value);
  if (!raw) return {};
  return local::decodeMap(*raw).value_or(Metadata{});
}

/// The API's ETag: the MD5 this backend recorded; for a blob another client wrote, the MD5
/// Azure keeps (Content-MD5), else Azure's own ETag.
std::string etagOf(const std::string& recorded, const std::string& content_md5,
                   const std::string& azure_etag) {
  if (!recorded.empty()) return "\"" + recorded + "\"";
  if (std::optional<std::string> md5 = azure::base64Decode(content_md5); md5 && md5->size() == 16) {
    return "\"" + local::toHex(*md5) + "\"";
  }
  std::string bare = azure_etag;
  std::erase(bare, '"');
  return "\"" + bare + "\"";
}

/// What Get Blob Properties and Get Blob tell of an object.
ObjectInfo infoOf(const std::string& key, const net::HttpResponse& r) {
  ObjectInfo info;
  info.key = key;
  info.size = number(r.header("content-length"));
  if (std::string range = r.header("content-range"); !range.empty()) {
    info.size = number(range.substr(range.find('/') + 1));
  }
  info.etag = etagOf(r.header("x-ms-meta-exomd5"), r.header("content-md5"), r.header("etag"));
  info.last_modified = httpDate(r.header("last-modified"));
  info.content_type = r.header("content-type");
  if (info.content_type.empty()) info.content_type = "application/octet-stream";
  info.metadata = decodeMetadata(r.header("x-ms-meta-exometa"));
  return info;
}

struct DigestFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

class UploadImpl : public std::enable_shared_from_this<UploadImpl> {
public:
  UploadImpl(std::shared_ptr<StorageApi> api, std::string path, PutRequest request,
             std::string upload_id)
      : api_(std::move(api)), path_(std::move(path)), request_(std::move(request)),
        upload_id_(std::move(upload_id)), digest_(EVP_MD_CTX_new()) {
    EVP_DigestInit_ex(digest_.get(), EVP_md5(), nullptr);
  }

  void write(std::string chunk, Done<void> done) {
    if (state_ != State::kOpen) return done(fail(ErrorCode::kInvalidArgument, "upload is closed"));
    EVP_DigestUpdate(digest_.get(), chunk.data(), chunk.size());
    size_ += chunk.size();
    buffer_ += chunk;
    if (buffer_.size() < kBlockSize) return done({});
    stageFull(std::move(done));
  }

  void finish(Done<ObjectInfo> done) {
    State open = State::kOpen;
    if (!state_.compare_exchange_strong(open, State::kFinishing)) {
      return done(fail(ErrorCode::kInvalidArgument, "upload is closed"));
    }
    std::array<unsigned char, EVP_MAX_MD_SIZE> md5{};
    unsigned int md5_size = 0;
    EVP_DigestFinal_ex(digest_.get(), md5.data(), &md5_size);
    md5_hex_ = local::toHex(std::string_view(reinterpret_cast<const char*>(md5.data()), md5_size));
    if (blocks_.empty()) {
      Call put = commitCall("PUT", {}, std::move(buffer_));
      put.headers.emplace_back("x-ms-blob-type", "BlockBlob");
      return commit(std::move(put), std::move(done));
    }
    stage(std::move(buffer_),
          [this, self = shared_from_this(), done = std::move(done)](Result<void> staged) mutable {
            if (!staged) return done(tl::unexpected(staged.error()));
            if (state_ == State::kClosed) {
              return done(fail(ErrorCode::kInvalidArgument, "the upload was aborted"));
            }
            pugi::xml_document doc;
            pugi::xml_node list = doc.append_child("BlockList");
            for (const std::string& id : blocks_)
              list.append_child("Latest").text().set(id.c_str());
            std::ostringstream xml;
            doc.save(xml, "", pugi::format_raw);
            commit(commitCall("PUT", {{"comp", "blocklist"}}, xml.str()), std::move(done));
          });
  }

  /// May run while a call of the upload is in flight (its owner dropped it): it only closes.
  void abort() {
    // Staged blocks that are never committed are not part of any blob; Azure drops them.
    state_ = State::kClosed;
  }

private:
  enum class State { kOpen, kFinishing, kClosed };

  Call commitCall(std::string method, std::vector<std::pair<std::string, std::string>> query,
                  std::string body) const {
    Call call{std::move(method), path_, std::move(query), {}, std::move(body), true};
    call.headers = {{"x-ms-blob-content-type", request_.content_type},
                    {"x-ms-meta-exomd5", md5_hex_}};
    if (!request_.metadata.empty()) {
      call.headers.emplace_back("x-ms-meta-exometa", encodeMetadata(request_.metadata));
    }
    if (request_.if_none_match_star) {
      call.headers.emplace_back("If-None-Match", "*");
      // Sent twice, a create could find its own first write: not idempotent.
      call.idempotent = false;
    }
    return call;
  }

  void commit(Call call, Done<ObjectInfo> done) {
    api_->send(std::move(call), [this, self = shared_from_this(),
                                 done = std::move(done)](Result<net::HttpResponse> r) {
      state_ = State::kClosed;
      if (!r) {
        const ErrorCode code = r.error().code;
        if (request_.if_none_match_star &&
            (code == ErrorCode::kAlreadyExists || code == ErrorCode::kPreconditionFailed)) {
          return done(fail(ErrorCode::kPreconditionFailed, "the key exists"));
        }
        return done(tl::unexpected(r.error()));
      }
      ObjectInfo info;
      info.key = request_.key;
      info.size = size_;
      info.etag = "\"" + md5_hex_ + "\"";
      info.last_modified = httpDate(r->header("last-modified"));
      info.content_type = request_.content_type;
      info.metadata = request_.metadata;
      done(std::move(info));
    });
  }

  void stageFull(Done<void> done) {
    std::string block = buffer_.substr(0, kBlockSize);
    buffer_.erase(0, kBlockSize);
    stage(std::move(block),
          [this, self = shared_from_this(), done = std::move(done)](Result<void> staged) mutable {
            if (!staged || buffer_.size() < kBlockSize || state_ == State::kClosed) {
              return done(std::move(staged));
            }
            stageFull(std::move(done));
          });
  }

  void stage(std::string block, Done<void> done) {
    if (block.empty()) return done({});
    if (blocks_.size() >= kMaxBlocks) {
      return done(fail(ErrorCode::kPayloadTooLarge, "the object passes Azure's block count"));
    }
    // Fixed-length ids, unique per upload: concurrent uploads of one key never mix blocks.
    const std::string id =
        azure::base64Encode(fmt::format("{}-{:08d}", upload_id_, blocks_.size()));
    blocks_.push_back(id);
    Call call{"PUT", path_, {{"comp", "block"}, {"blockid", id}}, {}, std::move(block), true};
    api_->send(std::move(call), [done = std::move(done)](Result<net::HttpResponse> r) {
      if (!r) return done(tl::unexpected(r.error()));
      done({});
    });
  }

  std::shared_ptr<StorageApi> api_;
  std::string path_;
  PutRequest request_;
  std::string upload_id_;
  std::unique_ptr<EVP_MD_CTX, DigestFree> digest_;
  std::atomic<State> state_ = State::kOpen;
  std::string buffer_;
  std::vector<std::string> blocks_;
  std::uint64_t size_ = 0;
  std::string md5_hex_;
};

/// The upload's state lives on while a call of it is in flight, also when the caller drops it.
class BlobUpload final : public ObjectUpload {
public:
  explicit BlobUpload(std::shared_ptr<UploadImpl> impl) : impl_(std::move(impl)) {}
  ~BlobUpload() override { impl_->abort(); }
  BlobUpload(const BlobUpload&) = delete;
  BlobUpload& operator=(const BlobUpload&) = delete;
  void write(std::string chunk, Done<void> done) override {
    impl_->write(std::move(chunk), std::move(done));
  }
  void finish(Done<ObjectInfo> done) override { impl_->finish(std::move(done)); }
  void abort() override { impl_->abort(); }

private:
  std::shared_ptr<UploadImpl> impl_;
};

class DownloadImpl : public std::enable_shared_from_this<DownloadImpl> {
public:
  DownloadImpl(std::shared_ptr<StorageApi> api, std::string path, ObjectInfo info,
               std::string azure_etag, std::uint64_t offset, std::uint64_t length)
      : api_(std::move(api)), path_(std::move(path)), info_(std::move(info)),
        azure_etag_(std::move(azure_etag)), offset_(offset), length_(length), next_(offset) {}

  const ObjectInfo& info() const { return info_; }
  std::uint64_t offset() const { return offset_; }
  std::uint64_t length() const { return length_; }

  void read(std::size_t max, Done<std::string> done) {
    if (max == 0) return done(fail(ErrorCode::kInvalidArgument, "read of 0 bytes"));
    if (!buffer_.empty()) return done(take(max));
    const std::uint64_t end = offset_ + length_;
    if (next_ >= end) return done(std::string());
    const std::uint64_t count = std::min<std::uint64_t>(kBlockSize, end - next_);
    Call call{"GET",
              path_,
              {},
              {{"x-ms-range", fmt::format("bytes={}-{}", next_, next_ + count - 1)},
               {"If-Match", azure_etag_}},
              "",
              true};
    api_->send(std::move(call), [this, self = shared_from_this(), count, max,
                                 done = std::move(done)](Result<net::HttpResponse> r) {
      if (!r) {
        if (r.error().code == ErrorCode::kPreconditionFailed) {
          return done(fail(ErrorCode::kUnavailable, "the object changed while it was read"));
        }
        return done(tl::unexpected(r.error()));
      }
      if (r->body.size() != count) {
        return done(fail(ErrorCode::kUnavailable, "a short read from Azure"));
      }
      next_ += count;
      buffer_ = std::move(r->body);
      done(take(max));
    });
  }

private:
  std::string take(std::size_t max) {
    std::string part = buffer_.substr(0, max);
    buffer_.erase(0, part.size());
    return part;
  }

  std::shared_ptr<StorageApi> api_;
  std::string path_;
  ObjectInfo info_;
  std::string azure_etag_;
  std::uint64_t offset_;
  std::uint64_t length_;
  std::uint64_t next_;
  std::string buffer_;
};

class BlobDownload final : public ObjectDownload {
public:
  explicit BlobDownload(std::shared_ptr<DownloadImpl> impl) : impl_(std::move(impl)) {}
  const ObjectInfo& info() const override { return impl_->info(); }
  std::uint64_t offset() const override { return impl_->offset(); }
  std::uint64_t length() const override { return impl_->length(); }
  void read(std::size_t max, Done<std::string> done) override { impl_->read(max, std::move(done)); }

private:
  std::shared_ptr<DownloadImpl> impl_;
};

/// The first byte and count a range asks of `size` bytes; nullopt when unsatisfiable.
std::optional<std::pair<std::uint64_t, std::uint64_t>> resolve(const std::optional<ByteRange>& r,
                                                               std::uint64_t size) {
  if (!r) return std::make_pair(std::uint64_t{0}, size);
  if (!r->first) {
    if (r->suffix == 0 || size == 0) return std::nullopt;
    const std::uint64_t n = std::min(r->suffix, size);
    return std::make_pair(size - n, n);
  }
  const std::uint64_t first = *r->first;
  if (first >= size) return std::nullopt;
  const std::uint64_t last = std::min(r->last.value_or(size - 1), size - 1);
  if (last < first) return std::nullopt;
  return std::make_pair(first, last - first + 1);
}

/// One entry of a List Blobs answer: an object or a common prefix, with its API key; nullopt
/// for a name this layout does not produce.
struct ListEntry {
  std::string key;
  std::optional<ObjectInfo> object; ///< nullopt: a prefix
};

/// One of the two ranges a listing merges, natural names and escaped ones, each its own List
/// Blobs: where its next call starts (Azure's opaque marker) and how many entries from there
/// earlier pages took.
struct Range {
  bool escaped = false;
  bool active = false;
  std::string marker;
  std::size_t skip = 0;
  std::vector<std::optional<ListEntry>> entries; ///< this call's, past `skip`
  std::size_t taken = 0;                         ///< of `entries`
  std::size_t answered = 0;                      ///< entries Azure gave in this call
  bool called = false;
  std::string next_marker;
};

/// The cursor names both ranges' positions (a range that is done is left out) and the page's
/// last prefix, which the other range may give again at the start of the next page.
std::string rangesCursor(const std::array<Range, 2>& ranges, const std::string& last_prefix) {
  std::map<std::string, std::string> fields;
  if (!last_prefix.empty()) fields["prefix"] = last_prefix;
  for (const Range& range : ranges) {
    if (!range.active) continue;
    const std::string name = range.escaped ? "e" : "n";
    std::size_t consumed = range.skip + range.taken;
    std::string marker = range.marker;
    if (range.taken == range.entries.size()) {
      if (range.next_marker.empty()) continue;
      marker = range.next_marker;
      consumed -= std::min(consumed, range.answered);
    }
    fields[name] = marker;
    fields[name + "skip"] = std::to_string(consumed);
  }
  return local::encodeCursor(local::encodeMap(fields));
}

Result<void> restoreRanges(const std::string& cursor, std::array<Range, 2>& ranges,
                           std::string& last_prefix) {
  Result<std::string> raw = local::decodeCursor(cursor);
  if (!raw) return tl::unexpected(raw.error());
  std::optional<std::map<std::string, std::string>> fields = local::decodeMap(*raw);
  if (!fields) return fail(ErrorCode::kInvalidArgument, "malformed cursor");
  if (auto prefix = fields->find("prefix"); prefix != fields->end()) last_prefix = prefix->second;
  for (Range& range : ranges) {
    const std::string name = range.escaped ? "e" : "n";
    auto marker = fields->find(name);
    auto skip = fields->find(name + "skip");
    range.active = range.active && marker != fields->end();
    if (!range.active) continue;
    if (skip == fields->end()) return fail(ErrorCode::kInvalidArgument, "malformed cursor");
    range.marker = marker->second;
    range.skip = number(skip->second);
  }
  return {};
}

/// The entries of a List Blobs answer past `skip`, as API keys.
void readEntries(const pugi::xml_node& results, const std::string& delimiter, Range& range) {
  std::size_t index = 0;
  for (pugi::xml_node node : results.child("Blobs").children()) {
    if (index++ < range.skip) continue;
    std::string name = node.child_value("Name");
    const bool prefix = std::string_view(node.name()) == "BlobPrefix";
    // Azurite ends a prefix after the delimiter's first character; Azure after all of it.
    if (prefix && !name.ends_with(delimiter) && !name.empty()) {
      name.pop_back();
      name += delimiter;
    }
    std::optional<std::string> key;
    if (!prefix) {
      key = azure::keyOfName(name, azure::NameRules::kBlob);
    } else if (range.escaped) {
      // A NUL byte ("Aa") makes the prefix's bytes a key no natural name holds.
      key = azure::keyOfName(name + "Aa", azure::NameRules::kBlob);
      if (key) key->pop_back();
    } else if (!name.starts_with(azure::kEscapeMark)) {
      key = name;
    }
    if (!key || (range.escaped != name.starts_with(azure::kEscapeMark))) {
      range.entries.emplace_back();
      continue;
    }
    if (prefix) {
      range.entries.push_back(ListEntry{std::move(*key), std::nullopt});
      continue;
    }
    const pugi::xml_node properties = node.child("Properties");
    ObjectInfo info;
    info.key = *key;
    info.size = number(properties.child_value("Content-Length"));
    info.etag = etagOf(node.child("Metadata").child_value("exomd5"),
                       properties.child_value("Content-MD5"), properties.child_value("Etag"));
    info.last_modified = httpDate(properties.child_value("Last-Modified"));
    info.content_type = properties.child_value("Content-Type");
    info.metadata = decodeMetadata(node.child("Metadata").child_value("exometa"));
    range.entries.push_back(ListEntry{std::move(*key), std::move(info)});
  }
  range.answered = index;
  range.next_marker = results.child_value("NextMarker");
}

/// A listing in progress: a List Blobs per range, then the merge, and another List Blobs of a
/// range whenever its answer is used up while Azure holds more of it (what follows could sort
/// before the other range's entries).
struct BlobListing {
  std::shared_ptr<StorageApi> api;
  std::string container;
  ListRequest request;
  std::array<Range, 2> ranges;
  ListResult result;
  std::string last_prefix;
  Done<ListResult> done;
};

/// Skips the entries of names this layout does not produce; whether `range` has none left in
/// its answer while Azure holds more.
bool usedUp(Range& range) {
  while (range.taken < range.entries.size() && !range.entries[range.taken])
    ++range.taken;
  return range.active && range.taken == range.entries.size() && !range.next_marker.empty();
}

/// Moves entries of both ranges into the result in key order, up to the limit; the range that
/// needs another List Blobs first, or nullptr.
Range* mergeRanges(BlobListing& listing) {
  ListResult& out = listing.result;
  while (static_cast<int>(out.objects.size() + out.prefixes.size()) < listing.request.limit) {
    Range* next = nullptr;
    for (Range& range : listing.ranges) {
      if (usedUp(range)) return &range;
      if (!range.active || range.taken == range.entries.size()) continue;
      if (next == nullptr || range.entries[range.taken]->key < next->entries[next->taken]->key) {
        next = &range;
      }
    }
    if (next == nullptr) return nullptr;
    ListEntry& entry = *next->entries[next->taken++];
    if (entry.object) {
      out.objects.push_back(std::move(*entry.object));
    } else if (entry.key != listing.last_prefix) {
      // Natural and escaped keys can share a prefix: it is listed once.
      listing.last_prefix = entry.key;
      out.prefixes.push_back(std::move(entry.key));
    }
  }
  return nullptr;
}

void listRange(std::shared_ptr<BlobListing> listing, Range* range);

/// Merges what the ranges gave, asking Azure for more where needed, then answers.
void mergeAndAnswer(std::shared_ptr<BlobListing> listing) {
  Range* more = mergeRanges(*listing);
  if (more == nullptr) {
    // A full page has a cursor only when an entry follows: where the answers left only names
    // of the other range (or of no key), Azure is asked on.
    const bool pending =
        std::any_of(listing->ranges.begin(), listing->ranges.end(), [](Range& range) {
          (void)usedUp(range);
          return range.active && range.taken < range.entries.size();
        });
    for (Range& range : listing->ranges) {
      if (!pending && more == nullptr && usedUp(range)) more = &range;
    }
  }
  if (more != nullptr) {
    more->skip += more->taken;
    more->skip -= std::min(more->skip, more->answered);
    more->marker = std::move(more->next_marker);
    return listRange(std::move(listing), more);
  }
  const bool pending =
      std::any_of(listing->ranges.begin(), listing->ranges.end(),
                  [](const Range& r) { return r.active && r.taken < r.entries.size(); });
  if (pending) listing->result.next_cursor = rangesCursor(listing->ranges, listing->last_prefix);
  listing->done(std::move(listing->result));
}

/// One List Blobs of `range` from its marker; then the next range's, or the merge.
void listRange(std::shared_ptr<BlobListing> listing, Range* range) {
  const ListRequest& request = listing->request;
  const std::string prefix = range->escaped ? azure::escapedName(request.prefix) : request.prefix;
  const std::string delimiter =
      range->escaped ? azure::letterPairs(request.delimiter) : request.delimiter;
  Call call{
      "GET",
      "/" + listing->container,
      {{"restype", "container"},
       {"comp", "list"},
       {"include", "metadata"},
       {"maxresults", std::to_string(std::min<std::size_t>(5000, range->skip + request.limit))}},
      {},
      "",
      true};
  if (!prefix.empty()) call.query.emplace_back("prefix", prefix);
  if (!delimiter.empty()) call.query.emplace_back("delimiter", delimiter);
  if (!range->marker.empty()) call.query.emplace_back("marker", range->marker);
  StorageApi& api = *listing->api;
  api.send(std::move(call), [listing = std::move(listing), range,
                             delimiter](Result<net::HttpResponse> r) mutable {
    if (!r) return listing->done(tl::unexpected(r.error()));
    pugi::xml_document doc;
    if (!doc.load_buffer(r->body.data(), r->body.size())) {
      return listing->done(fail(ErrorCode::kUnavailable, "List Blobs: the answer is not XML"));
    }
    range->entries.clear();
    range->taken = 0;
    range->called = true;
    readEntries(doc.child("EnumerationResults"), delimiter, *range);
    if (Range& escaped = listing->ranges[1]; escaped.active && !escaped.called) {
      return listRange(std::move(listing), &escaped);
    }
    mergeAndAnswer(std::move(listing));
  });
}

class AzureBlobStore final : public ObjectStore {
public:
  AzureBlobStore(std::shared_ptr<StorageApi> api, std::string container, std::string location)
      : api_(std::move(api)), container_(std::move(container)), location_(std::move(location)) {}

  std::string describe() const override { return fmt::format("{}:{}", kType, location_); }
  ObjectFeatures features() const override {
    return {ObjectFeature::kRanges, ObjectFeature::kMetadata, ObjectFeature::kIfNoneMatchPut,
            ObjectFeature::kDelimiterList};
  }

  void put(PutRequest request, Done<std::unique_ptr<ObjectUpload>> done) override {
    if (auto bad = checkKey(request.key); !bad) return done(tl::unexpected(bad.error()));
    Result<std::string> id = local::randomId();
    if (!id) return done(tl::unexpected(id.error()));
    std::string path = blobPath(request.key);
    done(std::make_unique<BlobUpload>(std::make_shared<UploadImpl>(
        api_, std::move(path), std::move(request), id->substr(0, 16))));
  }

  void get(std::string key, std::optional<ByteRange> range,
           Done<std::unique_ptr<ObjectDownload>> done) override {
    if (auto bad = checkKey(key); !bad) return done(tl::unexpected(bad.error()));
    std::string path = blobPath(key);
    api_->send(Call{"HEAD", path, {}, {}, "", true},
               [api = api_, key, path, range,
                done = std::move(done)](Result<net::HttpResponse> r) mutable {
                 if (!r) return done(tl::unexpected(r.error()));
                 ObjectInfo info = infoOf(key, *r);
                 auto span = resolve(range, info.size);
                 if (!span) {
                   return done(fail(ErrorCode::kRangeNotSatisfiable,
                                    fmt::format("the object has {} bytes", info.size)));
                 }
                 std::string etag = r->header("etag");
                 done(std::make_unique<BlobDownload>(std::make_shared<DownloadImpl>(
                     std::move(api), std::move(path), std::move(info), std::move(etag), span->first,
                     span->second)));
               });
  }

  void head(std::string key, Done<ObjectInfo> done) override {
    if (auto bad = checkKey(key); !bad) return done(tl::unexpected(bad.error()));
    api_->send(Call{"HEAD", blobPath(key), {}, {}, "", true},
               [key, done = std::move(done)](Result<net::HttpResponse> r) {
                 if (!r) return done(tl::unexpected(r.error()));
                 done(infoOf(key, *r));
               });
  }

  void remove(std::string key, Done<void> done) override {
    if (auto bad = checkKey(key); !bad) return done(tl::unexpected(bad.error()));
    api_->send(Call{"DELETE", blobPath(key), {}, {}, "", true},
               [done = std::move(done)](Result<net::HttpResponse> r) {
                 if (!r && r.error().code != ErrorCode::kNotFound) {
                   return done(tl::unexpected(r.error()));
                 }
                 done({});
               });
  }

  void list(ListRequest request, Done<ListResult> done) override {
    if (request.limit < 1 || request.limit > 1000) {
      return done(fail(ErrorCode::kInvalidArgument, "limit must be 1..1000"));
    }
    auto listing = std::make_shared<BlobListing>();
    listing->ranges[0].active =
        azure::naturalNameCanStartWith(request.prefix, azure::NameRules::kBlob);
    listing->ranges[1].escaped = true;
    listing->ranges[1].active = true;
    if (!request.cursor.empty()) {
      if (auto restored = restoreRanges(request.cursor, listing->ranges, listing->last_prefix);
          !restored) {
        return done(tl::unexpected(restored.error()));
      }
    }
    listing->api = api_;
    listing->container = container_;
    listing->request = std::move(request);
    listing->done = std::move(done);
    for (Range& range : listing->ranges) {
      if (range.active) return listRange(listing, &range);
    }
    listing->done(ListResult{});
  }

private:
  static Result<void> checkKey(const std::string& key) {
    if (key.empty() || key.size() > kMaxKey) {
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("azure.blob keys hold 1 to {} bytes", kMaxKey));
    }
    if (key.size() > kMaxEscapedKey && !azure::isNaturalName(key, azure::NameRules::kBlob)) {
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("azure.blob keys that Azure cannot hold as they are (an empty or "
                              "dot-ended path segment, a backslash, ...) hold at most {} bytes",
                              kMaxEscapedKey));
    }
    return {};
  }
  std::string blobPath(const std::string& key) const {
    return "/" + container_ + "/" +
           azure::percentEncode(azure::storedName(key, azure::NameRules::kBlob), true);
  }

  std::shared_ptr<StorageApi> api_;
  std::string container_;
  std::string location_;
};

} // namespace

Result<std::unique_ptr<ObjectStore>> openObjectStore(const BackendSpec& spec,
                                                     const ObjectStoreConfig& config,
                                                     const BackendContext& context) {
  (void)config;
  static const std::set<std::string> keys = {"account", "container", "endpoint", "create"};
  for (const auto& [key, value] : spec.params) {
    if (keys.count(key) == 0) {
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("azure.blob: unknown key \"{}\" (account, container, endpoint, "
                              "create)",
                              key));
    }
  }
  const std::string account = spec.param("account");
  const std::string container = spec.param("container");
  if (account.empty() || container.empty()) {
    return fail(ErrorCode::kInvalidArgument, "azure.blob: account and container are required");
  }
  const std::string create = spec.param("create");
  if (!create.empty() && create != "true" && create != "false") {
    return fail(ErrorCode::kInvalidArgument, "azure.blob: create is true or false");
  }
  if (context.cloud == nullptr) {
    return fail(ErrorCode::kInternal, "azure.blob: the host gave no HTTP client and credentials");
  }
  Result<const azure::Credentials*> credentials = context.cloud->azureCredentials();
  if (!credentials) return tl::unexpected(credentials.error());
  std::string endpoint = spec.param("endpoint");
  if (endpoint.empty()) endpoint = azure::defaultEndpointUrl(account, azure::StorageService::kBlob);
  auto api = std::make_shared<StorageApi>(
      context.cloud->http(), **credentials,
      azure::Endpoint{endpoint, account, azure::StorageService::kBlob});
  Result<net::HttpResponse> found =
      api->sendAndWait(Call{"GET", "/" + container, {{"restype", "container"}}, {}, "", true});
  // Unreachable now: the calls answer 503 until it is reachable, unless the container is to be
  // created.
  if (!found && (found.error().code != ErrorCode::kUnavailable || create == "true")) {
    if (found.error().code != ErrorCode::kNotFound || create != "true") {
      return fail(found.error().code,
                  fmt::format("Azure container \"{}\": {}", container, found.error().message));
    }
    Result<net::HttpResponse> created =
        api->sendAndWait(Call{"PUT", "/" + container, {{"restype", "container"}}, {}, "", true});
    if (!created && created.error().code != ErrorCode::kAlreadyExists) {
      return fail(created.error().code, fmt::format("creating Azure container \"{}\": {}",
                                                    container, created.error().message));
    }
  }
  std::string location = context.regionOn("azure");
  if (location.empty()) location = account;
  return std::make_unique<AzureBlobStore>(std::move(api), container, std::move(location));
}

} // namespace exoflow::backend::azure_blob
