// The peer ObjectStore: each call is the Exo API's bucket call at the peer. Uploads stream as
// the body of one PUT; downloads are ranged GETs of kPieceSize (see peer_backends.h).

#include <ctime>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "backend/json_fields.h"
#include "backend/peer/peer_link.h"

namespace exoflow::backend::peer {
namespace {

using nlohmann::json;
constexpr std::string_view kMetaPrefix = "x-exo-meta-";

std::uint64_t number(std::string_view digits) {
  return static_cast<std::uint64_t>(json_fields::number(digits, 0));
}

/// "Sun, 06 Dec 2026 10:00:00 GMT" or "2026-12-06T10:00:00Z"; the epoch when neither.
std::chrono::system_clock::time_point parseTime(const std::string& text, const char* format) {
  std::tm tm{};
  if (::strptime(text.c_str(), format, &tm) == nullptr) return {};
  return std::chrono::system_clock::from_time_t(::timegm(&tm));
}

/// An object's info from the headers of a GET or HEAD; `size` as worked out by the caller.
ObjectInfo infoFrom(const net::HttpResponse& response, std::string key, std::uint64_t size) {
  ObjectInfo info;
  info.key = std::move(key);
  info.size = size;
  info.etag = response.header("etag");
  info.last_modified = parseTime(response.header("last-modified"), "%a, %d %b %Y %H:%M:%S");
  info.content_type = response.header("content-type");
  for (const auto& [name, value] : response.headers) {
    if (name.starts_with(kMetaPrefix)) info.metadata[name.substr(kMetaPrefix.size())] = value;
  }
  return info;
}

/// "bytes a-b/total" -> {a, b, total}.
struct ContentRange {
  std::uint64_t first = 0;
  std::uint64_t last = 0;
  std::uint64_t total = 0;
};

std::optional<ContentRange> parseContentRange(std::string_view text) {
  if (!text.starts_with("bytes ")) return std::nullopt;
  text.remove_prefix(6);
  const std::size_t dash = text.find('-');
  const std::size_t slash = text.find('/');
  if (dash == std::string_view::npos || slash == std::string_view::npos || slash < dash) {
    return std::nullopt;
  }
  return ContentRange{number(text.substr(0, dash)), number(text.substr(dash + 1, slash - dash - 1)),
                      number(text.substr(slash + 1))};
}

class PeerUpload final : public ObjectUpload {
public:
  PeerUpload(std::unique_ptr<net::HttpUpload> upload, PutRequest request)
      : upload_(std::move(upload)), request_(std::move(request)) {}

  void write(std::string chunk, Done<void> done) override {
    upload_->write(std::move(chunk), std::move(done));
  }

  void finish(Done<ObjectInfo> done) override {
    upload_->finish([request = request_, done = std::move(done)](auto answer) mutable {
      if (!answer) return done(tl::unexpected(answer.error()));
      if (answer->status != 200) return done(tl::unexpected(answerError(*answer)));
      const auto body = json::parse(answer->body, nullptr, false);
      const json& size = json_fields::member(body, "size");
      ObjectInfo info;
      info.key = std::move(request.key);
      info.etag = answer->header("etag");
      if (info.etag.empty()) info.etag = json_fields::text(body, "etag");
      if (info.etag.empty() || !size.is_number_unsigned()) {
        return done(fail(ErrorCode::kUnavailable, "peer: the answer to a PUT is not the API's"));
      }
      info.size = size.get<std::uint64_t>();
      info.last_modified = std::chrono::system_clock::now();
      info.content_type = std::move(request.content_type);
      info.metadata = std::move(request.metadata);
      done(std::move(info));
    });
  }

  void abort() override { upload_->abort(); }

private:
  std::unique_ptr<net::HttpUpload> upload_;
  PutRequest request_;
};

/// A download: the piece in hand, then the next ranged GET while bytes remain. The state is
/// shared with the GET in flight, which may end after the download is dropped.
class PeerDownload final : public ObjectDownload {
public:
  PeerDownload(const Link& link, ObjectInfo info, std::uint64_t offset, std::uint64_t length,
               std::string first_piece)
      : state_(std::make_shared<State>(
            State{link, std::move(info), offset, length, std::move(first_piece), 0, 0})) {
    state_->next = offset + state_->piece.size();
  }

  const ObjectInfo& info() const override { return state_->info; }
  std::uint64_t offset() const override { return state_->offset; }
  std::uint64_t length() const override { return state_->length; }
  void read(std::size_t max, Done<std::string> done) override {
    read(state_, max, std::move(done));
  }

private:
  struct State {
    Link link;
    ObjectInfo info;
    std::uint64_t offset;
    std::uint64_t length;
    std::string piece;
    std::size_t taken;
    std::uint64_t next; ///< the first byte not yet fetched
  };

