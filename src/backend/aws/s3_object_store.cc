// aws.s3: see s3_object_store.h. Every call is one S3 REST request (a multipart upload: one
// per part plus its start and completion), signed with SigV4 and sent with the shared HTTP
// client; completions run on that client's thread.

#include "backend/aws/s3_object_store.h"

#include <utility>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <ctime>
#include <mutex>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <openssl/evp.h>
#include <pugixml.hpp>

#include "backend/aws/json_api.h"
#include "backend/aws/sigv4.h"
#include "backend/cloud.h"
#include "backend/local/codec.h"

namespace exoflow::backend::aws_s3 {
namespace {

constexpr char kCursorVersion = 's';
constexpr std::string_view kMetaPrefix = "x-amz-meta-";

/// A decimal number from a header or an XML text; nullopt for anything else.
std::optional<std::uint64_t> number(std::string_view digits) {
  std::uint64_t value = 0;
  const char* end = digits.data() + digits.size();
  auto [at, ec] = std::from_chars(digits.data(), end, value);
  if (ec != std::errc() || at != end || digits.empty()) return std::nullopt;
  return value;
}

/// Base64 (standard alphabet, padded) of the MD5 of `body`: the Content-MD5 header.
std::string contentMd5(std::string_view body) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(body.data(), body.size(), digest, &size, EVP_md5(), nullptr);
  unsigned char encoded[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
  const int length = EVP_EncodeBlock(encoded, digest, static_cast<int>(size));
  return std::string(reinterpret_cast<const char*>(encoded), static_cast<std::size_t>(length));
}

std::chrono::system_clock::time_point fromTm(std::tm& tm) {
  return std::chrono::system_clock::from_time_t(::timegm(&tm));
}

/// "Wed, 21 Oct 2015 07:28:00 GMT" (Last-Modified); now when it does not parse.
std::chrono::system_clock::time_point parseHttpDate(const std::string& text) {
  std::tm tm{};
  if (::strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S", &tm) == nullptr) {
    return std::chrono::system_clock::now();
  }
  return fromTm(tm);
}

/// "2009-10-12T17:50:30.000Z" (ListObjectsV2); now when it does not parse.
std::chrono::system_clock::time_point parseIsoDate(const std::string& text) {
  std::tm tm{};
  if (::strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm) == nullptr) {
    return std::chrono::system_clock::now();
  }
  return fromTm(tm);
}

/// The API code for an S3 answer: its XML <Code> (none for HEAD) and status.
ErrorCode mapS3Error(const std::string& code, int status) {
  if (code == "InvalidRange" || status == 416) return ErrorCode::kRangeNotSatisfiable;
  if (status == 412) return ErrorCode::kPreconditionFailed;
  if (status == 404) return ErrorCode::kNotFound;
  if (code == "InvalidArgument" || code == "InvalidToken") return ErrorCode::kInvalidArgument;
  if (code == "BucketAlreadyOwnedByYou") return ErrorCode::kAlreadyExists;
  return aws::mapAwsError(code, status);
}

/// The error of a failed S3 answer, with S3's code and message.
Error s3Error(const std::string& what, const net::HttpResponse& response) {
  std::string code;
  std::string message;
  pugi::xml_document doc;
  if (!response.body.empty() && doc.load_buffer(response.body.data(), response.body.size())) {
    code = doc.child("Error").child_value("Code");
    message = doc.child("Error").child_value("Message");
  }
  return Error{mapS3Error(code, response.status),
               fmt::format("{} failed: {}{}{}{}", what, response.status, code.empty() ? "" : " ",
                           code, message.empty() ? "" : ": " + message)};
}

/// The object's description from a GET or HEAD answer; `size` is the whole object's.
ObjectInfo infoFrom(const std::string& key, const net::HttpResponse& response, std::uint64_t size) {
  ObjectInfo info;
  info.key = key;
  info.size = size;
  info.etag = response.header("etag");
  info.last_modified = parseHttpDate(response.header("last-modified"));
  info.content_type = response.header("content-type");
  if (info.content_type.empty()) info.content_type = "application/octet-stream";
  for (const auto& [name, value] : response.headers) {
    if (name.starts_with(kMetaPrefix)) info.metadata[name.substr(kMetaPrefix.size())] = value;
  }
  return info;
}

/// One S3 request before signing. `path` is below the bucket: "/" + the encoded key, or "".
struct S3Call {
  std::string method = "GET";
  std::string path;
  std::string query; ///< encoded, without '?'
  net::Headers headers;
  std::string body;
  bool idempotent = true;
};

/// Where a bucket is and how to sign for it; shared by the store, its uploads and downloads,
/// which may outlive the store's own calls.
class S3Client {
public:
  S3Client(net::HttpClient& http, aws::CredentialsProvider& credentials, std::string endpoint,
           std::string region, std::string bucket, bool path_style)
      : http_(http), credentials_(credentials), region_(std::move(region)),
        bucket_(std::move(bucket)) {
    const std::size_t scheme_end = endpoint.find("://");
    const std::string scheme = endpoint.substr(0, scheme_end);
    const std::string host = endpoint.substr(scheme_end == std::string::npos ? 0 : scheme_end + 3);
    if (path_style) {
      base_url_ = endpoint;
      base_path_ = "/" + aws::uriEncode(bucket_, false);
    } else {
      base_url_ = scheme + "://" + bucket_ + "." + host;
    }
    host_ = net::hostHeader(base_url_);
  }

