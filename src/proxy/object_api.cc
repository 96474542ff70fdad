// Object routes (API.md, "Objects"): PUT streamed into an ObjectUpload chunk by chunk, GET and
// HEAD streamed from an ObjectDownload with ranges and conditional requests, DELETE, list.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "proxy/api_internal.h"
#include "proxy/validation.h"

namespace exoflow::proxy {

namespace {

using backend::ObjectDownload;
using backend::ObjectInfo;
using backend::ObjectUpload;
using nlohmann::json;

constexpr std::size_t kMaxKey = 1024;
constexpr std::string_view kMetaPrefix = "x-exo-meta-";

/// `bytes=a-b`, `bytes=a-` or `bytes=-n`. Anything else, several ranges included, is ignored
/// (RFC 9110 lets a server serve the whole object instead).
std::optional<backend::ByteRange> parseRange(std::string_view header) {
  if (!header.starts_with("bytes=")) return std::nullopt;
  header.remove_prefix(6);
  const std::size_t dash = header.find('-');
  if (dash == std::string_view::npos || header.find(',') != std::string_view::npos) {
    return std::nullopt;
  }
  auto number = [](std::string_view digits) -> std::optional<std::uint64_t> {
    if (digits.empty() || digits.size() > 19 ||
        digits.find_first_not_of("0123456789") != std::string_view::npos) {
      return std::nullopt;
    }
    return std::stoull(std::string(digits));
  };
  const std::string_view first = header.substr(0, dash);
  const std::string_view last = header.substr(dash + 1);
  backend::ByteRange range;
  if (first.empty()) {
    auto n = number(last);
    if (!n) return std::nullopt;
    range.suffix = *n;
    return range;
  }
  range.first = number(first);
  if (!range.first) return std::nullopt;
  if (!last.empty()) {
    range.last = number(last);
    if (!range.last || *range.last < *range.first) return std::nullopt;
  }
  return range;
}

void addObjectHeaders(Response& response, const ObjectInfo& info) {
  response.header("Content-Type",
                  info.content_type.empty() ? "application/octet-stream" : info.content_type);
  response.header("ETag", info.etag);
  response.header("Last-Modified", httpDate(info.last_modified));
  response.header("Accept-Ranges", "bytes");
  for (const auto& [name, value] : info.metadata) {
    response.header(std::string(kMetaPrefix) + name, value);
  }
}

Response notModified(const ObjectInfo& info) {
  Response response;
  response.status = 304;
  response.header("ETag", info.etag);
  response.header("Last-Modified", httpDate(info.last_modified));
  return response;
}

/// Streams a request body into an upload that starts with the first chunk.
class UploadSink final : public BodySink, public std::enable_shared_from_this<UploadSink> {
public:
  UploadSink(ExchangePtr ex, backend::ObjectStore& store, backend::PutRequest request)
      : ex_(std::move(ex)), store_(store), request_(std::move(request)) {}

  void write(std::string chunk, std::function<void(std::optional<Response>)> done) override {
    auto self = shared_from_this();
    withUpload([self, chunk = std::move(chunk), done](Result<ObjectUpload*> upload) mutable {
      if (!upload) {
        done(self->failure(upload.error()));
        return;
      }
      {
        std::lock_guard lock(self->mutex_);
        if (self->aborted_) return; // the connection is gone; nobody waits for `done`
        self->writing_ = true;
      }
      (*upload)->write(std::move(chunk), [self, done](Result<void> written) {
        bool aborted = false;
        {
          std::lock_guard lock(self->mutex_);
          self->writing_ = false;
          aborted = self->aborted_;
        }
        if (aborted) {
          // abort() came during the write and left the upload to us.
          self->upload_->abort();
          return;
        }
        if (!written) {
          done(self->failure(written.error()));
          return;
        }
        done(std::nullopt);
      });
    });
  }

  void finish(Respond respond) override {
    ex_->attach(std::move(respond));
    auto self = shared_from_this();
    withUpload([self](Result<ObjectUpload*> upload) {
      if (!upload) {
        self->ex_->replyError(upload.error());
        return;
      }
      (*upload)->finish([self](Result<ObjectInfo> info) {
        if (!info) {
          self->ex_->replyError(info.error());
          return;
        }
        Response response =
            jsonResponse(200, json{{"etag", info->etag}, {"size", info->size}}.dump());
        response.header("ETag", info->etag);
        self->ex_->reply(std::move(response));
      });
    });
  }

