#pragma once
// The values libexoclient sends and returns: plain structs that mirror the JSON of the HTTP
// API v1 (see API.md). JSON values of kv items travel as JSON text (`std::string`), so the
// client never rounds a number and callers pick their own JSON library.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "exoflow/errors.h"

namespace exoflow::client {

/// How a Client reaches the proxy. Defaults suit a proxy on the same host.
struct ClientOptions {
  /// Base URL, `http://host[:port][/prefix]`; IPv6 hosts in brackets. https is not supported
  /// yet.
  std::string endpoint = "http://127.0.0.1:7420";
  /// Bearer token sent on every `/v1` request; empty sends no Authorization header.
  std::string token;
  /// Limit for resolving the host and opening one TCP connection.
  std::chrono::milliseconds connect_timeout{5000};
  /// Limit for each step of a request: sending a piece of the body, waiting for the response
  /// headers, and each read of the response body. Large bodies therefore never time out while
  /// data keeps flowing.
  std::chrono::milliseconds request_timeout{30000};
  /// Added to a receive's `wait` when waiting for the response headers of a long poll.
  std::chrono::milliseconds long_poll_margin{5000};
  /// Idle keep-alive connections kept for reuse; 0 closes each connection after its request.
  std::size_t max_idle_connections = 8;
  /// Sent as `User-Agent`.
  std::string user_agent = "libexoclient/0.1";
};

/// Counters a Client keeps since it was created; useful in tests and for metrics.
struct ClientStats {
  std::uint64_t requests = 0;           ///< HTTP exchanges started (retries included)
  std::uint64_t connections_opened = 0; ///< TCP connections established
  std::uint64_t connections_reused = 0; ///< requests sent on an already open connection
  std::uint64_t stale_connections = 0;  ///< idle connections found closed by the server
  std::uint64_t retries = 0;            ///< requests re-sent after a reused connection broke
};

// ---- Queues ---------------------------------------------------------------------------------

/// One message to send. `body` is UTF-8 text of 1 byte up to the queue's max_message_size.
struct OutgoingMessage {
  std::string body;
  /// At most 10; names `[A-Za-z0-9_.-]{1,256}`.
  std::map<std::string, std::string> attributes;
  /// A dedup_id accepted in the last 5 minutes makes the send return the first message_id.
  std::optional<std::string> dedup_id;
};

/// Options of a receive; out-of-range values are refused by the server (kInvalidArgument).
struct ReceiveOptions {
  int max_messages = 1;                           ///< 1..10
  std::chrono::seconds wait{0};                   ///< 0..20: long poll for up to this long
  std::optional<std::chrono::seconds> visibility; ///< 0..43200; default: the queue's
};

/// A received message. Delete it with `receipt` before its visibility runs out.
struct ReceivedMessage {
  std::string message_id;
  std::string receipt;
  std::string body;
  std::map<std::string, std::string> attributes;
  int receive_count = 0;
};

/// `GET /v1/queues/{queue}`.
struct QueueInfo {
  std::string name;
  std::int64_t approximate_messages = 0;  ///< visible
  std::int64_t approximate_in_flight = 0; ///< invisible (received, not yet deleted)
  std::string backend;
};

// ---- Objects --------------------------------------------------------------------------------

/// Supplies a request body piece by piece: writes up to `capacity` bytes to `buffer` and
/// returns how many it wrote; 0 means the end. An error aborts the request (kAborted).
using BodySource = std::function<Result<std::size_t>(char* buffer, std::size_t capacity)>;

/// Receives a response body piece by piece, in order. An error aborts the transfer and closes
/// the connection; the call then returns that error.
using BodySink = std::function<Result<void>(std::string_view chunk)>;

/// Options of a put.
struct PutObjectOptions {
  /// Sent as Content-Type; the server stores `application/octet-stream` when empty.
  std::string content_type;
  /// Sent as `x-exo-meta-<name>` headers; replaces any earlier metadata. Names are
  /// case-insensitive and come back in lower case.
  std::map<std::string, std::string> metadata;
  /// `If-None-Match: *`: fail with kPreconditionFailed when the key exists.
  bool if_none_match_any = false;
};

/// What a put returns.
struct PutObjectResult {
  std::string etag; ///< opaque, quoted, as the server sent it
  std::uint64_t size = 0;
};

/// A byte range of an object, as HTTP's `Range: bytes=...`.
struct ByteRange {
  /// Bytes first..last, both included.
  static ByteRange between(std::uint64_t first, std::uint64_t last);
  /// Bytes from `first` to the end.
  static ByteRange from(std::uint64_t first);
  /// The last `count` bytes.
  static ByteRange lastBytes(std::uint64_t count);
  /// The header value, e.g. `bytes=0-99`.
  std::string toHeader() const;

