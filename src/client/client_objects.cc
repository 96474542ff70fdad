// The object routes of the Client: /v1/buckets/{bucket}/objects/...

#include <charconv>
#include <fstream>
#include <istream>
#include <ostream>

#include "client/client_impl.h"
#include "client/response.h"

namespace exoflow::client {

using detail::decodeJson;
using detail::HttpRequest;
using detail::HttpResponse;
using nlohmann::json;

namespace {

constexpr std::string_view kMetaPrefix = "x-exo-meta-";

std::string objectsPath(std::string_view bucket) {
  return detail::resourcePath("buckets", bucket) + "/objects";
}

std::string objectPath(std::string_view bucket, std::string_view key) {
  return objectsPath(bucket) + "/" + detail::encodePathSegment(key);
}

bool parseNumber(std::string_view text, std::uint64_t& value) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && end == text.data() + text.size() && !text.empty();
}

// `bytes first-last/total`; false for anything else (e.g. `bytes */total` of a 416).
bool parseContentRange(std::string_view text, ContentRange& range) {
  constexpr std::string_view kUnit = "bytes ";
  if (text.substr(0, kUnit.size()) != kUnit) return false;
  text.remove_prefix(kUnit.size());
  const auto dash = text.find('-');
  const auto slash = text.find('/');
  if (dash == std::string_view::npos || slash == std::string_view::npos || slash < dash) {
    return false;
  }
  return parseNumber(text.substr(0, dash), range.first) &&
         parseNumber(text.substr(dash + 1, slash - dash - 1), range.last) &&
         parseNumber(text.substr(slash + 1), range.total);
}

Result<ObjectInfo> objectInfo(const HttpResponse& response) {
  ObjectInfo info;
  info.not_modified = response.status == 304;
  for (const detail::HttpHeader& header : response.headers) {
    if (header.name == "etag") {
      info.etag = header.value;
    } else if (header.name == "content-type") {
      info.content_type = header.value;
    } else if (header.name == "content-length") {
      if (!parseNumber(header.value, info.content_length)) {
        return fail(ErrorCode::kProtocolError, "bad Content-Length '" + header.value + "'");
      }
    } else if (header.name == "last-modified") {
      info.last_modified = header.value;
    } else if (header.name == "x-exo-backend") {
      info.backend = header.value;
    } else if (header.name.size() > kMetaPrefix.size() &&
               header.name.compare(0, kMetaPrefix.size(), kMetaPrefix) == 0) {
      info.metadata[header.name.substr(kMetaPrefix.size())] = header.value;
    } else if (header.name == "content-range" && response.status == 206) {
      ContentRange range;
      if (!parseContentRange(header.value, range)) {
        return fail(ErrorCode::kProtocolError, "bad Content-Range '" + header.value + "'");
      }
      info.range = range;
    }
  }
  return info;
}

HttpRequest getRequest(Client::Impl& impl, std::string method, std::string_view bucket,
                       std::string_view key, const GetObjectOptions& options) {
  HttpRequest request = impl.request(std::move(method), objectPath(bucket, key));
  if (options.range) request.headers.push_back({"Range", options.range->toHeader()});
  if (options.if_none_match) request.headers.push_back({"If-None-Match", *options.if_none_match});
  return request;
}

Result<PutObjectResult> sendPut(Client::Impl& impl, HttpRequest& request,
                                const PutObjectOptions& options) {
  request.has_body = true;
  request.headers.push_back({"Content-Type", options.content_type.empty()
                                                 ? "application/octet-stream"
                                                 : options.content_type});
  for (const auto& [name, value] : options.metadata) {
    request.headers.push_back({std::string(kMetaPrefix) + name, value});
  }
  if (options.if_none_match_any) request.headers.push_back({"If-None-Match", "*"});
  auto response = impl.call(request, {200, 201});
  if (!response) return tl::unexpected(response.error());
  return decodeJson<PutObjectResult>(*response, [&response](const json& reply) {
    PutObjectResult result;
    result.etag = detail::optionalString(reply, "etag");
    if (const std::string* etag = response->header("etag"); etag && result.etag.empty()) {
      result.etag = *etag;
    }
    result.size = reply.at("size").get<std::uint64_t>();
    return result;
  });
}

} // namespace

ByteRange ByteRange::between(std::uint64_t first, std::uint64_t last) {
  return ByteRange{first, last};
}

ByteRange ByteRange::from(std::uint64_t first) {
  return ByteRange{first, std::nullopt};
}

ByteRange ByteRange::lastBytes(std::uint64_t count) {
  return ByteRange{std::nullopt, count};
}

std::string ByteRange::toHeader() const {
  std::string header = "bytes=";
  if (first) header += std::to_string(*first);
  header += '-';
  if (last) header += std::to_string(*last);
  return header;
}

Result<PutObjectResult> Client::putObject(std::string_view bucket, std::string_view key,
                                          std::string_view body, const PutObjectOptions& options) {
  HttpRequest request = impl_->request("PUT", objectPath(bucket, key));
  request.body = body;
  return sendPut(*impl_, request, options);
}