  static void read(const std::shared_ptr<State>& s, std::size_t max, Done<std::string> done) {
    if (s->taken < s->piece.size()) {
      const std::size_t n = std::min(max, s->piece.size() - s->taken);
      std::string chunk = s->piece.substr(s->taken, n);
      s->taken += n;
      return done(std::move(chunk));
    }
    const std::uint64_t end = s->offset + s->length;
    if (s->next >= end) return done(std::string());
    const std::uint64_t last = std::min(end, s->next + kPieceSize) - 1;
    net::HttpRequest request = s->link.request("GET", "/objects/" + encodeSegment(s->info.key));
    request.headers.emplace_back("Range", fmt::format("bytes={}-{}", s->next, last));
    const std::uint64_t expected = last - s->next + 1;
    s->link.send(std::move(request), [s, max, expected,
                                      done = std::move(done)](auto answer) mutable {
      if (!answer) return done(tl::unexpected(answer.error()));
      if (answer->status != 206) return done(tl::unexpected(answerError(*answer)));
      if (answer->header("etag") != s->info.etag || answer->body.size() != expected) {
        return done(fail(ErrorCode::kUnavailable, "peer: the object changed during the download"));
      }
      s->piece = std::move(answer->body);
      s->taken = 0;
      s->next += s->piece.size();
      read(s, max, std::move(done));
    });
  }

  std::shared_ptr<State> state_;
};

class PeerObjectStore final : public ObjectStore {
public:
  explicit PeerObjectStore(Link link) : link_(std::move(link)) {}

  std::string describe() const override { return link_.describe(); }
  /// What the API promises for every bucket.
  ObjectFeatures features() const override {
    return {ObjectFeature::kRanges, ObjectFeature::kMetadata, ObjectFeature::kIfNoneMatchPut,
            ObjectFeature::kDelimiterList, ObjectFeature::kLargeObjects};
  }

  void put(PutRequest r, Done<std::unique_ptr<ObjectUpload>> done) override {
    net::HttpRequest request = link_.request("PUT", "/objects/" + encodeSegment(r.key));
    request.headers.emplace_back("Content-Type", r.content_type);
    for (const auto& [name, value] : r.metadata)
      request.headers.emplace_back(fmt::format("{}{}", kMetaPrefix, name), value);
    if (r.if_none_match_star) request.headers.emplace_back("If-None-Match", "*");
    const std::optional<std::uint64_t> size = r.size;
    link_.upload(std::move(request), size,
                 [r = std::move(r), done = std::move(done)](auto upload) mutable {
                   if (!upload) return done(tl::unexpected(upload.error()));
                   done(std::make_unique<PeerUpload>(std::move(*upload), std::move(r)));
                 });
  }

  void get(std::string key, std::optional<ByteRange> range,
           Done<std::unique_ptr<ObjectDownload>> done) override {
    if (range && !range->first && range->suffix > kPieceSize) {
      // A long suffix: its start needs the size.
      head(key, [this, key, suffix = range->suffix, done = std::move(done)](auto info) mutable {
        if (!info) return done(tl::unexpected(info.error()));
        const std::uint64_t first = info->size > suffix ? info->size - suffix : 0;
        get(std::move(key), ByteRange{first, std::nullopt, 0}, std::move(done));
      });
      return;
    }
    // The first piece; its answer gives the size and the range as the peer resolved it.
    net::HttpRequest request = link_.request("GET", "/objects/" + encodeSegment(key));
    std::optional<std::uint64_t> wanted_last;
    if (!range) {
      request.headers.emplace_back("Range", fmt::format("bytes=0-{}", kPieceSize - 1));
    } else if (!range->first) {
      request.headers.emplace_back("Range", fmt::format("bytes=-{}", range->suffix));
    } else {
      const std::uint64_t first = *range->first;
      wanted_last = range->last;
      const std::uint64_t last = std::min(range->last.value_or(UINT64_MAX), first + kPieceSize - 1);
      request.headers.emplace_back("Range", fmt::format("bytes={}-{}", first, last));
    }
    const bool whole = !range;
    link_.send(std::move(request), [this, key = std::move(key), whole, wanted_last,
                                    done = std::move(done)](auto answer) mutable {
      if (!answer) return done(tl::unexpected(answer.error()));
      if (answer->status == 416 && whole) {
        // Only an empty object has no byte 0.
        return getWhole(std::move(key), std::move(done));
      }
      if (answer->status == 200) {
        const std::uint64_t size = answer->body.size();
        ObjectInfo info = infoFrom(*answer, std::move(key), size);
        return done(std::make_unique<PeerDownload>(link_, std::move(info), 0, size,
                                                   std::move(answer->body)));
      }
      if (answer->status != 206) return done(tl::unexpected(answerError(*answer)));
      const auto served = parseContentRange(answer->header("content-range"));
      if (!served || served->last < served->first ||
          answer->body.size() != served->last - served->first + 1) {
        return done(fail(ErrorCode::kUnavailable, "peer: a ranged answer without its range"));
      }
      // The whole range asked for, of which the first piece has come.
      std::uint64_t last = served->total - 1;
      if (wanted_last) last = std::min(last, *wanted_last);
      ObjectInfo info = infoFrom(*answer, std::move(key), served->total);
      done(std::make_unique<PeerDownload>(link_, std::move(info), served->first,
                                          last - served->first + 1, std::move(answer->body)));
    });
  }