  std::optional<std::uint64_t> first; ///< absent for a suffix range
  std::optional<std::uint64_t> last;  ///< absent for an open range; the count for a suffix
};

/// Options of a get.
struct GetObjectOptions {
  std::optional<ByteRange> range;
  /// An ETag (as returned by put/head/get); a match answers "not modified" without a body.
  std::optional<std::string> if_none_match;
};

/// `Content-Range: bytes first-last/total` of a 206 answer.
struct ContentRange {
  std::uint64_t first = 0;
  std::uint64_t last = 0;
  std::uint64_t total = 0;
};

/// An object's headers, as GET and HEAD return them.
struct ObjectInfo {
  std::string etag;
  std::string content_type;
  /// Bytes in this response's body (Content-Length); the full size is `range->total` for 206.
  std::uint64_t content_length = 0;
  std::string last_modified;                   ///< HTTP date, as sent
  std::map<std::string, std::string> metadata; ///< `x-exo-meta-*`, names in lower case
  std::optional<ContentRange> range;           ///< set for 206 Partial Content
  bool not_modified = false;                   ///< 304: If-None-Match matched; no body
  std::string backend;                         ///< `x-exo-backend`
};

/// An object read into memory.
struct ObjectData {
  ObjectInfo info;
  std::string body;
};

/// Options of an object listing.
struct ListObjectsOptions {
  std::string prefix;
  std::string delimiter;
  std::optional<int> limit; ///< 1..1000; the server's default is 1000
  std::string cursor;       ///< `next_cursor` of the previous page
};

/// One entry of an object listing.
struct ObjectSummary {
  std::string key;
  std::uint64_t size = 0;
  std::string etag;
  std::string last_modified; ///< RFC 3339, UTC
};

/// One page of an object listing; keys and prefixes in byte order.
struct ObjectListing {
  std::vector<ObjectSummary> objects;
  std::vector<std::string> prefixes;
  std::optional<std::string> next_cursor; ///< absent on the last page
};

// ---- Key-value tables -----------------------------------------------------------------------

/// Conditions of a kv put. At most one of the two may be set.
struct PutItemOptions {
  /// Succeeds only if the item's current version is this (quoted ETag or bare version).
  std::optional<std::string> if_match;
  /// `If-None-Match: *`: succeeds only if the item does not exist.
  bool if_none_match_any = false;
};

/// A kv item. `value` is JSON text; it equals what was stored up to whitespace.
struct KvItem {
  std::string key;
  std::string value;
  std::string version; ///< bare (unquoted)
};

/// Options of a kv listing.
struct ListItemsOptions {
  std::string prefix;
  std::optional<int> limit; ///< 1..1000; the server's default is 1000
  std::string cursor;
};

/// One page of a kv listing, keys in byte order.
struct KvListing {
  std::vector<KvItem> items;
  std::optional<std::string> next_cursor;
};

// ---- Databases and operations ---------------------------------------------------------------

/// `GET /v1/databases/{db}`.
struct DatabaseCredentials {
  std::string engine;
  std::string host;
  int port = 0;
  std::string database;
  std::string user;
  std::string password;
  std::string sslmode;
};

/// One binding's health in `/readyz`.
struct BindingHealth {
  std::string backend;
  bool healthy = false;
};

/// `GET /readyz`. A 503 is an answer here, not an error: `ready` is false.
struct ReadyStatus {
  bool ready = false;
  std::string status; ///< "ok" | "unavailable"
  std::map<std::string, BindingHealth> bindings;
};

} // namespace exoflow::client
