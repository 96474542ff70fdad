#include "local/runtime.h"

#include <cstdio>
#include <fstream>
#include <map>
#include <optional>

#include <fmt/format.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "local/log_pump.h"
#include "local/postgres.h"
#include "local/proxy_config.h"
#include "local/secrets.h"
#include "manifest/manifest.h"

namespace exoflow::local {

namespace fs = std::filesystem;

namespace {

constexpr auto kAppGrace = std::chrono::seconds(10);
constexpr auto kProxyGrace = std::chrono::seconds(15);
constexpr auto kPostgresGrace = std::chrono::seconds(30);

/// Blocks SIGINT and SIGTERM and returns a descriptor that becomes readable when one arrives.
int signalDescriptor() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  ::sigprocmask(SIG_BLOCK, &set, nullptr);
  return ::signalfd(-1, &set, SFD_CLOEXEC);
}

int readSignal(int fd) {
  signalfd_siginfo info{};
  if (::read(fd, &info, sizeof(info)) != sizeof(info)) return 0;
  return static_cast<int>(info.ssi_signo);
}

/// The parts that run, in start order; stopped in reverse.
struct Running {
  std::optional<PostgresServer> postgres;
  std::optional<Process> proxy;
  std::optional<Process> app;
};

void stopAll(Running& r, LogPump& pump) {
  if (r.app && r.app->running()) {
    pump.say("exoflow", "stopping the app");
    r.app->stop(SIGTERM, kAppGrace);
  }
  if (r.app) pump.drain(*r.app);
  if (r.proxy && r.proxy->running()) {
    pump.say("exoflow", "stopping exo-proxy");
    r.proxy->stop(SIGTERM, kProxyGrace);
  }
  if (r.proxy) pump.drain(*r.proxy);
  if (r.postgres && r.postgres->process.running()) {
    pump.say("exoflow", "stopping PostgreSQL");
    r.postgres->process.stop(SIGINT, kPostgresGrace); // SIGINT: PostgreSQL's fast shutdown
  }
  if (r.postgres) pump.drain(r.postgres->process);
}

/// Starts PostgreSQL when the app has postgres databases; fills in their connection details.
Result<void> startDatabases(const model::App& app, const fs::path& state, Running& running,
                            std::map<std::string, LocalDatabase>& databases, LogPump& pump) {
  std::vector<std::string> names;
  for (const model::Service& s : app.services) {
    const auto* db = std::get_if<model::DatabaseSpec>(&s.spec);
    if (db == nullptr) continue;
    if (db->engine == model::DbEngine::kMysql) {
      return fail(ErrorCode::kUnavailable,
                  fmt::format("service {}: mysql databases are not available in `exoflow up` "
                              "yet; use engine: postgres locally",
                              s.name));
    }
    names.push_back(databaseName(s.name));
  }
  if (names.empty()) return {};
  auto install = findPostgres();
  if (!install) return tl::unexpected(install.error());
  for (const model::Service& s : app.services) {
    const auto* db = std::get_if<model::DatabaseSpec>(&s.spec);
    if (db != nullptr && db->version != std::to_string(install->major)) {
      pump.say("exoflow", fmt::format("service {} asks for PostgreSQL {}; running the installed "
                                      "PostgreSQL {} locally",
                                      s.name, db->version, install->major));
    }
  }
  auto server = startPostgres(*install, state, names, pump);
  if (!server) return tl::unexpected(server.error());
  running.postgres = std::move(*server);
  for (const model::Service& s : app.services) {
    if (!std::holds_alternative<model::DatabaseSpec>(s.spec)) continue;
    databases[s.name] = LocalDatabase{"postgres",
                                      "127.0.0.1",
                                      running.postgres->port,
                                      databaseName(s.name),
                                      running.postgres->user,
                                      running.postgres->password};
  }
  return {};
}

/// Starts exo-proxy and waits for its `listening on <address>` line; returns the endpoint.
Result<std::string> startProxy(const fs::path& binary, const fs::path& config,
                               const std::string& token, Running& running, LogPump& pump) {
  ProcessSpec spec{"proxy",
                   {binary.string(), "--config", config.string()},
                   {{"EXO_TOKEN", token}},
                   config.parent_path(),
                   std::nullopt,
                   std::nullopt};
  auto process = Process::start(spec);
  if (!process) return tl::unexpected(process.error());
  running.proxy = std::move(*process);
  pump.add(*running.proxy);
  std::string address;
  pump.watch(*running.proxy, [&address](const std::string& line) {
    constexpr std::string_view kPrefix = "listening on ";
    if (line.rfind(kPrefix, 0) != 0) return false;
    address = line.substr(kPrefix.size());
    return true;
  });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (address.empty() && std::chrono::steady_clock::now() < deadline) {
    pump.pumpOnce(100);
    if (running.proxy->tryReap()) {
      pump.drain(*running.proxy);
      return fail(ErrorCode::kUnavailable,
                  "exo-proxy " + describeWaitStatus(*running.proxy->exitStatus()));
    }
  }
  if (address.empty()) return fail(ErrorCode::kUnavailable, "exo-proxy did not start within 30 s");
  return "http://" + address;
}

std::map<std::string, std::string> appEnvironment(const model::App& app,
                                                  const std::string& endpoint,
                                                  const std::string& token,
                                                  const std::map<std::string, LocalDatabase>& dbs) {
  std::map<std::string, std::string> env = app.compute->env;
  env["EXO_ENDPOINT"] = endpoint;
  env["EXO_TOKEN"] = token;
  for (const auto& [service, db] : dbs) {
    env[databaseUrlVariable(service)] = fmt::format("{}://{}:{}@{}:{}/{}", db.engine, db.user,
                                                    db.password, db.host, db.port, db.database);
  }
  return env;
}

Result<void> writeFile(const fs::path& path, const std::string& text) {
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) return fail(ErrorCode::kInternal, "cannot write " + tmp.string());
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return fail(ErrorCode::kInternal, "cannot write " + path.string() + ": " + ec.message());
  return {};
}

} // namespace

