#include "local/postgres.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <thread>

#include <fmt/format.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

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

namespace {

struct RunAs {
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
};

/// PostgreSQL refuses root; as root we run it as the `postgres` user Debian's package creates.
Result<RunAs> serverUser() {
  if (::geteuid() != 0) return RunAs{};
  const passwd* pw = ::getpwnam("postgres");
  if (pw == nullptr) {
    return fail(ErrorCode::kUnavailable,
                "running as root, and there is no `postgres` user to run PostgreSQL as");
  }
  return RunAs{pw->pw_uid, pw->pw_gid};
}

/// The server user must reach the data directory: every folder above it must let it pass.
Result<void> checkReachable(const fs::path& dir, const RunAs& as) {
  if (!as.uid) return {};
  for (fs::path p = dir.parent_path(); !p.empty(); p = p.parent_path()) {
    struct stat st {};
    if (::stat(p.c_str(), &st) == 0) {
      const bool owner = st.st_uid == *as.uid && (st.st_mode & S_IXUSR) != 0;
      const bool other = (st.st_mode & S_IXOTH) != 0;
      if (!owner && !other) {
        return fail(ErrorCode::kPermissionDenied,
                    fmt::format("PostgreSQL runs as the `postgres` user, which cannot enter {}; "
                                "run `chmod o+x {}` or keep the project elsewhere",
                                p.string(), p.string()));
      }
    }
    if (p == p.root_path()) break;
  }
  return {};
}

Result<void> chownTree(const fs::path& dir, const RunAs& as) {
  if (!as.uid) return {};
  if (::chown(dir.c_str(), *as.uid, *as.gid) != 0) {
    return fail(ErrorCode::kInternal,
                fmt::format("chown {}: {}", dir.string(), std::strerror(errno)));
  }
  return {};
}

int freePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

/// Runs a short helper (initdb, psql) to completion, its output through the pump.
Result<void> runToEnd(ProcessSpec spec, LogPump& pump) {
  auto process = Process::start(spec);
  if (!process) return tl::unexpected(process.error());
  pump.add(*process);
  while (process->running()) {
    pump.pumpOnce(100);
    process->tryReap();
  }
  pump.drain(*process);
  const int status = *process->exitStatus();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return fail(ErrorCode::kInternal,
                fmt::format("{} {}", spec.argv[0], describeWaitStatus(status)));
  }
  return {};
}

} // namespace

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
  auto as = serverUser();
  if (!as) return tl::unexpected(as.error());
  const fs::path root = fs::absolute(state_dir / "postgres");
  const fs::path data = root / "data";
  // A Unix socket's path is limited to 107 bytes; a deep project folder would exceed it, so
  // the socket then lives in a short folder of its own under /tmp.
  fs::path sockets = root / "run";
  if (sockets.string().size() + std::string_view("/.s.PGSQL.65535").size() >= 100) {
    sockets = fs::path("/tmp") /
              fmt::format("exoflow-pg-{:016x}", std::hash<std::string>{}(root.string()));
  }
  std::error_code ec;
  fs::create_directories(root, ec);
  if (!ec) fs::create_directories(sockets, ec);
  if (ec)
    return fail(ErrorCode::kInternal, fmt::format("create {}: {}", sockets.string(), ec.message()));
  if (auto ok = checkReachable(root, *as); !ok) return tl::unexpected(ok.error());
  for (const fs::path& dir : {root, sockets}) {
    if (auto ok = chownTree(dir, *as); !ok) return tl::unexpected(ok.error());
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
    if (auto ok = chownTree(pwfile, *as); !ok) return tl::unexpected(ok.error());
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

  // Ready when the server writes its socket's lock file and pg_isready agrees.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  bool ready = false;
  bool up = false;
  pump.watch(server.process, [&up](const std::string& line) {
    if (line.find("ready to accept connections") == std::string::npos) return false;
    up = true;
    return true;
  });
  while (!up && std::chrono::steady_clock::now() < deadline) {
    pump.pumpOnce(200);
    if (server.process.tryReap()) {
      pump.drain(server.process);
      return fail(ErrorCode::kUnavailable,
                  "PostgreSQL " + describeWaitStatus(*server.process.exitStatus()));
    }
  }
  ready = up;
  if (!ready) return fail(ErrorCode::kUnavailable, "PostgreSQL did not start within 60 s");

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