  const std::string& region() const { return region_; }
  const std::string& bucket() const { return bucket_; }

  /// The request path of `key` ("/bucket/a%20b" or "/a%20b"); S3 signs it as sent.
  std::string keyPath(std::string_view key) const { return "/" + aws::uriEncode(key, true); }

  /// Signs and sends; `done` gets the answer of any status, or kUnavailable when none came.
  void send(S3Call call, std::function<void(Result<net::HttpResponse>)> done) {
    auto credentials = credentials_.get();
    if (!credentials) {
      done(tl::unexpected(credentials.error()));
      return;
    }
    std::string path = base_path_ + call.path;
    if (path.empty()) path = "/";
    net::HttpRequest request;
    request.method = call.method;
    request.url = base_url_ + path + (call.query.empty() ? "" : "?" + call.query);
    request.idempotent = call.idempotent;
    request.headers = std::move(call.headers);
    request.headers.emplace_back("Host", host_);
    // The body is protected by Content-MD5 where it matters; hashing it twice for the
    // signature would cost a second pass over every byte.
    const std::string payload_hash =
        call.body.empty() ? aws::sha256Hex("") : std::string(aws::kUnsignedPayload);
    aws::SigningRequest to_sign{call.method, path, call.query, request.headers, payload_hash};
    aws::SigningParams params;
    params.region = region_;
    params.service = "s3";
    params.time = std::chrono::system_clock::now();
    params.normalize_path = false;
    params.encode_path = false;
    params.content_sha256_header = true;
    const aws::Signed signature = aws::signHeaders(to_sign, credentials->credentials, params);
    request.headers.insert(request.headers.end(), signature.headers.begin(),
                           signature.headers.end());
    request.body = std::move(call.body);
    http_.send(std::move(request), std::move(done));
  }

  /// send(), with transport failures and non-2xx answers turned into errors naming `what`.
  void call(S3Call call, std::string what, Done<net::HttpResponse> done) {
    send(std::move(call),
         [what = std::move(what), done = std::move(done)](Result<net::HttpResponse> response) {
           if (!response) {
             done(tl::unexpected(Error{response.error().code,
                                       fmt::format("{}: {}", what, response.error().message)}));
           } else if (response->status / 100 != 2) {
             done(tl::unexpected(s3Error(what, *response)));
           } else {
             done(std::move(*response));
           }
         });
  }

  /// The same, waiting (set-up outside the request path).
  Result<net::HttpResponse> callAndWait(S3Call request, std::string what) {
    return net::waitFor<net::HttpResponse>([&](net::ResponseHandler done) {
      call(std::move(request), std::move(what), std::move(done));
    });
  }

private:
  net::HttpClient& http_;
  aws::CredentialsProvider& credentials_;
  std::string region_;
  std::string bucket_;
  std::string base_url_;  ///< scheme://host[:port], the bucket in the host or not
  std::string base_path_; ///< "/bucket" for path style, else ""
  std::string host_;
};

/// An upload in progress. Shared with the callbacks of its requests, so that an upload
/// destroyed mid-request is not touched after it is gone.
struct UploadState {
  std::shared_ptr<S3Client> client;
  PutRequest request;
  std::string key_path;
  std::mutex mutex;
  std::string buffer;    ///< bytes not sent yet, at most about one part
  std::string upload_id; ///< the multipart upload, once started
  std::vector<std::string> part_etags;
  std::uint64_t size = 0;
  bool ended = false; ///< finished, aborted or failed: nothing more may be written

