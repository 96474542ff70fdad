#include "proxy/cloud_backend_fixture.h"

#include <chrono>
#include <csignal>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace exoflow::proxy::testing {
namespace {

void expectUnavailableAnswer(const HttpResponse& r, const ApiCall& call,
                             const std::string& backend) {
  EXPECT_EQ(r.status, 503) << call.method << " " << call.target << ": " << r.body;
  if (call.method != "HEAD") {
    EXPECT_EQ(nlohmann::json::parse(r.body, nullptr, false)["error"]["code"], "Unavailable")
        << call.method << " " << call.target << ": " << r.body;
  }
  EXPECT_EQ(r.header("x-exo-backend"), backend) << call.method << " " << call.target;
}

} // namespace

testsupport::MotoServer& sharedMoto() {
  static testsupport::MotoServer server;
  return server;
}

std::string oneBindingConfig(const std::string& name, const std::string& kind,
                             const std::string& backend, const std::string& backend_timeout) {
  return "listen: 127.0.0.1:0\n"
         "token: ${EXO_TEST_TOKEN}\n"
         "data_dir: data\n"
         "limits: {backend_timeout: " +
         backend_timeout + "}\nbindings:\n  " + name + ":\n    kind: " + kind +
         "\n    backends: [" + backend +
         "]\n"
         "credentials:\n"
         "  aws: {source: static, access_key_id: testing, secret_access_key: testing}\n";
}

void expectUnavailableWhilePausedThenRecovers(const ProxyProcess& proxy, pid_t emulator,
                                              const std::string& backend,
                                              const std::vector<ApiCall>& calls,
                                              const ApiCall& recovery) {
  ASSERT_EQ(::kill(emulator, SIGSTOP), 0);
  struct Resume {
    pid_t pid;
    ~Resume() { ::kill(pid, SIGCONT); }
  } resume{emulator};
  for (const ApiCall& call : calls) {
    const auto start = std::chrono::steady_clock::now();
    const HttpResponse r = proxy.call(call.method, call.target, call.body);
    const auto took = std::chrono::steady_clock::now() - start;
    expectUnavailableAnswer(r, call, backend);
    // Not a speed test: a generous bound that only a hang would break.
    EXPECT_LT(took, std::chrono::seconds(20)) << call.method << " " << call.target;
  }
  ASSERT_EQ(::kill(emulator, SIGCONT), 0);
  int status = 0;
  for (int i = 0; i < 50 && status != 200; ++i) {
    status = proxy.call(recovery.method, recovery.target, recovery.body).status;
    if (status != 200) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_EQ(status, 200) << "the proxy did not recover after the emulator resumed";
}

void expectUnavailable(const ProxyProcess& proxy, const std::string& backend,
                       const std::vector<ApiCall>& calls) {
  for (const ApiCall& call : calls)
    expectUnavailableAnswer(proxy.call(call.method, call.target, call.body), call, backend);
}

} // namespace exoflow::proxy::testing
