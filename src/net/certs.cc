#include "net/certs.h"

#include <memory>

#include <fcntl.h>
#include <fmt/format.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

namespace exoflow::net {
namespace {

struct Free {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
  void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
};
using Key = std::unique_ptr<EVP_PKEY, Free>;
using Cert = std::unique_ptr<X509, Free>;
using Bio = std::unique_ptr<BIO, Free>;

tl::unexpected<Error> opensslError(std::string_view what) {
  const unsigned long code = ERR_get_error();
  std::string reason = code == 0 ? "unknown error" : ERR_error_string(code, nullptr);
  ERR_clear_error();
  return fail(ErrorCode::kInternal, fmt::format("{}: {}", what, reason));
}

std::string bioText(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  return size > 0 ? std::string(data, static_cast<std::size_t>(size)) : std::string();
}

Result<PemPair> toPem(X509* cert, EVP_PKEY* key) {
  Bio cert_bio(BIO_new(BIO_s_mem()));
  Bio key_bio(BIO_new(BIO_s_mem()));
  if (!cert_bio || !key_bio || PEM_write_bio_X509(cert_bio.get(), cert) != 1 ||
      PEM_write_bio_PrivateKey(key_bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return opensslError("cannot write PEM");
  }
  return PemPair{bioText(cert_bio.get()), bioText(key_bio.get())};
}

/// Adds the extension `nid` = `value` (OpenSSL's config syntax), issued by `issuer`.
bool addExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  std::unique_ptr<X509_EXTENSION, Free> ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  return ext && X509_add_ext(cert, ext.get(), -1) == 1;
}

/// A certificate for `name` with a new P-256 key, valid from now for `days`, not yet signed.
Result<std::pair<Cert, Key>> newCertificate(const std::string& name, int days) {
  Key key(EVP_EC_gen("P-256"));
  Cert cert(X509_new());
  if (!key || !cert) return opensslError("cannot make a key");
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1) return opensslError("cannot make a serial number");
  serial[0] &= 0x7F; // positive
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  const bool ok = bn != nullptr && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get())) &&
                  X509_set_version(cert.get(), 2) == 1 &&
                  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) != nullptr &&
                  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 86400L * days) != nullptr &&
                  X509_set_pubkey(cert.get(), key.get()) == 1;
  BN_free(bn);
  X509_NAME* subject = X509_get_subject_name(cert.get());
  if (!ok || X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                                        reinterpret_cast<const unsigned char*>(name.c_str()), -1,
                                        -1, 0) != 1) {
    return opensslError("cannot fill in the certificate");
  }
  return std::pair{std::move(cert), std::move(key)};
}

Result<Key> readKey(const std::string& pem) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Key key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return opensslError("cannot read the CA key");
  return key;
}

Result<Cert> readCert(const std::string& pem) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Cert cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) return opensslError("cannot read the CA certificate");
  return cert;
}

} // namespace

Result<PemPair> makeCa(const std::string& name, int days) {
  auto made = newCertificate(name, days);
  if (!made) return tl::unexpected(made.error());
  auto& [cert, key] = *made;
  X509* c = cert.get();
  if (X509_set_issuer_name(c, X509_get_subject_name(c)) != 1 ||
      !addExtension(c, c, NID_basic_constraints, "critical,CA:TRUE") ||
      !addExtension(c, c, NID_key_usage, "critical,keyCertSign,cRLSign") ||
      !addExtension(c, c, NID_subject_key_identifier, "hash") ||
      X509_sign(c, key.get(), EVP_sha256()) == 0) {
    return opensslError("cannot make the CA certificate");
  }
  return toPem(c, key.get());
}

Result<PemPair> makeLeaf(const PemPair& ca, const std::string& name,
                         const std::vector<std::string>& dns_names,
                         const std::vector<std::string>& ip_addresses, int days) {
  auto ca_cert = readCert(ca.cert);
  if (!ca_cert) return tl::unexpected(ca_cert.error());
  auto ca_key = readKey(ca.key);
  if (!ca_key) return tl::unexpected(ca_key.error());
  auto made = newCertificate(name, days);
  if (!made) return tl::unexpected(made.error());
  auto& [cert, key] = *made;
  X509* c = cert.get();
  std::string sans;
  for (const std::string& dns : dns_names)
    sans += fmt::format("{}DNS:{}", sans.empty() ? "" : ",", dns);
  for (const std::string& ip : ip_addresses)
    sans += fmt::format("{}IP:{}", sans.empty() ? "" : ",", ip);
  if (X509_set_issuer_name(c, X509_get_subject_name(ca_cert->get())) != 1 ||
      !addExtension(c, ca_cert->get(), NID_basic_constraints, "critical,CA:FALSE") ||
      !addExtension(c, ca_cert->get(), NID_key_usage, "critical,digitalSignature,keyAgreement") ||
      !addExtension(c, ca_cert->get(), NID_ext_key_usage, "serverAuth,clientAuth") ||
      !addExtension(c, ca_cert->get(), NID_authority_key_identifier, "keyid") ||
      (!sans.empty() && !addExtension(c, ca_cert->get(), NID_subject_alt_name, sans)) ||
      X509_sign(c, ca_key->get(), EVP_sha256()) == 0) {
    return opensslError(fmt::format("cannot make the certificate for {}", name));
  }
  return toPem(c, key.get());
}

Result<void> writePemFile(const std::filesystem::path& path, const std::string& text,
                          std::filesystem::perms perms) {
  // Created with its final permissions, so a key is never readable by others, not even briefly.
  const std::filesystem::path temp = path.string() + ".tmp";
  const int fd =
      ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, static_cast<mode_t>(perms));
  if (fd < 0) {
    return fail(ErrorCode::kUnavailable, fmt::format("cannot write {}", temp.string()));
  }
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                       ::fchmod(fd, static_cast<mode_t>(perms)) == 0;
  ::close(fd);
  std::error_code ec;
  if (written) std::filesystem::rename(temp, path, ec);
  if (!written || ec) {
    std::filesystem::remove(temp, ec);
    return fail(ErrorCode::kUnavailable, fmt::format("cannot write {}", path.string()));
  }
  return {};
}

} // namespace exoflow::net
