#pragma once
// The template parameters through which `exoflow deploy` hands each target the files of
// `exoflow certs` its proxies need for the peer listener (mutual TLS) and the app's peer token.
// The templates keep them in the cloud's secret store (Secrets Manager, Key Vault); the
// instances read them from there at start-up.

#include <string_view>

namespace exoflow::synth {

struct PeerParameters {
  std::string_view ca_cert; ///< certs/ca.crt
  std::string_view cert;    ///< certs/<target>.crt
  std::string_view key;     ///< certs/<target>.key
  std::string_view token;   ///< certs/peer-token
};

/// CloudFormation (NoEcho): the PEM files base64-encoded, so that they fit in one JSON string
/// of the secret without escaping; the token as it is.
constexpr PeerParameters kAwsPeerParameters{"PeerCaCertificate", "PeerCertificate",
                                            "PeerPrivateKey", "PeerToken"};
/// ARM (securestring): the PEM files and the token as they are.
constexpr PeerParameters kAzurePeerParameters{"peerCaCertificate", "peerCertificate",
                                              "peerPrivateKey", "peerToken"};

} // namespace exoflow::synth
