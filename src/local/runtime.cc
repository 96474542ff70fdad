#include "local/runtime.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <optional>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "local/log_pump.h"
#include "local/mariadb.h"
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
constexpr auto kMariadbGrace = std::chrono::seconds(30);

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
  std::optional<MariadbServer> mariadb;
  std::optional<Process> proxy;
  std::optional<Process> app;
  std::map<std::string, std::string> database_urls; ///< by service: its EXO_DB_<NAME>_URL
};

/// A socket folder of its own under /tmp (see socketFolder) goes once its server has stopped and
/// left it empty; the one in .exoflow/ stays.
void removeShortSocketFolder(const fs::path& dir) {
  if (dir.parent_path() != "/tmp") return;
  std::error_code ec;
  fs::remove(dir, ec);
}

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
  // The database servers shut down side by side: both are told first, then waited for.
  const bool postgres = r.postgres && r.postgres->process.running();
  const bool mariadb = r.mariadb && r.mariadb->process.running();
  if (postgres) {
    pump.say("exoflow", "stopping PostgreSQL");
    r.postgres->process.signal(SIGINT); // SIGINT: PostgreSQL's fast shutdown
  }
  if (mariadb) {
    pump.say("exoflow", "stopping MariaDB");
    r.mariadb->process.signal(SIGTERM);
  }
  if (postgres) r.postgres->process.stop(SIGINT, kPostgresGrace);
  if (r.postgres) {
    pump.drain(r.postgres->process);
    removeShortSocketFolder(r.postgres->socket_dir);
  }
  if (mariadb) r.mariadb->process.stop(SIGTERM, kMariadbGrace);
  if (r.mariadb) {
    pump.drain(r.mariadb->process);
    removeShortSocketFolder(r.mariadb->socket_dir);
  }
}

/// The database services of `engine`, in manifest order.
std::vector<const model::Service*> databasesOf(const model::App& app, model::DbEngine engine) {
  std::vector<const model::Service*> found;
  for (const model::Service& s : app.services) {
    const auto* db = std::get_if<model::DatabaseSpec>(&s.spec);
    if (db != nullptr && db->engine == engine) found.push_back(&s);
  }
  return found;
}

std::vector<std::string> databaseNames(const std::vector<const model::Service*>& services) {
  std::vector<std::string> names;
  names.reserve(services.size());
  for (const model::Service* s : services)
    names.push_back(databaseName(s->name));
  return names;
}

const std::string& versionOf(const model::Service& s) {
  return std::get<model::DatabaseSpec>(s.spec).version;
}

Result<void> startPostgresFor(const std::vector<const model::Service*>& services,
                              const fs::path& state, Running& running,
                              std::map<std::string, LocalDatabase>& databases, LogPump& pump) {
  auto install = findPostgres();
  if (!install) return tl::unexpected(install.error());
  for (const model::Service* s : services) {
    if (versionOf(*s) != std::to_string(install->major)) {
      pump.say("exoflow", fmt::format("service {} asks for PostgreSQL {}; running the installed "
                                      "PostgreSQL {} locally",
                                      s->name, versionOf(*s), install->major));
    }
  }
  auto server = startPostgres(*install, state, databaseNames(services), pump);
  if (!server) return tl::unexpected(server.error());
  running.postgres = std::move(*server);
  for (const model::Service* s : services) {
    running.database_urls[s->name] = postgresUrl(*running.postgres, databaseName(s->name));
    databases[s->name] = LocalDatabase{"postgres",
                                       "127.0.0.1",
                                       running.postgres->port,
                                       databaseName(s->name),
                                       running.postgres->user,
                                       running.postgres->password};
  }
  return {};
}

/// MySQL itself is not packaged for Debian; its drop-in replacement MariaDB serves `mysql`
/// databases locally, and `up` says so once.
Result<void> startMariadbFor(const std::vector<const model::Service*>& services,
                             const fs::path& state, Running& running,
                             std::map<std::string, LocalDatabase>& databases, LogPump& pump) {
  auto install = findMariadb(mariadbSearchPath());
  if (!install) return tl::unexpected(install.error());
  std::vector<std::string> asked;
  for (const model::Service* s : services) {
    if (std::find(asked.begin(), asked.end(), versionOf(*s)) == asked.end()) {
      asked.push_back(versionOf(*s));
    }
  }
  pump.say("exoflow",
           fmt::format("the manifest asks for MySQL {}; locally, mysql databases run "
                       "on MariaDB {}",
                       fmt::join(asked, " and "),
                       install->version.empty() ? "(version unknown)" : install->version));
  auto server = startMariadb(*install, state, databaseNames(services), pump);
  if (!server) return tl::unexpected(server.error());
  running.mariadb = std::move(*server);
  for (const model::Service* s : services) {
    running.database_urls[s->name] = mysqlUrl(*running.mariadb, databaseName(s->name));
    databases[s->name] = LocalDatabase{"mysql",
                                       "127.0.0.1",
                                       running.mariadb->port,
                                       databaseName(s->name),
                                       running.mariadb->user,
                                       running.mariadb->password};
  }
  return {};
}

/// Starts PostgreSQL and MariaDB for the app's postgres and mysql databases (each only when
/// needed); fills in their connection details.
Result<void> startDatabases(const model::App& app, const fs::path& state, Running& running,
                            std::map<std::string, LocalDatabase>& databases, LogPump& pump) {
  const auto postgres = databasesOf(app, model::DbEngine::kPostgres);
  if (!postgres.empty()) {
    if (auto ok = startPostgresFor(postgres, state, running, databases, pump); !ok) return ok;
  }
  const auto mysql = databasesOf(app, model::DbEngine::kMysql);
  if (!mysql.empty()) {
    if (auto ok = startMariadbFor(mysql, state, running, databases, pump); !ok) return ok;
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
                                                  const std::map<std::string, std::string>& urls) {
  std::map<std::string, std::string> env = app.compute->env;
  env["EXO_ENDPOINT"] = endpoint;
  env["EXO_TOKEN"] = token;
  for (const auto& [service, url] : urls)
    env[databaseUrlVariable(service)] = url;
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
                       appEnvironment(app, *started, *token, running.database_urls),
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
      } else if (running.mariadb && running.mariadb->process.tryReap()) {
        exit_code = fatal("MariaDB " + describeWaitStatus(*running.mariadb->process.exitStatus()));
      }
    }
  }
  stopAll(running, pump);
  ::close(signals);
  pump.say("exoflow", "stopped");
  return exit_code;
}

} // namespace exoflow::local
