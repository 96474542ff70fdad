#include "local/postgres.h"

#include <algorithm>
#include <fstream>

#include <fmt/format.h>
#include <signal.h>
#include <sys/stat.h>

#include "local/secrets.h"

namespace exoflow::local {

namespace fs = std::filesystem;

Result<PostgresInstall> findPostgres() {
  PostgresInstall best;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
    const fs::path bin = entry.path() / "bin";
    if (!fs::exists(bin / "initdb") || !fs::exists(bin / "postgres")) continue;
    const int major = std::stoi(name);
    if (major > best.major) best = PostgresInstall{bin, major};
  }
  if (best.major == 0) {
    return fail(ErrorCode::kUnavailable,
                "no PostgreSQL server is installed (looked in /usr/lib/postgresql/*/bin); "
                "run scripts/setup or `apt-get install postgresql`");
  }
  return best;
}

std::string databaseName(const std::string& service) {
  std::string name = service;
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
}

std::string postgresUrl(const PostgresServer& server, const std::string& database) {
  return fmt::format("postgres://{}:{}@127.0.0.1:{}/{}", server.user, server.password, server.port,
                     database);
}

Result<PostgresServer> startPostgres(const PostgresInstall& install, const fs::path& state_dir,
                                     const std::vector<std::string>& databases, LogPump& pump) {
  // PostgreSQL refuses root; as root we run it as the `postgres` user Debian's package creates.
  auto as = serverUser("postgres", "PostgreSQL");
  if (!as) return tl::unexpected(as.error());
  const fs::path root = fs::absolute(state_dir / "postgres");
  const fs::path data = root / "data";
  // A deep project folder would not fit a socket's path: the socket then goes under /tmp.
  const fs::path sockets = socketFolder(root / "run", ".s.PGSQL.65535", "pg");
  std::error_code ec;
  fs::create_directories(root, ec);
  if (!ec) fs::create_directories(sockets, ec);
  if (ec)
    return fail(ErrorCode::kInternal, fmt::format("create {}: {}", sockets.string(), ec.message()));
  if (auto ok = checkReachable(root, *as, "PostgreSQL"); !ok) return tl::unexpected(ok.error());
  for (const fs::path& dir : {root, sockets}) {
    if (auto ok = chownTo(dir, *as); !ok) return tl::unexpected(ok.error());
  }
  ::chmod(root.c_str(), 0700);

  PostgresServer server;
  server.user = "exoflow";
  auto password = loadOrCreateSecret(root / "password");
  if (!password) return tl::unexpected(password.error());
  server.password = *password;
  server.socket_dir = sockets;

  if (!fs::exists(data / "PG_VERSION")) {
    pump.say("exoflow",
             fmt::format("initialising PostgreSQL {} in {}", install.major, data.string()));
    const fs::path pwfile = root / "pwfile";
    std::ofstream(pwfile) << server.password << "\n";
    if (auto ok = chownTo(pwfile, *as); !ok) return tl::unexpected(ok.error());
    ProcessSpec init{"initdb",
                     {(install.bin_dir / "initdb").string(), "-D", data.string(), "-U", server.user,
                      "--pwfile", pwfile.string(), "--auth-local=trust",
                      "--auth-host=scram-sha-256", "-E", "UTF8", "--no-instructions"},
                     {{"LC_ALL", "C.UTF-8"}},
                     root,
                     as->uid,
                     as->gid};
    auto ok = runToEnd(init, pump);
    fs::remove(pwfile, ec);
    if (!ok) return tl::unexpected(ok.error());
  }

  server.port = freePort();
  ProcessSpec spec{"postgres",
                   {(install.bin_dir / "postgres").string(), "-D", data.string(), "-k",
                    sockets.string(), "-h", "127.0.0.1", "-p", std::to_string(server.port), "-c",
                    "log_line_prefix=", "-c", "logging_collector=off"},
                   {{"LC_ALL", "C.UTF-8"}},
                   root,
                   as->uid,
                   as->gid};
  auto process = Process::start(spec);
  if (!process) return tl::unexpected(process.error());
  server.process = std::move(*process);
  pump.add(server.process);

  auto ready = waitForLine(
      server.process, pump,
      [](const std::string& line) {
        return line.find("ready to accept connections") != std::string::npos;
      },
      std::chrono::seconds(60), "PostgreSQL");
  if (!ready) {
    server.process.stop(SIGINT, std::chrono::seconds(30));
    pump.drain(server.process);
    return tl::unexpected(ready.error());
  }

  // CREATE DATABASE cannot run in a function or DO block; psql's \gexec runs it only for the
  // databases that are missing. psql runs as us: root may use the socket, and the file.
  std::string sql;
  for (const std::string& db : databases) {
    sql += fmt::format("SELECT 'CREATE DATABASE \"{0}\"' WHERE NOT EXISTS "
                       "(SELECT FROM pg_database WHERE datname = '{0}')\\gexec\n",
                       db);
  }
  const fs::path script = fs::absolute(state_dir) / "create-databases.sql";
  std::ofstream(script, std::ios::trunc) << sql;
  ProcessSpec create{"psql",
                     {(install.bin_dir / "psql").string(), "-q", "-h", sockets.string(), "-p",
                      std::to_string(server.port), "-U", server.user, "-d", "postgres", "-v",
                      "ON_ERROR_STOP=1", "-f", script.string()},
                     {},
                     {},
                     std::nullopt,
                     std::nullopt};
  if (auto ok = runToEnd(create, pump); !ok) {
    server.process.stop(SIGINT, std::chrono::seconds(30));
    pump.drain(server.process);
    return tl::unexpected(ok.error());
  }
  fs::remove(script, ec);
  return server;
}

} // namespace exoflow::local