  net::Headers objectHeaders() const {
    net::Headers headers = {{"Content-Type", request.content_type}};
    for (const auto& [name, value] : request.metadata)
      headers.emplace_back(std::string(kMetaPrefix) + name, value);
    return headers;
  }

  /// Tells S3 to drop the parts of an upload that will not complete; nobody waits for it.
  void abortMultipart() {
    if (upload_id.empty()) return;
    S3Call call;
    call.method = "DELETE";
    call.path = key_path;
    call.query = "uploadId=" + aws::uriEncode(upload_id, false);
    client->send(std::move(call), [](const Result<net::HttpResponse>&) {});
    upload_id.clear();
  }
};

class S3Upload final : public ObjectUpload {
public:
  explicit S3Upload(std::shared_ptr<UploadState> state) : state_(std::move(state)) {}
  ~S3Upload() override { abort(); }
  S3Upload(const S3Upload&) = delete;
  S3Upload& operator=(const S3Upload&) = delete;

  // `done` is never called with the state's mutex held: a caller may go on to write or finish
  // from inside it.
  void write(std::string chunk, Done<void> done) override {
    std::shared_ptr<UploadState> state = state_;
    bool ended = false;
    bool buffered = false;
    {
      std::lock_guard lock(state->mutex);
      ended = state->ended;
      if (!ended) {
        state->size += chunk.size();
        if (state->buffer.empty()) {
          state->buffer = std::move(chunk);
        } else {
          state->buffer += chunk;
        }
        buffered = state->buffer.size() < kPartSize;
      }
    }
    if (ended) {
      done(fail(ErrorCode::kInvalidArgument, "the upload was finished or aborted"));
    } else if (buffered) {
      done({});
    } else {
      flushPart(state, std::move(done));
    }
  }

  void finish(Done<ObjectInfo> done) override {
    std::shared_ptr<UploadState> state = state_;
    bool single = false;
    bool ended = false;
    {
      std::lock_guard lock(state->mutex);
      ended = state->ended;
      state->ended = true;
      single = state->upload_id.empty();
    }
    if (ended) {
      done(fail(ErrorCode::kInvalidArgument, "the upload was finished or aborted"));
      return;
    }
    if (single) {
      putObject(state, std::move(done));
      return;
    }
    if (state->buffer.empty()) {
      complete(state, std::move(done));
      return;
    }
    uploadPart(state, [state, done = std::move(done)](Result<void> sent) mutable {
      if (!sent) {
        failMultipart(*state);
        done(tl::unexpected(sent.error()));
        return;
      }
      complete(state, std::move(done));
    });
  }

  void abort() override {
    std::lock_guard lock(state_->mutex);
    if (state_->ended && state_->upload_id.empty()) return;
    state_->ended = true;
    state_->buffer.clear();
    state_->abortMultipart();
  }

private:
  static void failMultipart(UploadState& state) {
    std::lock_guard lock(state.mutex);
    state.ended = true;
    state.abortMultipart();
  }

  /// Sends the buffered part, starting the multipart upload first when this is the first.
  static void flushPart(const std::shared_ptr<UploadState>& state, Done<void> done) {
    bool started = false;
    {
      std::lock_guard lock(state->mutex);
      started = !state->upload_id.empty();
    }
    if (started) {
      uploadPart(state, std::move(done));
      return;
    }
    S3Call start;
    start.method = "POST";
    start.path = state->key_path;
    start.query = "uploads=";
    start.headers = state->objectHeaders();
    start.idempotent = false;
    state->client->call(
        std::move(start), "CreateMultipartUpload",
        [state, done = std::move(done)](Result<net::HttpResponse> started) mutable {
          if (!started) {
            done(tl::unexpected(started.error()));
            return;
          }
          pugi::xml_document doc;
          doc.load_buffer(started->body.data(), started->body.size());
          std::string id = doc.document_element().child_value("UploadId");
          if (id.empty()) {
            done(fail(ErrorCode::kUnavailable, "CreateMultipartUpload: no UploadId in answer"));
            return;
          }
          bool aborted = false;
          {
            std::lock_guard lock(state->mutex);
            state->upload_id = std::move(id);
            if (state->ended) { // aborted while starting
              state->abortMultipart();
              aborted = true;
            }
          }
          if (aborted) {
            done(fail(ErrorCode::kInvalidArgument, "the upload was aborted"));
            return;
          }
          uploadPart(state, std::move(done));
        });
  }