  /// Aborts the upload, or has the write in flight abort it when it completes: an upload takes
  /// no call while a write is pending.
  void abort() override {
    std::lock_guard lock(mutex_);
    if (aborted_) return;
    aborted_ = true;
    if (upload_ && !writing_) upload_->abort();
  }

private:
  Response failure(const Error& error) { return ex_->finish(errorResponse(error, ex_->id())); }

  /// Runs `fn` with the upload, starting it first if need be.
  void withUpload(std::function<void(Result<ObjectUpload*>)> fn) {
    ObjectUpload* current = nullptr;
    {
      std::lock_guard lock(mutex_);
      current = upload_.get();
    }
    if (current != nullptr) {
      // The server waits for each completion, so nothing else uses the upload meanwhile.
      fn(current);
      return;
    }
    auto self = shared_from_this();
    store_.put(request_, [self, fn = std::move(fn)](Result<std::unique_ptr<ObjectUpload>> made) {
      if (!made) {
        fn(tl::unexpected(made.error()));
        return;
      }
      ObjectUpload* upload = nullptr;
      {
        std::lock_guard lock(self->mutex_);
        if (self->aborted_) {
          (*made)->abort();
          return;
        }
        self->upload_ = std::move(*made);
        upload = self->upload_.get();
      }
      fn(upload);
    });
  }