Result<PutObjectResult> Client::putObjectFromSource(std::string_view bucket, std::string_view key,
                                                    const BodySource& source,
                                                    std::optional<std::uint64_t> size,
                                                    const PutObjectOptions& options) {
  HttpRequest request = impl_->request("PUT", objectPath(bucket, key));
  request.source = &source;
  request.source_size = size;
  request.resendable = false; // a source cannot rewind
  return sendPut(*impl_, request, options);
}

Result<PutObjectResult> Client::putObjectFromStream(std::string_view bucket, std::string_view key,
                                                    std::istream& in,
                                                    std::optional<std::uint64_t> size,
                                                    const PutObjectOptions& options) {
  const BodySource source = [&in](char* buffer, std::size_t capacity) -> Result<std::size_t> {
    if (in.eof()) return 0;
    in.read(buffer, static_cast<std::streamsize>(capacity));
    if (in.bad()) return fail(ErrorCode::kAborted, "reading the body stream failed");
    return static_cast<std::size_t>(in.gcount());
  };
  return putObjectFromSource(bucket, key, source, size, options);
}

Result<PutObjectResult> Client::putObjectFromFile(std::string_view bucket, std::string_view key,
                                                  const std::filesystem::path& path,
                                                  const PutObjectOptions& options) {
  std::error_code ec;
  const std::uint64_t size = std::filesystem::file_size(path, ec);
  if (ec) return fail(ErrorCode::kAborted, path.string() + ": " + ec.message());
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(ErrorCode::kAborted, path.string() + ": cannot open");
  return putObjectFromStream(bucket, key, in, size, options);
}

Result<ObjectData> Client::getObject(std::string_view bucket, std::string_view key,
                                     const GetObjectOptions& options) {
  auto response = impl_->call(getRequest(*impl_, "GET", bucket, key, options), {200, 206, 304});
  if (!response) return tl::unexpected(response.error());
  Result<ObjectInfo> info = objectInfo(*response);
  if (!info) return tl::unexpected(info.error());
  return ObjectData{std::move(*info), std::move(response->body)};
}

Result<ObjectInfo> Client::getObjectToSink(std::string_view bucket, std::string_view key,
                                           const BodySink& sink, const GetObjectOptions& options) {
  auto response =
      impl_->call(getRequest(*impl_, "GET", bucket, key, options), {200, 206, 304}, &sink);
  if (!response) return tl::unexpected(response.error());
  return objectInfo(*response);
}

Result<ObjectInfo> Client::getObjectToStream(std::string_view bucket, std::string_view key,
                                             std::ostream& out, const GetObjectOptions& options) {
  const BodySink sink = [&out](std::string_view chunk) -> Result<void> {
    out.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    if (!out) return fail(ErrorCode::kAborted, "writing the body stream failed");
    return {};
  };
  return getObjectToSink(bucket, key, sink, options);
}

Result<ObjectInfo> Client::headObject(std::string_view bucket, std::string_view key) {
  auto response = impl_->call(getRequest(*impl_, "HEAD", bucket, key, {}), {200});
  if (!response) return tl::unexpected(response.error());
  return objectInfo(*response);
}

Result<void> Client::deleteObject(std::string_view bucket, std::string_view key) {
  auto response = impl_->call(impl_->request("DELETE", objectPath(bucket, key)), {204, 200});
  if (!response) return tl::unexpected(response.error());
  return {};
}

Result<ObjectListing> Client::listObjects(std::string_view bucket,
                                          const ListObjectsOptions& options) {
  detail::QueryBuilder query;
  query.addIfNotEmpty("prefix", options.prefix);
  query.addIfNotEmpty("delimiter", options.delimiter);
  if (options.limit) query.add("limit", std::to_string(*options.limit));
  query.addIfNotEmpty("cursor", options.cursor);
  auto response = impl_->call(impl_->request("GET", objectsPath(bucket) + query.str()));
  if (!response) return tl::unexpected(response.error());
  return decodeJson<ObjectListing>(*response, [](const json& reply) {
    ObjectListing listing;
    for (const json& entry : reply.at("objects")) {
      ObjectSummary summary;
      summary.key = entry.at("key").get<std::string>();
      summary.size = entry.at("size").get<std::uint64_t>();
      summary.etag = detail::optionalString(entry, "etag");
      summary.last_modified = detail::optionalString(entry, "last_modified");
      listing.objects.push_back(std::move(summary));
    }
    if (const auto prefixes = reply.find("prefixes"); prefixes != reply.end()) {
      listing.prefixes = prefixes->get<std::vector<std::string>>();
    }
    if (const auto cursor = reply.find("next_cursor");
        cursor != reply.end() && cursor->is_string()) {
      listing.next_cursor = cursor->get<std::string>();
    }
    return listing;
  });
}

} // namespace exoflow::client