  static void uploadPart(const std::shared_ptr<UploadState>& state, Done<void> done) {
    S3Call part;
    std::size_t index = 0;
    bool aborted = false;
    {
      std::lock_guard lock(state->mutex);
      aborted = state->upload_id.empty();
    }
    if (aborted) {
      done(fail(ErrorCode::kInvalidArgument, "the upload was aborted"));
      return;
    }
    {
      std::lock_guard lock(state->mutex);
      part.method = "PUT";
      part.path = state->key_path;
      part.query = fmt::format("partNumber={}&uploadId={}", state->part_etags.size() + 1,
                               aws::uriEncode(state->upload_id, false));
      part.body = std::move(state->buffer);
      state->buffer.clear();
      index = state->part_etags.size();
      state->part_etags.emplace_back();
    }
    part.headers = {{"Content-MD5", contentMd5(part.body)}};
    state->client->call(std::move(part), "UploadPart",
                        [state, index, done = std::move(done)](Result<net::HttpResponse> sent) {
                          if (!sent) {
                            done(tl::unexpected(sent.error()));
                            return;
                          }
                          {
                            std::lock_guard lock(state->mutex);
                            state->part_etags[index] = sent->header("etag");
                          }
                          done({}); // not under the lock: the next write() may come inline
                        });
  }

  static ObjectInfo uploadedInfo(const UploadState& state, std::string etag) {
    ObjectInfo info;
    info.key = state.request.key;
    info.size = state.size;
    info.etag = std::move(etag);
    info.last_modified = std::chrono::system_clock::now();
    info.content_type = state.request.content_type;
    info.metadata = state.request.metadata;
    return info;
  }

  static void putObject(const std::shared_ptr<UploadState>& state, Done<ObjectInfo> done) {
    S3Call put;
    put.method = "PUT";
    put.path = state->key_path;
    put.headers = state->objectHeaders();
    put.headers.emplace_back("Content-MD5", contentMd5(state->buffer));
    if (state->request.if_none_match_star) {
      put.headers.emplace_back("If-None-Match", "*");
      put.idempotent = false; // a retry after a lost answer would fail its own condition
    }
    put.body = std::move(state->buffer);
    state->buffer.clear();
    state->client->call(std::move(put), "PutObject",
                        [state, done = std::move(done)](Result<net::HttpResponse> sent) {
                          if (!sent) {
                            done(tl::unexpected(sent.error()));
                            return;
                          }
                          done(uploadedInfo(*state, sent->header("etag")));
                        });
  }

  static void complete(const std::shared_ptr<UploadState>& state, Done<ObjectInfo> done) {
    pugi::xml_document doc;
    pugi::xml_node root = doc.append_child("CompleteMultipartUpload");
    S3Call call;
    {
      std::lock_guard lock(state->mutex);
      for (std::size_t i = 0; i < state->part_etags.size(); ++i) {
        pugi::xml_node part = root.append_child("Part");
        part.append_child("PartNumber").text().set(static_cast<unsigned long long>(i) + 1);
        part.append_child("ETag").text().set(state->part_etags[i].c_str());
      }
      call.query = "uploadId=" + aws::uriEncode(state->upload_id, false);
    }
    std::ostringstream xml;
    doc.save(xml, "", pugi::format_raw | pugi::format_no_declaration);
    call.method = "POST";
    call.path = state->key_path;
    call.body = xml.str();
    call.headers = {{"Content-Type", "application/xml"}};
    if (state->request.if_none_match_star) call.headers.emplace_back("If-None-Match", "*");
    call.idempotent = false;
    state->client->call(std::move(call), "CompleteMultipartUpload",
                        [state, done = std::move(done)](Result<net::HttpResponse> completed) {
                          if (!completed) {
                            failMultipart(*state);
                            done(tl::unexpected(completed.error()));
                            return;
                          }
                          // S3 may fail a completion after its 200 has started: the error is in the
                          // body.
                          pugi::xml_document answer;
                          answer.load_buffer(completed->body.data(), completed->body.size());
                          if (answer.child("Error")) {
                            failMultipart(*state);
                            done(tl::unexpected(s3Error("CompleteMultipartUpload", *completed)));
                            return;
                          }
                          {
                            std::lock_guard lock(state->mutex);
                            state->upload_id.clear(); // complete: nothing to abort
                          }
                          // CompleteMultipartUploadResult (moto names it ...Response): the root's
                          // ETag.
                          std::string etag = answer.document_element().child_value("ETag");
                          done(uploadedInfo(*state, std::move(etag)));
                        });
  }