std::string databaseUrlVariable(const std::string& service) {
  std::string name = "EXO_DB_";
  for (char c : service)
    name += c == '-' ? '_' : static_cast<char>(std::toupper(c));
  return name + "_URL";
}

fs::path findProxyBinary() {
  if (const char* env = std::getenv("EXO_PROXY"); env != nullptr && *env != '\0') return env;
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec && fs::exists(self.parent_path() / "exo-proxy")) return self.parent_path() / "exo-proxy";
  return "exo-proxy";
}

int runUp(const UpOptions& options) {
  auto loaded = manifest::loadManifestFile(options.manifest, options.display_name);
  if (!loaded) {
    std::fprintf(stderr, "exoflow: error: %s\n", loaded.error().message.c_str());
    return 2;
  }
  std::fputs(manifest::formatText(loaded->diagnostics).c_str(), stderr);
  if (!loaded->app) return 1;
  const model::App& app = *loaded->app;

  const fs::path dir = fs::absolute(options.manifest).parent_path();
  const fs::path state = dir / ".exoflow";
  std::error_code ec;
  fs::create_directories(state, ec);
  LogPump pump;
  auto fatal = [&pump](const std::string& what) {
    pump.say("exoflow", "error: " + what);
    return 1;
  };
  if (ec) return fatal("cannot create " + state.string() + ": " + ec.message());
  auto token = loadOrCreateSecret(state / "token");
  if (!token) return fatal(token.error().message);

  const int signals = signalDescriptor();
  Running running;
  std::map<std::string, LocalDatabase> databases;
  int exit_code = 0;
  auto started = [&]() -> Result<std::string> {
    if (auto ok = startDatabases(app, state, running, databases, pump); !ok) {
      return tl::unexpected(ok.error());
    }
    const fs::path config = state / "proxy.yaml";
    if (auto ok = writeFile(config, renderLocalProxyConfig(app, databases)); !ok) {
      return tl::unexpected(ok.error());
    }
    return startProxy(options.proxy_binary, config, *token, running, pump);
  }();
  if (!started) {
    exit_code = fatal(started.error().message);
  } else {
    pump.say("exoflow", "exo-proxy serves " + *started + " (EXO_ENDPOINT; EXO_TOKEN is in " +
                            (state / "token").string() + ")");
    if (app.compute) {
      const fs::path artifact = dir / app.compute->artifact;
      ProcessSpec spec{"app",
                       {"/bin/sh", "-c", app.compute->run},
                       appEnvironment(app, *started, *token, databases),
                       fs::is_directory(artifact) ? artifact : dir,
                       std::nullopt,
                       std::nullopt};
      auto process = Process::start(spec);
      if (!process) {
        exit_code = fatal(process.error().message);
      } else {
        running.app = std::move(*process);
        pump.add(*running.app);
        pump.say("exoflow", "started the app: " + app.compute->run);
      }
    } else {
      pump.say("exoflow", "no compute section: serving the services only; Ctrl-C stops");
    }
    pump.say("exoflow", "running; Ctrl-C stops everything");
    while (exit_code == 0) {
      if (pump.pumpOnce(200, signals)) {
        const int sig = readSignal(signals);
        pump.say("exoflow", fmt::format("received {}", ::strsignal(sig)));
        break;
      }
      if (running.app && running.app->tryReap()) {
        pump.drain(*running.app);
        const int status = *running.app->exitStatus();
        pump.say("exoflow", "the app " + describeWaitStatus(status));
        exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        break;
      }
      if (running.proxy && running.proxy->tryReap()) {
        exit_code = fatal("exo-proxy " + describeWaitStatus(*running.proxy->exitStatus()));
      } else if (running.postgres && running.postgres->process.tryReap()) {
        exit_code =
            fatal("PostgreSQL " + describeWaitStatus(*running.postgres->process.exitStatus()));
      }
    }
  }
  stopAll(running, pump);
  ::close(signals);
  pump.say("exoflow", "stopped");
  return exit_code;
}

} // namespace exoflow::local