  void head(std::string key, Done<ObjectInfo> done) override {
    link_.send(link_.request("HEAD", "/objects/" + encodeSegment(key)),
               [key, done = std::move(done)](auto answer) mutable {
                 if (!answer) return done(tl::unexpected(answer.error()));
                 if (answer->status != 200) return done(tl::unexpected(answerError(*answer)));
                 const std::uint64_t size = number(answer->header("content-length"));
                 done(infoFrom(*answer, std::move(key), size));
               });
  }

  void remove(std::string key, Done<void> done) override {
    net::HttpRequest request = link_.request("DELETE", "/objects/" + encodeSegment(key));
    request.idempotent = true;
    link_.send(std::move(request), [done = std::move(done)](auto answer) {
      if (!answer) return done(tl::unexpected(answer.error()));
      if (answer->status != 204) return done(tl::unexpected(answerError(*answer)));
      done(Result<void>{});
    });
  }

  void list(ListRequest r, Done<ListResult> done) override {
    std::string query = fmt::format("/objects?limit={}", r.limit);
    if (!r.prefix.empty()) query += "&prefix=" + encodeSegment(r.prefix);
    if (!r.delimiter.empty()) query += "&delimiter=" + encodeSegment(r.delimiter);
    if (!r.cursor.empty()) query += "&cursor=" + encodeSegment(r.cursor);
    link_.send(link_.request("GET", query), [done = std::move(done)](auto answer) {
      if (!answer) return done(tl::unexpected(answer.error()));
      if (answer->status != 200) return done(tl::unexpected(answerError(*answer)));
      const auto body = json::parse(answer->body, nullptr, false);
      if (!body.is_object()) {
        return done(fail(ErrorCode::kUnavailable, "peer: the answer is not a JSON object"));
      }
      ListResult out;
      for (const json& o : json_fields::member(body, "objects")) {
        ObjectInfo info;
        info.key = json_fields::text(o, "key");
        const json& size = json_fields::member(o, "size");
        info.size = size.is_number_unsigned() ? size.get<std::uint64_t>() : 0;
        info.etag = json_fields::text(o, "etag");
        info.last_modified = parseTime(json_fields::text(o, "last_modified"), "%Y-%m-%dT%H:%M:%S");
        out.objects.push_back(std::move(info));
      }
      for (const json& p : json_fields::member(body, "prefixes")) {
        if (p.is_string()) out.prefixes.push_back(p.get<std::string>());
      }
      const json& cursor = json_fields::member(body, "next_cursor");
      if (cursor.is_string()) out.next_cursor = cursor.get<std::string>();
      done(std::move(out));
    });
  }

private:
  /// A GET without a range: for an empty object.
  void getWhole(std::string key, Done<std::unique_ptr<ObjectDownload>> done) {
    net::HttpRequest request = link_.request("GET", "/objects/" + encodeSegment(key));
    link_.send(std::move(request),
               [this, key = std::move(key), done = std::move(done)](auto answer) mutable {
                 if (!answer) return done(tl::unexpected(answer.error()));
                 if (answer->status != 200) return done(tl::unexpected(answerError(*answer)));
                 const std::uint64_t size = answer->body.size();
                 ObjectInfo info = infoFrom(*answer, std::move(key), size);
                 done(std::make_unique<PeerDownload>(link_, std::move(info), 0, size,
                                                     std::move(answer->body)));
               });
  }

  Link link_;
};

} // namespace

Result<std::unique_ptr<ObjectStore>> openObjectStore(const BackendSpec& spec,
                                                     const ObjectStoreConfig& config,
                                                     const BackendContext& context) {
  const std::string name = spec.param("name").empty() ? config.name : spec.param("name");
  auto link = Link::open(spec, "buckets", name, context);
  if (!link) return tl::unexpected(link.error());
  return std::make_unique<PeerObjectStore>(std::move(*link));
}

} // namespace exoflow::backend::peer
