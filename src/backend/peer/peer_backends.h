#pragma once
// peer: queues, objects and kv served by another exo-proxy, reached over HTTPS with mutual TLS
// on its peer listener (API.md, "Proxy configuration v1"). Each call is the Exo HTTP API v1
// call that means the same thing, so receipts, cursors, ETags, versions, attributes, dedup ids
// and metadata pass through as the far side gives them.
//
// Spec keys: `peer` (a name under `peers`, required) and `name` (the binding's name at the
// peer; default the local binding's name). The peer's URL and token come from `peers`, the
// client certificate, key and the CA that the peer's certificate must chain to from `tls`.
//
// Object bodies stream both ways: an upload goes out as the body of one PUT while it arrives
// (with Content-Length when the size is known, else chunked), a download is read in ranged
// GETs of kPieceSize, each checked against the first one's ETag, so an object replaced
// mid-download fails the download instead of mixing two bodies.
//
// Errors: the peer's API error codes come back as they are; a connection that fails or times
// out is kUnavailable, as is an answer that is not the API's.

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "backend/kv_store.h"
#include "backend/object_store.h"
#include "backend/queue.h"
#include "net/http_client.h"

namespace exoflow::backend {

/// Another proxy as the `peers` section names it.
struct PeerTarget {
  std::string url;   ///< https://host:port
  std::string token; ///< presented as a bearer token
};

/// The mutual TLS material of `tls` (absolute paths).
struct PeerTls {
  std::filesystem::path cert;
  std::filesystem::path key;
  std::filesystem::path ca;
};

/// What the peer backends of one process share: the peers, and one HTTPS client that presents
/// the proxy's certificate and trusts only the peers' CA, made on first use.
class PeerLinks {
public:
  PeerLinks(std::map<std::string, PeerTarget> peers, std::optional<PeerTls> tls,
            net::HttpClientOptions http);
  ~PeerLinks();
  PeerLinks(const PeerLinks&) = delete;
  PeerLinks& operator=(const PeerLinks&) = delete;

  /// kInvalidArgument when `name` is not a peer.
  Result<PeerTarget> peer(const std::string& name) const;
  /// kInvalidArgument without TLS material.
  Result<net::HttpClient*> http();

private:
  std::map<std::string, PeerTarget> peers_;
  std::optional<PeerTls> tls_;
  net::HttpClientOptions options_;
  std::mutex mutex_;
  std::unique_ptr<net::HttpClient> http_;
};

namespace peer {

inline constexpr std::string_view kType = "peer";

/// How many bytes one ranged GET of a download asks for: what a download holds in memory.
inline constexpr std::uint64_t kPieceSize = std::uint64_t{4} << 20;

Result<std::unique_ptr<Queue>> openQueue(const BackendSpec& spec, const QueueConfig& config,
                                         const BackendContext& context);
Result<std::unique_ptr<ObjectStore>> openObjectStore(const BackendSpec& spec,
                                                     const ObjectStoreConfig& config,
                                                     const BackendContext& context);
Result<std::unique_ptr<KvStore>> openKvStore(const BackendSpec& spec, const KvStoreConfig& config,
                                             const BackendContext& context);

} // namespace peer
} // namespace exoflow::backend