  std::shared_ptr<UploadState> state_;
};

/// A download in progress, shared with the callback of its ranged GET.
struct DownloadState {
  std::shared_ptr<S3Client> client;
  std::string key_path;
  ObjectInfo info;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  std::uint64_t next = 0; ///< the first byte not fetched yet
  std::uint64_t end = 0;  ///< one past the last byte served
  std::mutex mutex;
  std::string buffer;
  std::size_t used = 0; ///< bytes of buffer already read
};

class S3Download final : public ObjectDownload {
public:
  explicit S3Download(std::shared_ptr<DownloadState> state) : state_(std::move(state)) {}

  const ObjectInfo& info() const override { return state_->info; }
  std::uint64_t offset() const override { return state_->offset; }
  std::uint64_t length() const override { return state_->length; }

  // `done` never runs under the state's lock: the caller's next read() may come inline.
  void read(std::size_t max, Done<std::string> done) override {
    std::shared_ptr<DownloadState> state = state_;
    std::optional<std::string> chunk;
    std::uint64_t first = 0;
    std::uint64_t last = 0;
    {
      std::lock_guard lock(state->mutex);
      chunk = takeBuffered(*state, max);
      if (!chunk && state->next >= state->end) chunk.emplace(); // the end
      first = state->next;
      last = std::min<std::uint64_t>(state->end, state->next + kPartSize) - 1;
    }
    if (chunk) {
      done(std::move(*chunk));
      return;
    }
    S3Call get;
    get.path = state->key_path;
    get.headers = {{"Range", fmt::format("bytes={}-{}", first, last)},
                   {"If-Match", state->info.etag}};
    state->client->call(std::move(get), "GetObject",
                        [state, max, last, done = std::move(done)](Result<net::HttpResponse> got) {
                          if (!got) {
                            if (got.error().code == ErrorCode::kPreconditionFailed) {
                              done(fail(ErrorCode::kUnavailable,
                                        "GetObject: the object was replaced during the read"));
                            } else {
                              done(tl::unexpected(got.error()));
                            }
                            return;
                          }
                          std::optional<std::string> chunk;
                          {
                            std::lock_guard lock(state->mutex);
                            state->buffer = std::move(got->body);
                            state->used = 0;
                            state->next = last + 1;
                            chunk = takeBuffered(*state, max);
                          }
                          if (!chunk) {
                            done(fail(ErrorCode::kUnavailable, "GetObject: an empty range"));
                            return;
                          }
                          done(std::move(*chunk));
                        });
  }

private:
  /// Up to `max` bytes from the buffer; nullopt when it is used up.
  static std::optional<std::string> takeBuffered(DownloadState& state, std::size_t max) {
    if (state.used >= state.buffer.size()) return std::nullopt;
    const std::size_t n = std::min(max, state.buffer.size() - state.used);
    std::string chunk;
    if (state.used == 0 && n == state.buffer.size()) {
      chunk = std::move(state.buffer);
      state.buffer.clear();
    } else {
      chunk = state.buffer.substr(state.used, n);
      state.used += n;
    }
    return chunk;
  }

