#pragma once
// libexoclient: a small synchronous client for exo-proxy's HTTP API v1 (queues, objects, kv
// tables, databases, health). Every call blocks until the answer is read or a timeout passes
// and returns a Result; nothing throws.
//
// Connections: a Client keeps idle HTTP/1.1 keep-alive connections in a pool and reuses them.
// When the server has closed an idle connection, the next request opens a new one without the
// caller noticing; a request whose reused connection breaks mid-way is re-sent once on a new
// connection only when that is safe (nothing of it was sent, or the method is idempotent and
// its body can be sent again).
//
// Thread-safety: a Client may be shared by any number of threads. Each call takes a connection
// of its own from the pool (opening one when none is idle), so concurrent calls run in
// parallel; the pool is guarded by a mutex. BodySource and BodySink callbacks run on the
// calling thread.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "exoflow/errors.h"
#include "exoflow/types.h"

namespace exoflow::client {

/// A connection to one exo-proxy. Movable, not copyable.
class Client {
public:
  /// A client for `options.endpoint`; fails with kInvalidArgument on a malformed or non-http
  /// endpoint. No connection is opened until the first call.
  static Result<Client> create(ClientOptions options);

  /// A client for `EXO_ENDPOINT` (default http://127.0.0.1:7420) with the token in
  /// `EXO_TOKEN`; the other settings come from `options`.
  static Result<Client> fromEnvironment(ClientOptions options = {});

  Client(Client&& other) noexcept;
  Client& operator=(Client&& other) noexcept;
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  ~Client();

  /// The options the client was created with (endpoint as given).
  const ClientOptions& options() const;

  /// Counters since creation: requests, connections opened and reused, retries.
  ClientStats stats() const;

  // ---- Queues -------------------------------------------------------------------------------

  /// Sends 1..10 messages in one request; returns their message ids in request order.
  Result<std::vector<std::string>> sendMessages(std::string_view queue,
                                                const std::vector<OutgoingMessage>& messages);

  /// Sends one message; returns its message id.
  Result<std::string> sendMessage(std::string_view queue, const OutgoingMessage& message);

  /// Receives up to `options.max_messages`, long-polling for up to `options.wait`. An empty
  /// vector means nothing arrived in time. The request timeout is extended by the wait.
  Result<std::vector<ReceivedMessage>> receiveMessages(std::string_view queue,
                                                       const ReceiveOptions& options = {});

  /// Deletes the message a receive returned. A stale or already used receipt may answer
  /// success or kNotFound (clouds differ); it never deletes a newer delivery.
  Result<void> deleteMessage(std::string_view queue, std::string_view receipt);

  /// Deletes 1..10 messages in one request (`POST /v1/queues/{queue}/messages/delete`): one
  /// result per receipt, in order, each as deleteMessage() would give it. The call itself
  /// fails when the batch was refused or the backend could not be reached; sending the same
  /// receipts again is harmless.
  Result<std::vector<Result<void>>> deleteMessages(std::string_view queue,
                                                   const std::vector<std::string>& receipts);

  /// Keeps the message invisible for `visibility` from now; 0 makes it visible at once.
  Result<void> changeVisibility(std::string_view queue, std::string_view receipt,
                                std::chrono::seconds visibility);

  /// Approximate counts and the serving backend of one queue.
  Result<QueueInfo> queueInfo(std::string_view queue);

  /// Names of all queues, dead-letter queues included.
  Result<std::vector<std::string>> listQueues();

  // ---- Objects ------------------------------------------------------------------------------

  /// Stores `body` under `key` (any UTF-8 name of 1..1024 bytes; `/`, `..` are literal).
  Result<PutObjectResult> putObject(std::string_view bucket, std::string_view key,
                                    std::string_view body, const PutObjectOptions& options = {});

  /// Streams the file at `path` as the object's body, never holding it in memory whole.
  Result<PutObjectResult> putObjectFromFile(std::string_view bucket, std::string_view key,
                                            const std::filesystem::path& path,
                                            const PutObjectOptions& options = {});