  ExchangePtr ex_;
  backend::ObjectStore& store_;
  backend::PutRequest request_;
  std::mutex mutex_;
  std::unique_ptr<ObjectUpload> upload_;
  bool aborted_ = false;
  bool writing_ = false; ///< a write() of the upload has not completed yet
};

class DownloadSource final : public BodySource {
public:
  explicit DownloadSource(std::unique_ptr<ObjectDownload> download)
      : download_(std::move(download)) {}
  void read(std::size_t max, std::function<void(Result<std::string>)> done) override {
    download_->read(max, std::move(done));
  }

private:
  std::unique_ptr<ObjectDownload> download_;
};

Plan putObject(const ExchangePtr& ex, const ObjectEntry& entry, const RequestHead& head) {
  backend::PutRequest request;
  request.key = ex->route().rest;
  if (auto type = head.header("content-type"); type && !type->empty()) {
    request.content_type = std::string(*type);
  }
  for (const auto& [name, value] : head.headers) {
    if (!name.starts_with(kMetaPrefix)) continue;
    const std::string meta = name.substr(kMetaPrefix.size());
    if (meta.empty()) return ex->reject({ErrorCode::kInvalidArgument, "empty metadata name"});
    request.metadata[meta] = value;
  }
  if (auto match = head.header("if-none-match")) {
    if (*match != "*") {
      return ex->reject({ErrorCode::kInvalidArgument, "a PUT takes only If-None-Match: *"});
    }
    request.if_none_match_star = true;
  }
  if (head.header("if-match")) {
    return ex->reject({ErrorCode::kInvalidArgument, "If-Match is not supported on objects"});
  }
  if (!head.chunked) request.size = head.content_length.value_or(0);
  ex->servedBy(servingBackend(entry, *ex).describe());
  Plan plan;
  plan.sink = std::make_shared<UploadSink>(ex, servingBackend(entry, *ex), std::move(request));
  return plan;
}

void getObject(const ExchangePtr& ex, const ObjectEntry* entry,
               std::optional<backend::ByteRange> range, std::optional<std::string> if_none_match) {
  const std::string key = ex->route().rest;
  const bool ranged = range.has_value();
  servingBackend(*entry, *ex)
      .get(key, range,
           [ex, entry, key, ranged, if_none_match](Result<std::unique_ptr<ObjectDownload>> got) {
             if (!got && got.error().code == ErrorCode::kRangeNotSatisfiable) {
               servingBackend(*entry, *ex)
                   .head(key, [ex, error = got.error()](Result<ObjectInfo> info) {
                     Response response = errorResponse(error, ex->id());
                     if (info)
                       response.header("Content-Range", fmt::format("bytes */{}", info->size));
                     ex->reply(std::move(response));
                   });
               return;
             }
             if (!got) {
               ex->replyError(got.error());
               return;
             }
             const ObjectInfo& info = (*got)->info();
             if (if_none_match && etagListMatches(*if_none_match, info.etag)) {
               ex->reply(notModified(info));
               return;
             }
             Response response;
             response.status = ranged ? 206 : 200;
             addObjectHeaders(response, info);
             const std::uint64_t offset = (*got)->offset();
             const std::uint64_t length = (*got)->length();
             if (ranged) {
               response.header("Content-Range", fmt::format("bytes {}-{}/{}", offset,
                                                            offset + length - 1, info.size));
             }
             response.stream_length = length;
             if (length > 0) response.stream = std::make_shared<DownloadSource>(std::move(*got));
             ex->reply(std::move(response));
           });
}

void objectHead(const ExchangePtr& ex, const ObjectEntry* entry,
                std::optional<std::string> if_none_match) {
  servingBackend(*entry, *ex).head(ex->route().rest, [ex, if_none_match](Result<ObjectInfo> info) {
    if (!info) {
      ex->replyError(info.error());
      return;
    }
    if (if_none_match && etagListMatches(*if_none_match, info->etag)) {
      ex->reply(notModified(*info));
      return;
    }
    Response response;
    addObjectHeaders(response, *info);
    response.head_only = true;
    response.head_length = info->size;
    ex->reply(std::move(response));
  });
}

void listObjects(const ExchangePtr& ex, const ObjectEntry* entry) {
  backend::ListRequest request;
  auto prefix = ex->query().text("prefix");
  auto delimiter = ex->query().text("delimiter");
  auto cursor = ex->query().text("cursor");
  auto limit = ex->query().integer("limit", 1, 1000, 1000);
  for (const Result<std::string>* r : {&prefix, &delimiter, &cursor}) {
    if (!*r) return ex->replyError(r->error());
  }
  if (!limit) return ex->replyError(limit.error());
  request.prefix = *prefix;
  request.delimiter = *delimiter;
  request.cursor = *cursor;
  request.limit = *limit;
  servingBackend(*entry, *ex).list(std::move(request), [ex](Result<backend::ListResult> listed) {
    if (!listed) return ex->replyError(listed.error());
    json objects = json::array();
    for (const ObjectInfo& o : listed->objects) {
      objects.push_back({{"key", o.key},
                         {"size", o.size},
                         {"etag", o.etag},
                         {"last_modified", rfc3339(o.last_modified)}});
    }
    const json out = {{"objects", std::move(objects)},
                      {"prefixes", listed->prefixes},
                      {"next_cursor", listed->next_cursor ? json(*listed->next_cursor) : json()}};
    ex->reply(jsonResponse(200, out.dump(-1, ' ', false, json::error_handler_t::replace)));
  });
}

} // namespace

Plan planObjects(const ExchangePtr& ex, const RequestHead& head) {
  const Route& route = ex->route();
  const ObjectEntry* entry = ex->state().bindings.objects(route.name);
  if (entry == nullptr) {
    if (!isServiceName(route.name)) {
      return ex->reject({ErrorCode::kInvalidArgument,
                         fmt::format("{} is not a valid bucket name", jsonString(route.name))});
    }
    return ex->reject({ErrorCode::kNotFound, fmt::format("no bucket named \"{}\"", route.name)});
  }
  ex->service(route.name);
  if (auto refused = peerRefusal(*entry, *ex)) return ex->reject(*refused);
  if (route.kind == RouteKind::kObjects) {
    ex->servedBy(servingBackend(*entry, *ex).describe());
    return ex->then(kIgnoredBodyLimit, [ex, entry](std::string) { listObjects(ex, entry); });
  }
  if (auto ok = checkKey(route.rest, kMaxKey, "object key"); !ok) return ex->reject(ok.error());
  if (head.method == "PUT") return putObject(ex, *entry, head);
  ex->servedBy(servingBackend(*entry, *ex).describe());
  std::optional<std::string> if_none_match;
  if (auto h = head.header("if-none-match")) if_none_match = std::string(*h);
  if (head.method == "DELETE") {
    return ex->then(kIgnoredBodyLimit, [ex, entry](std::string) {
      servingBackend(*entry, *ex).remove(ex->route().rest, [ex](Result<void> done) {
        if (!done) return ex->replyError(done.error());
        ex->reply(emptyResponse(204));
      });
    });
  }
  if (head.method == "HEAD") {
    return ex->then(kIgnoredBodyLimit, [ex, entry, if_none_match](std::string) {
      objectHead(ex, entry, if_none_match);
    });
  }
  std::optional<backend::ByteRange> range;
  if (auto h = head.header("range")) range = parseRange(*h);
  return ex->then(kIgnoredBodyLimit, [ex, entry, range, if_none_match](std::string) {
    getObject(ex, entry, range, if_none_match);
  });
}

} // namespace exoflow::proxy
