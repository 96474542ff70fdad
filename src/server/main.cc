// exo-proxy: the companion service that serves the API of API.md over one config file.
//   exo-proxy --config proxy.yaml
// Prints "listening on <address>:<port>" as its first line on stdout once it listens, logs to
// stderr, and exits 0 after a clean stop (SIGTERM, SIGINT), 2 for a bad config or usage, 1 when
// it cannot start (a backend that does not open, an address in use).
#include <csignal>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <string>

#include <CLI/CLI.hpp>
#include <malloc.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "backend/registry.h"
#include "manifest/diagnostic.h"
#include "proxy/api.h"
#include "proxy/bindings.h"
#include "proxy/config.h"
#include "proxy/http_server.h"
#include "proxy/metrics.h"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

using namespace exoflow; // NOLINT(google-build-using-namespace): a main() of this project

int serve(const std::string& config_path) {
  backend::Registry registry;
  backend::registerBuiltinBackends(registry);
  const proxy::AvailableTypes available{registry.queueTypes(), registry.objectStoreTypes(),
                                        registry.kvStoreTypes()};
  const proxy::ConfigLoad load = proxy::loadProxyConfig(config_path, available);
  if (!load.diagnostics.empty()) {
    std::fputs(manifest::formatText(load.diagnostics).c_str(), stderr);
  }
  if (!load.config) return kExitUsage;
  const proxy::ProxyConfig& config = *load.config;

  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec) {
    spdlog::error("cannot create data_dir {}: {}", config.data_dir.string(), ec.message());
    return kExitFailure;
  }
  proxy::HttpServer server(proxy::ServerOptions{config.limits, 0, std::chrono::seconds(30)});
  auto bindings = proxy::Bindings::open(config, registry, server.scheduler());
  if (!bindings) {
    spdlog::error("{}", bindings.error().message);
    return kExitFailure;
  }
  proxy::Metrics metrics;
  proxy::Api api(**bindings, metrics, server.scheduler());
  auto bound = server.listen(config.listen);
  if (!bound) {
    spdlog::error("{}", bound.error().message);
    return kExitFailure;
  }
  const bool v6 = bound->host.find(':') != std::string::npos;
  std::printf(v6 ? "listening on [%s]:%d\n" : "listening on %s:%d\n", bound->host.c_str(),
              bound->port);
  if (config.peer_listen) {
    // The config checker requires tls with peer_listen.
    auto peers = server.listenPeers(*config.peer_listen, *config.tls);
    if (!peers) {
      spdlog::error("{}", peers.error().message);
      return kExitFailure;
    }
    const bool peer_v6 = peers->host.find(':') != std::string::npos;
    std::printf(peer_v6 ? "peers listening on [%s]:%d\n" : "peers listening on %s:%d\n",
                peers->host.c_str(), peers->port);
  }
  std::fflush(stdout);
  spdlog::info("serving {} bindings on {}:{} (data in {})", config.bindings.size(), bound->host,
               bound->port, config.data_dir.string());
  server.run(api);
  return kExitOk;
}

/// glibc's malloc gives memory back to the kernel as soon as the top of a heap holds more than
/// a small threshold (128 KiB, adjusted as mmapped blocks are freed), and takes it back with
/// the next request: at throughput that was a brk() or madvise() for every third or fourth
/// request, each followed by page faults on the same pages. A proxy's memory use rises and falls
/// by the same few MiB all day, so it keeps up to 8 MiB per heap, grows a heap 1 MiB at a time
/// and serves the 128 KiB body pieces from the heap rather than from mmap.
void tuneMalloc() {
  mallopt(M_TRIM_THRESHOLD, 8 * 1024 * 1024);
  mallopt(M_TOP_PAD, 1024 * 1024);
  mallopt(M_MMAP_THRESHOLD, 1024 * 1024);
}

} // namespace

int main(int argc, char** argv) {
  try {
    std::signal(SIGPIPE, SIG_IGN);
    tuneMalloc();
    spdlog::set_default_logger(spdlog::stderr_logger_mt("exo-proxy"));
    CLI::App app{"exo-proxy: serves the Exo API v1 (queues, objects, key-value tables, database\n"
                 "credentials) over the backends its config file names.",
                 "exo-proxy"};
    app.set_version_flag("--version", EXOFLOW_VERSION);
    std::string config_path;
    app.add_option("-c,--config", config_path, "the proxy config file (see docs/proxy.md)")
        ->required();
    std::string log_level = "info";
    app.add_option("--log-level", log_level, "trace, debug, info, warn, error or off")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
    try {
      app.parse(argc, argv);
    } catch (const CLI::Success& e) {
      return app.exit(e);
    } catch (const CLI::ParseError& e) {
      app.exit(e);
      return kExitUsage;
    }
    spdlog::set_level(spdlog::level::from_str(log_level));
    return serve(config_path);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "exo-proxy: internal error: %s\n", e.what());
    return kExitFailure;
  }
}