  std::shared_ptr<DownloadState> state_;
};

/// "bytes first-last/total" -> total.
std::optional<std::uint64_t> totalOfContentRange(const std::string& value) {
  const std::size_t slash = value.rfind('/');
  if (slash == std::string::npos) return std::nullopt;
  return number(std::string_view(value).substr(slash + 1));
}

/// The bytes [offset, offset+length) that `range` asks of an object of `total` bytes, or
/// nullopt when it cannot be served (RFC 9110: nothing of an empty object can be).
std::optional<std::pair<std::uint64_t, std::uint64_t>>
resolveRange(const std::optional<ByteRange>& range, std::uint64_t total) {
  if (!range) return std::make_pair(std::uint64_t{0}, total);
  if (!range->first) {
    if (range->suffix == 0 || total == 0) return std::nullopt;
    const std::uint64_t n = std::min(range->suffix, total);
    return std::make_pair(total - n, n);
  }
  const std::uint64_t first = *range->first;
  if (first >= total) return std::nullopt;
  const std::uint64_t last = std::min(range->last.value_or(total - 1), total - 1);
  if (last < first) return std::nullopt;
  return std::make_pair(first, last - first + 1);
}

class S3ObjectStore final : public ObjectStore {
public:
  explicit S3ObjectStore(std::shared_ptr<S3Client> client) : client_(std::move(client)) {}

  std::string describe() const override { return fmt::format("{}:{}", kType, client_->region()); }

  ObjectFeatures features() const override {
    return {ObjectFeature::kRanges, ObjectFeature::kMetadata, ObjectFeature::kIfNoneMatchPut,
            ObjectFeature::kDelimiterList};
  }

  void put(PutRequest request, Done<std::unique_ptr<ObjectUpload>> done) override {
    auto state = std::make_shared<UploadState>();
    state->client = client_;
    state->key_path = client_->keyPath(request.key);
    state->request = std::move(request);
    done(std::unique_ptr<ObjectUpload>(std::make_unique<S3Upload>(std::move(state))));
  }

  void get(std::string key, std::optional<ByteRange> range,
           Done<std::unique_ptr<ObjectDownload>> done) override {
    if (range && !range->first && range->suffix == 0) {
      done(fail(ErrorCode::kRangeNotSatisfiable, "a suffix range of 0 bytes"));
      return;
    }
    if (range && !range->first && range->suffix > kPartSize) {
      // The last n bytes of an object whose size is not known yet: ask for it first.
      auto client = client_;
      head(key, [client, key, range, done = std::move(done)](Result<ObjectInfo> info) mutable {
        if (!info) {
          done(tl::unexpected(info.error()));
          return;
        }
        const auto span = resolveRange(range, info->size);
        if (!span) {
          done(fail(ErrorCode::kRangeNotSatisfiable, "the range is past the object's end"));
          return;
        }
        fetchFirst(client, std::move(key),
                   ByteRange{span->first, span->first + span->second - 1, 0}, std::move(done),
                   false);
      });
      return;
    }
    fetchFirst(client_, std::move(key), range, std::move(done), false);
  }

  void head(std::string key, Done<ObjectInfo> done) override {
    S3Call call;
    call.method = "HEAD";
    call.path = client_->keyPath(key);
    client_->call(std::move(call), "HeadObject",
                  [key, done = std::move(done)](Result<net::HttpResponse> got) {
                    if (!got) {
                      done(tl::unexpected(got.error()));
                      return;
                    }
                    done(infoFrom(key, *got, number(got->header("content-length")).value_or(0)));
                  });
  }

  void remove(std::string key, Done<void> done) override {
    S3Call call;
    call.method = "DELETE";
    call.path = client_->keyPath(key);
    client_->call(std::move(call), "DeleteObject",
                  [done = std::move(done)](Result<net::HttpResponse> removed) {
                    if (!removed && removed.error().code != ErrorCode::kNotFound) {
                      done(tl::unexpected(removed.error()));
                      return;
                    }
                    done({});
                  });
  }

