#pragma once
// The files `exoflow deploy` hands each target for the proxies' peer listener: the CA and the
// target's certificate and key written by `exoflow certs`, and the app's peer token
// (certs/peer-token, one for every target). They reach the templates as secret parameters,
// which go to the cloud CLIs in a file only this user can read, never on a command line.

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include <tl/expected.hpp>

namespace exoflow::deploy {

/// The token file in the certs folder.
constexpr std::string_view kPeerTokenFile = "peer-token";
/// What --dry-run prints instead of a secret value.
constexpr std::string_view kMasked = "****";

struct PeerFiles {
  std::string ca_cert; ///< PEM
  std::string cert;    ///< PEM
  std::string key;     ///< PEM
  std::string token;   ///< one line, no newline
};

/// A new peer token: 32 bytes from the system's random source, as 64 hex digits.
tl::expected<std::string, std::string> makePeerToken();

/// Writes DIR/peer-token (0600) with a new token when it is missing (or `replace`). True when
/// it wrote one.
tl::expected<bool, std::string> ensurePeerToken(const std::filesystem::path& dir, bool replace);

/// Reads DIR/ca.crt, DIR/<peer>.crt, DIR/<peer>.key and DIR/peer-token. The error names the
/// missing file and the `exoflow certs` command that makes it. A missing token alone is not
/// an error when `token_optional` (the token is then empty).
tl::expected<PeerFiles, std::string> readPeerFiles(const std::filesystem::path& dir,
                                                   const std::string& peer, bool token_optional);

/// readPeerFiles for a deploy: a missing token is written first (0600), or on a dry run
/// announced through `print` (once: `noted` remembers it) and left empty.
tl::expected<PeerFiles, std::string>
loadPeerFiles(const std::filesystem::path& dir, const std::string& peer, bool dry_run,
              const std::function<void(const std::string&)>& print, bool& noted);

/// Standard base64 with padding, no line breaks.
std::string base64(std::string_view data);

/// A file only this user can read, in a folder only this user can enter, removed with the
/// object: the parameters of one cloud CLI call that carry secret values.
class PrivateFile {
public:
  /// Writes `content` to <temp dir>/exoflow-XXXXXX/<name>.
  static tl::expected<PrivateFile, std::string> write(const std::string& name,
                                                      const std::string& content);
  PrivateFile(PrivateFile&& other) noexcept;
  PrivateFile& operator=(PrivateFile&& other) = delete;
  PrivateFile(const PrivateFile&) = delete;
  PrivateFile& operator=(const PrivateFile&) = delete;
  ~PrivateFile();
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

private:
  PrivateFile() = default;
  std::filesystem::path dir_;
  std::filesystem::path path_;
};

} // namespace exoflow::deploy
