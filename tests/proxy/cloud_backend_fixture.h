#pragma once
// What the exo-proxy tests of the cloud backends share: one moto server per test process, a
// config with one binding on one cloud backend, and the check that a paused emulator makes
// calls fail fast with 503 and that the proxy recovers by itself once it runs again.

#include <string>
#include <vector>

#include <sys/types.h>

#include "proxy/proxy_process.h"
#include "support/moto_server.h"

namespace exoflow::proxy::testing {

/// The moto server of this test process, started on first use.
testsupport::MotoServer& sharedMoto();

/// A proxy config with the binding `name` of `kind` served by `backend` (a YAML flow map such
/// as "{type: aws.s3, ...}"), the AWS test credentials moto takes, and `backend_timeout`.
std::string oneBindingConfig(const std::string& name, const std::string& kind,
                             const std::string& backend, const std::string& backend_timeout = "2s");

struct ApiCall {
  std::string method;
  std::string target;
  std::string body;
};

/// Stops the emulator `emulator` (SIGSTOP: a killed one would forget its data) and expects
/// every call to answer 503 Unavailable, naming `backend` in x-exo-backend, well within a bound
/// that only a hang would break; then resumes it (SIGCONT) and expects `recovery` to answer 200
/// again within 10 s, with no restart of the proxy.
void expectUnavailableWhilePausedThenRecovers(const ProxyProcess& proxy, pid_t emulator,
                                              const std::string& backend,
                                              const std::vector<ApiCall>& calls,
                                              const ApiCall& recovery);

/// Expects every call to answer 503 Unavailable naming `backend` (nothing listens at its
/// endpoint).
void expectUnavailable(const ProxyProcess& proxy, const std::string& backend,
                       const std::vector<ApiCall>& calls);

} // namespace exoflow::proxy::testing
