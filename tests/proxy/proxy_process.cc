#include "proxy/proxy_process.h"

#include <csignal>
#include <cstdio>

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

namespace exoflow::proxy::testing {

namespace fs = std::filesystem;

std::string defaultConfig(const std::string& limits) {
  std::string config = "listen: 127.0.0.1:0\n"
                       "token: ${EXO_TEST_TOKEN}\n"
                       "data_dir: data\n";
  if (!limits.empty()) config += "limits: " + limits + "\n";
  config += R"(bindings:
  orders:
    kind: queue
    options: {visibility_timeout: 30s, dead_letter_after: 2, max_message_size: 256KiB}
    backends: [{type: local.sqlite}]
  events:
    kind: queue
    options: {max_message_size: 1KiB}
    backends: [{type: local.sqlite}]
  assets:
    kind: objects
    backends: [{type: local.sqlite}]
  sessions:
    kind: kv
    backends: [{type: local.sqlite}]
  db:
    kind: database
    backends: [{type: local.postgres, port: 5432, database: shop, user: app, password: "p@ss"}]
)";
  return config;
}

namespace {

testsupport::ProxyLaunch launch(fs::path dir, const std::string& config,
                                const std::map<std::string, std::string>& env) {
  testsupport::ProxyLaunch l{EXO_PROXY_BINARY, std::move(dir), config, env};
  l.env.emplace("EXO_TEST_TOKEN", kToken);
  return l;
}

} // namespace

ProxyProcess::ProxyProcess(fs::path dir, const std::string& config,
                           const std::map<std::string, std::string>& env)
    : runner_(launch(std::move(dir), config, env)) {}

ProxyProcess::~ProxyProcess() {
  if (!runner_.running()) return;
  // Every test ends with a drain, so a crash or a sanitizer report at exit fails the test.
  const int code = stop(SIGTERM, 30'000);
  EXPECT_EQ(code, 0) << "exo-proxy did not stop cleanly; its stderr:\n" << errors();
}

Headers ProxyProcess::auth(Headers extra) {
  extra.emplace_back("Authorization", std::string("Bearer ") + kToken);
  return extra;
}

HttpResponse ProxyProcess::call(std::string_view method, std::string_view target,
                                std::string_view body, Headers extra) const {
  return httpRequest(port(), method, target, auth(std::move(extra)), body);
}

TempDir::TempDir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = info != nullptr ? std::string(info->test_suite_name()) + "-" + info->name()
                                     : std::string("proxy");
  for (char& c : name) {
    if (c == '/') c = '_';
  }
  path_ = fs::temp_directory_path() / ("exo-proxy-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(path_);
  fs::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

int runCommand(const std::string& command, std::string* out) {
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return -1;
  std::string text;
  char buffer[4096];
  std::size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0)
    text.append(buffer, n);
  const int status = ::pclose(pipe);
  if (out != nullptr) *out = std::move(text);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string curlPrefix() {
  return std::string("curl -sS --max-time 120 -H 'Authorization: Bearer ") + kToken + "' ";
}

} // namespace exoflow::proxy::testing
