#pragma once
// Certificates for the peer listener's mutual TLS: a private CA, and per proxy a certificate
// that serves as both its server and its client certificate, signed by that CA. EC P-256 keys,
// SHA-256 signatures (OpenSSL 3).

#include <filesystem>
#include <string>
#include <vector>

#include "common/error.h"

namespace exoflow::net {

/// A certificate and its private key, PEM.
struct PemPair {
  std::string cert;
  std::string key;
};

inline constexpr int kCertDays = 825;

/// A self-signed CA named `name`.
Result<PemPair> makeCa(const std::string& name, int days = kCertDays);

/// A certificate for `name` signed by `ca`, for TLS servers and clients alike. Its SANs are
/// `dns_names` and `ip_addresses` (textual IPv4 or IPv6).
Result<PemPair> makeLeaf(const PemPair& ca, const std::string& name,
                         const std::vector<std::string>& dns_names,
                         const std::vector<std::string>& ip_addresses, int days = kCertDays);

/// Writes `text` to `path` with the given permission bits (0600 for keys), replacing the file.
Result<void> writePemFile(const std::filesystem::path& path, const std::string& text,
                          std::filesystem::perms perms);

} // namespace exoflow::net