  void list(ListRequest request, Done<ListResult> done) override {
    std::string token;
    if (!request.cursor.empty()) {
      std::optional<std::string> decoded = local::base64UrlDecode(request.cursor);
      if (!decoded || decoded->size() < 2 || (*decoded)[0] != kCursorVersion) {
        done(fail(ErrorCode::kInvalidArgument, "the cursor is not one this listing gave"));
        return;
      }
      token = decoded->substr(1);
    }
    // Parameters in the order AWS sorts them, which is also how they are signed.
    std::string query;
    if (!token.empty()) query += "continuation-token=" + aws::uriEncode(token, false) + "&";
    if (!request.delimiter.empty()) {
      query += "delimiter=" + aws::uriEncode(request.delimiter, false) + "&";
    }
    query += "encoding-type=url&list-type=2&max-keys=" + std::to_string(request.limit);
    if (!request.prefix.empty()) query += "&prefix=" + aws::uriEncode(request.prefix, false);
    S3Call call;
    call.query = std::move(query);
    client_->call(std::move(call), "ListObjectsV2",
                  [done = std::move(done)](Result<net::HttpResponse> got) {
                    if (!got) {
                      done(tl::unexpected(got.error()));
                      return;
                    }
                    done(parseListing(got->body));
                  });
  }

private:
  /// A url-encoded name from a listing (encoding-type=url keeps any byte XML-safe).
  static std::string urlDecode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '%' && i + 2 < text.size()) {
        std::optional<std::string> byte = local::fromHex(
            std::string{static_cast<char>(std::tolower(static_cast<unsigned char>(text[i + 1]))),
                        static_cast<char>(std::tolower(static_cast<unsigned char>(text[i + 2])))});
        if (byte) {
          out += *byte;
          i += 2;
          continue;
        }
      }
      out += text[i] == '+' ? ' ' : text[i];
    }
    return out;
  }

  static Result<ListResult> parseListing(const std::string& body) {
    pugi::xml_document doc;
    if (!doc.load_buffer(body.data(), body.size())) {
      return fail(ErrorCode::kUnavailable, "ListObjectsV2: the answer is not XML");
    }
    const pugi::xml_node result = doc.child("ListBucketResult");
    if (!result) return fail(ErrorCode::kUnavailable, "ListObjectsV2: no ListBucketResult");
    const bool encoded = std::string_view(result.child_value("EncodingType")) == "url";
    auto name = [encoded](const char* text) {
      return encoded ? urlDecode(text) : std::string(text);
    };
    ListResult out;
    for (pugi::xml_node entry : result.children("Contents")) {
      ObjectInfo info;
      info.key = name(entry.child_value("Key"));
      info.size = number(entry.child_value("Size")).value_or(0);
      info.etag = entry.child_value("ETag");
      info.last_modified = parseIsoDate(entry.child_value("LastModified"));
      out.objects.push_back(std::move(info));
    }
    for (pugi::xml_node prefix : result.children("CommonPrefixes"))
      out.prefixes.push_back(name(prefix.child_value("Prefix")));
    const std::string token = result.child_value("NextContinuationToken");
    if (std::string_view(result.child_value("IsTruncated")) == "true" && !token.empty()) {
      out.next_cursor = local::base64UrlEncode(std::string(1, kCursorVersion) + token);
    }
    return out;
  }

  /// The first ranged GET of a download: the object's description and its first bytes.
  /// `whole`: retrying without a Range header, for an empty object.
  static void fetchFirst(const std::shared_ptr<S3Client>& client, std::string key,
                         std::optional<ByteRange> range, Done<std::unique_ptr<ObjectDownload>> done,
                         bool whole) {
    S3Call call;
    call.path = client->keyPath(key);
    if (!whole) {
      std::uint64_t first = 0;
      std::string header;
      if (range && !range->first) {
        header = fmt::format("bytes=-{}", range->suffix);
      } else {
        first = range ? *range->first : 0;
        std::uint64_t last = first + kPartSize - 1;
        if (range && range->last) last = std::min(last, *range->last);
        header = fmt::format("bytes={}-{}", first, last);
      }
      call.headers = {{"Range", header}};
    }
    client->call(
        std::move(call), "GetObject",
        [client, key, range, whole, done = std::move(done)](Result<net::HttpResponse> got) mutable {
          if (!got) {
            if (got.error().code == ErrorCode::kRangeNotSatisfiable && !range && !whole) {
              // Only an empty object refuses bytes=0-...: read it whole.
              fetchFirst(client, std::move(key), range, std::move(done), true);
              return;
            }
            done(tl::unexpected(got.error()));
            return;
          }
          std::optional<std::uint64_t> total =
              got->status == 206 ? totalOfContentRange(got->header("content-range"))
                                 : std::optional<std::uint64_t>(got->body.size());
          if (!total) {
            done(fail(ErrorCode::kUnavailable, "GetObject: no Content-Range in a 206 answer"));
            return;
          }
          const auto span = resolveRange(range, *total);
          if (!span) {
            done(fail(ErrorCode::kRangeNotSatisfiable, "the range is past the object's end"));
            return;
          }
          auto state = std::make_shared<DownloadState>();
          state->client = client;
          state->key_path = client->keyPath(key);
          state->info = infoFrom(key, *got, *total);
          state->offset = span->first;
          state->length = span->second;
          state->end = span->first + span->second;
          if (got->status == 206) {
            state->buffer = std::move(got->body);
          } else { // the whole object came: keep the bytes asked for
            state->buffer = got->body.substr(span->first, span->second);
          }
          if (state->buffer.size() > span->second) state->buffer.resize(span->second);
          state->next = span->first + state->buffer.size();
          done(std::unique_ptr<ObjectDownload>(std::make_unique<S3Download>(std::move(state))));
        });
  }

  std::shared_ptr<S3Client> client_;
};