  /// Streams `in` to its end as the object's body. With `size` the body is sent with a
  /// Content-Length and must hold exactly that many bytes; without it, chunked.
  Result<PutObjectResult> putObjectFromStream(std::string_view bucket, std::string_view key,
                                              std::istream& in,
                                              std::optional<std::uint64_t> size = std::nullopt,
                                              const PutObjectOptions& options = {});

  /// Streams what `source` produces as the object's body (`size` as for putObjectFromStream).
  /// A put from a source is never re-sent automatically, since the source cannot rewind.
  Result<PutObjectResult> putObjectFromSource(std::string_view bucket, std::string_view key,
                                              const BodySource& source,
                                              std::optional<std::uint64_t> size = std::nullopt,
                                              const PutObjectOptions& options = {});

  /// Reads an object (or a range of it) into memory. With `if_none_match` matching, returns
  /// `info.not_modified` and an empty body.
  Result<ObjectData> getObject(std::string_view bucket, std::string_view key,
                               const GetObjectOptions& options = {});

  /// Streams an object's body to `sink` as it arrives; returns its headers.
  Result<ObjectInfo> getObjectToSink(std::string_view bucket, std::string_view key,
                                     const BodySink& sink, const GetObjectOptions& options = {});

  /// Streams an object's body to `out`; fails with kAborted when `out` fails.
  Result<ObjectInfo> getObjectToStream(std::string_view bucket, std::string_view key,
                                       std::ostream& out, const GetObjectOptions& options = {});

  /// An object's headers without its body (HEAD); kNotFound when it does not exist.
  Result<ObjectInfo> headObject(std::string_view bucket, std::string_view key);

  /// Deletes an object; succeeds also when it did not exist.
  Result<void> deleteObject(std::string_view bucket, std::string_view key);

  /// One page of a bucket's objects; follow `next_cursor` for the next one.
  Result<ObjectListing> listObjects(std::string_view bucket,
                                    const ListObjectsOptions& options = {});

  // ---- Key-value tables ---------------------------------------------------------------------

  /// Stores the JSON text `json_value` (up to 256 KiB) under `key`; returns the new version.
  /// kPreconditionFailed when a condition in `options` fails.
  Result<std::string> putItem(std::string_view table, std::string_view key,
                              std::string_view json_value, const PutItemOptions& options = {});

  /// Reads an item: its JSON text and version; kNotFound when it does not exist.
  Result<KvItem> getItem(std::string_view table, std::string_view key);

  /// Deletes an item (success also when it did not exist). With `if_match`, only if the
  /// item's version matches; kPreconditionFailed otherwise.
  Result<void> deleteItem(std::string_view table, std::string_view key,
                          std::optional<std::string> if_match = std::nullopt);

  /// One page of a table's items in key order; follow `next_cursor` for the next one.
  Result<KvListing> listItems(std::string_view table, const ListItemsOptions& options = {});

  // ---- Databases and operations -------------------------------------------------------------

  /// Connection details of a database binding, from the cloud's secret store.
  Result<DatabaseCredentials> databaseCredentials(std::string_view database);

  /// `GET /healthz`: success while the proxy serves.
  Result<void> health();

  /// `GET /readyz`: whether every binding has a reachable backend (a 503 is `ready == false`).
  Result<ReadyStatus> ready();

  /// `GET /v1/status` as JSON text (bindings, backends, peers, replication lag).
  Result<std::string> status();

  /// `GET /metrics` in the Prometheus text format.
  Result<std::string> metrics();

  /// The implementation (src/client/client_impl.h); declared here only so the library's own
  /// sources can name it. Not part of the API.
  class Impl;

private:
  explicit Client(std::unique_ptr<Impl> impl);

  std::unique_ptr<Impl> impl_;
};

} // namespace exoflow::client
