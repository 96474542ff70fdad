#pragma once
// The exo-proxy configuration file, v1 (API.md, "Proxy configuration v1"): reading, `${VAR}`
// expansion, checking with file:line:column diagnostics (the manifest's machinery), and the
// checked result with every default filled in and every relative path made absolute.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "backend/queue.h"
#include "manifest/diagnostic.h"

namespace exoflow::proxy {

/// A host and port to listen on; port 0 lets the system choose.
struct ListenAddress {
  std::string host; ///< as written, without IPv6 brackets ("127.0.0.1", "::1", "0.0.0.0")
  int port = 0;
};

/// Where this proxy runs.
struct Identity {
  std::string cloud = "local"; ///< aws | azure | local
  std::string region;          ///< empty for local
};

/// Mutual TLS material for the peer listener and for calls to peers (absolute paths).
struct TlsFiles {
  std::filesystem::path cert;
  std::filesystem::path key;
  std::filesystem::path ca;
};

/// Bounds on what one client may hold or send. The timeouts are extensions of API.md.
struct Limits {
  std::uint64_t max_body = 5ULL << 30; ///< the largest request body, in bytes
  int max_connections = 4096;          ///< open client connections; more are closed at once
  /// From the first byte of a request to its last header byte (sheds slow-loris clients).
  std::chrono::milliseconds header_timeout{10'000};
  /// How long a keep-alive connection may wait for its next request.
  std::chrono::milliseconds idle_timeout{60'000};
  /// How long a cloud backend's call may take, retries included (a long poll's wait on top);
  /// then it answers 503 (Unavailable).
  std::chrono::milliseconds backend_timeout{10'000};
  /// How long a health check (of a backend or of a peer) may take before it counts as failed;
  /// never more than backend_timeout. Short, so that a backend that stopped answering is taken
  /// out in seconds while the calls already waiting on it run to backend_timeout.
  std::chrono::milliseconds check_timeout{1'500};
};

enum class BindingKind { kQueue, kObjects, kKv, kDatabase };
enum class Replication { kNone, kAsync, kSync };

/// The API's word for a kind: "queue", "objects", "kv", "database".
std::string_view bindingKindName(BindingKind kind);

/// One entry of a binding's `backends` list.
struct BackendEntry {
  backend::BackendSpec spec; ///< params hold every key but `type`, as text; paths absolute
  manifest::Mark mark;       ///< where the entry starts, for errors found after checking
};

/// A named service the proxy serves, with its ordered backends (the first healthy one serves).
struct Binding {
  std::string name;
  BindingKind kind = BindingKind::kQueue;
  backend::QueueOptions queue; ///< kind queue; dead_letter_queue is "<name>-dlq" when set
  bool versioning = false;     ///< kind objects
  Replication replication = Replication::kNone;
  std::vector<BackendEntry> backends; ///< at least one
};

/// Another proxy reachable over mutual TLS.
struct Peer {
  std::string name;
  std::string url; ///< https://host:port
  std::string cloud;
  std::string region;
  std::string token;
  /// Lower is preferred; peers of equal priority are tried nearest first (an extension).
  int priority = 0;
};

/// How the cloud backends authenticate: the source and its keys as written.
struct CredentialSource {
  std::string source;
  std::map<std::string, std::string> params;
};

/// The checked configuration.
struct ProxyConfig {
  ListenAddress listen;
  Identity identity;
  std::string token;
  std::optional<ListenAddress> peer_listen;
  std::optional<TlsFiles> tls;
  std::string peer_token;
  std::filesystem::path data_dir; ///< absolute
  Limits limits;
  std::map<std::string, Binding> bindings;
  std::map<std::string, Peer> peers;
  CredentialSource aws_credentials{"chain", {}};
  CredentialSource azure_credentials{"managed_identity", {}};
};

/// The backend types this build has, per kind (from backend::Registry), sorted.
struct AvailableTypes {
  std::vector<std::string> queue;
  std::vector<std::string> objects;
  std::vector<std::string> kv;
};

/// Looks up an environment variable; nullopt when it is unset.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

/// The process environment (getenv).
EnvLookup processEnvironment();

struct ConfigOptions {
  std::filesystem::path base_dir; ///< relative paths are taken from here (the file's folder)
  EnvLookup env;                  ///< null: the process environment
  AvailableTypes available;
};

/// The checked config (only when there are no errors) and every diagnostic, sorted.
struct ConfigLoad {
  std::optional<ProxyConfig> config;
  std::vector<manifest::Diagnostic> diagnostics;
};

/// Checks config text named `file_name` in diagnostics. Never throws.
ConfigLoad checkProxyConfig(std::string_view file_name, std::string bytes,
                            const ConfigOptions& options);

/// Reads and checks a config file; relative paths are relative to its folder. A file that
/// cannot be read gives one diagnostic at 1:1.
ConfigLoad loadProxyConfig(const std::filesystem::path& path, const AvailableTypes& available,
                           const EnvLookup& env = nullptr);

} // namespace exoflow::proxy