/// Makes sure the bucket is there (creating it when asked), so that a wrong name stops the
/// start instead of failing every call.
Result<void> checkBucket(S3Client& client, bool create) {
  S3Call head;
  head.method = "HEAD";
  Result<net::HttpResponse> found = client.callAndWait(head, "HeadBucket");
  if (found) return {};
  if (found.error().code != ErrorCode::kNotFound || !create) {
    return fail(found.error().code,
                fmt::format("S3 bucket \"{}\": {}", client.bucket(), found.error().message));
  }
  S3Call make;
  make.method = "PUT";
  if (client.region() != "us-east-1") {
    make.body = fmt::format("<CreateBucketConfiguration><LocationConstraint>{}</"
                            "LocationConstraint></CreateBucketConfiguration>",
                            client.region());
  }
  Result<net::HttpResponse> created = client.callAndWait(make, "CreateBucket");
  if (!created && created.error().code != ErrorCode::kAlreadyExists) {
    return fail(created.error().code, fmt::format("creating S3 bucket \"{}\": {}", client.bucket(),
                                                  created.error().message));
  }
  return {};
}

} // namespace

Result<std::unique_ptr<ObjectStore>> openObjectStore(const BackendSpec& spec,
                                                     const ObjectStoreConfig& /*config*/,
                                                     const BackendContext& context) {
  static const std::set<std::string> keys = {"region", "bucket", "endpoint", "path_style",
                                             "create"};
  for (const auto& [key, value] : spec.params) {
    if (keys.count(key) == 0) {
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("aws.s3: unknown key \"{}\" (region, bucket, endpoint, path_style, "
                              "create)",
                              key));
    }
  }
  const std::string region = spec.param("region");
  if (region.empty()) return fail(ErrorCode::kInvalidArgument, "aws.s3: region is required");
  const std::string bucket = spec.param("bucket");
  if (bucket.empty()) return fail(ErrorCode::kInvalidArgument, "aws.s3: bucket is required");
  for (const char* flag : {"path_style", "create"}) {
    const std::string value = spec.param(flag);
    if (!value.empty() && value != "true" && value != "false") {
      return fail(ErrorCode::kInvalidArgument, fmt::format("aws.s3: {} is true or false", flag));
    }
  }
  if (context.cloud == nullptr) {
    return fail(ErrorCode::kInternal, "aws.s3: the host gave no HTTP client and credentials");
  }
  Result<aws::CredentialsProvider*> credentials = context.cloud->awsCredentials();
  if (!credentials) return tl::unexpected(credentials.error());
  std::string endpoint = spec.param("endpoint");
  if (endpoint.empty()) endpoint = fmt::format("https://s3.{}.amazonaws.com", region);
  while (endpoint.ends_with('/'))
    endpoint.pop_back();
  auto client = std::make_shared<S3Client>(context.cloud->http(), **credentials, endpoint, region,
                                           bucket, spec.param("path_style") == "true");
  // A bucket that is not there stops the start; an S3 that does not answer does not: the
  // binding's other backends may serve until it does.
  if (auto ok = checkBucket(*client, spec.param("create") == "true");
      !ok && ok.error().code != ErrorCode::kUnavailable) {
    return tl::unexpected(ok.error());
  }
  return std::make_unique<S3ObjectStore>(std::move(client));
}

} // namespace exoflow::backend::aws_s3
