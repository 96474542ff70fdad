// The peer listener's TLS files and token on AWS: NoEcho parameters that `exoflow deploy`
// fills from certs/, one Secrets Manager secret per target holding them, and the lines of the
// user data that write them to /etc/exoflow/tls.
#include <fmt/format.h>

#include "synth/aws/aws.h"
#include "synth/peer_parameters.h"
#include "synth/proxy_config.h"

namespace exoflow::synth::aws {

namespace {

constexpr auto kNames = kAwsPeerParameters;

Json secretParameter(std::string_view pattern, std::string_view what,
                     std::string_view description) {
  return {{"Type", "String"},
          {"NoEcho", true},
          {"AllowedPattern", pattern},
          {"ConstraintDescription", what},
          {"Description", description}};
}

} // namespace

void addPeerSecretParameters(CfnTemplate& t, const model::Target& self) {
  constexpr std::string_view kBase64 = "^[A-Za-z0-9+/]+={0,2}$";
  constexpr std::string_view kBase64Text = "base64 without line breaks";
  const std::string peer = peerName(self);
  t.addParameter(
      kNames.ca_cert,
      secretParameter(kBase64, kBase64Text,
                      "certs/ca.crt of exoflow certs, base64 (exoflow deploy passes it)"));
  t.addParameter(kNames.cert,
                 secretParameter(kBase64, kBase64Text,
                                 fmt::format("certs/{}.crt of exoflow certs, base64", peer)));
  t.addParameter(kNames.key,
                 secretParameter(kBase64, kBase64Text,
                                 fmt::format("certs/{}.key of exoflow certs, base64", peer)));
  t.addParameter(kNames.token,
                 secretParameter("^[A-Za-z0-9._~-]{32,}$",
                                 "at least 32 letters, digits, '.', '_', '~' or '-'",
                                 "certs/peer-token: the token every target's proxies present "
                                 "to each other"));
}

void addPeerSecret(CfnTemplate& t, const model::App& app, const model::Target& self) {
  // Only the instances of this target read it (the instance role names it alone).
  t.addResource(
      kPeerSecret, "AWS::SecretsManager::Secret",
      {{"Description", fmt::format("Peer TLS files and token of the proxies of app {} on aws {} "
                                   "(from exoflow deploy)",
                                   app.name, self.region)},
       {"SecretString",
        sub(fmt::format(R"({{"ca":"${{{}}}","cert":"${{{}}}","key":"${{{}}}","token":"${{{}}}"}})",
                        kNames.ca_cert, kNames.cert, kNames.key, kNames.token))}});
}

std::string peerSecretFetch() {
  // umask 077 is in force: the key and the token come out 0600; the certificates are public.
  return fmt::format(
      "aws secretsmanager get-secret-value --secret-id \"${{{}}}\" --query SecretString --output "
      "text | python3 -c 'import base64,json,sys; s=json.load(sys.stdin); "
      "[open(\"/etc/exoflow/tls/\"+f,\"wb\").write(base64.b64decode(s[k])) for k,f in "
      "((\"ca\",\"ca.crt\"),(\"cert\",\"proxy.crt\"),(\"key\",\"proxy.key\"))]; "
      "open(\"/etc/exoflow/tls/peer-token\",\"w\").write(s[\"token\"])'\n"
      "chmod 644 /etc/exoflow/tls/ca.crt /etc/exoflow/tls/proxy.crt\n",
      kPeerSecret);
}

} // namespace exoflow::synth::aws
