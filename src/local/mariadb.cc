#include "local/mariadb.h"

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "local/secrets.h"

namespace exoflow::local {

namespace fs = std::filesystem;

namespace {

constexpr auto kStartTimeout = std::chrono::seconds(60);
constexpr auto kStopGrace = std::chrono::seconds(30);
constexpr std::string_view kSocketName = "mysqld.sock";

/// `text` as the inside of a quoted SQL literal ('...') or identifier (`...`).
std::string escapeSql(const std::string& text, char quote) {
  std::string out;
  for (char c : text) {
    if (c == quote) out += quote;
    if (c == '\\' && quote == '\'') out += '\\';
    out += c;
  }
  return out;
}

/// Writes the server's --init-file: readable by the server's user only, as it holds the
/// password.
Result<void> writePrivate(const fs::path& path, const std::string& text, const RunAs& as) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return fail(ErrorCode::kInternal,
                fmt::format("cannot write {}: {}", path.string(), std::strerror(errno)));
  }
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  if (!ok) return fail(ErrorCode::kInternal, fmt::format("cannot write {}", path.string()));
  return chownTo(path, as);
}

/// mariadb-install-db into a fresh folder, renamed into place once complete: a data directory
/// that exists is always a whole one.
Result<void> initialise(const MariadbInstall& install, const fs::path& root, const fs::path& data,
                        const RunAs& as, LogPump& pump) {
  const fs::path fresh = root / "data.new";
  std::error_code ec;
  fs::remove_all(fresh, ec);
  pump.say("exoflow", fmt::format("initialising MariaDB {} in {}", install.version, data.string()));
  // --cross-bootstrap (meant for data directories made on one host for another) leaves out every
  // row naming this host and the lookup of its name, and prints no page of advice meant for a
  // system-wide server. Its administrator accounts log in only through the socket, as the
  // system user of the same name (unix_socket); there is no password to guess.
  ProcessSpec init{"mariadb-install-db",
                   {install.install_db.string(), "--no-defaults", "--datadir=" + fresh.string(),
                    "--auth-root-authentication-method=socket", "--skip-test-db",
                    "--cross-bootstrap"},
                   {},
                   root,
                   as.uid,
                   as.gid};
  if (auto ok = runToEnd(init, pump); !ok) return ok;
  fs::rename(fresh, data, ec);
  if (ec) {
    return fail(ErrorCode::kInternal,
                fmt::format("rename {} to {}: {}", fresh.string(), data.string(), ec.message()));
  }
  return {};
}

} // namespace

std::vector<fs::path> mariadbSearchPath() {
  std::vector<fs::path> dirs;
  const char* path = std::getenv("PATH");
  const std::string list = path != nullptr ? path : "";
  for (std::size_t start = 0; start < list.size();) {
    const std::size_t end = std::min(list.find(':', start), list.size());
    if (end > start) dirs.emplace_back(list.substr(start, end - start));
    start = end + 1;
  }
  dirs.emplace_back("/usr/sbin");
  dirs.emplace_back("/usr/local/sbin");
  return dirs;
}

std::string parseMariadbVersion(std::string_view version_output) {
  constexpr std::string_view kVer = " Ver ";
  const std::size_t at = version_output.find(kVer);
  if (at == std::string_view::npos) return "";
  std::size_t end = at + kVer.size();
  while (end < version_output.size() &&
         (std::isdigit(static_cast<unsigned char>(version_output[end])) != 0 ||
          version_output[end] == '.')) {
    ++end;
  }
  return std::string(version_output.substr(at + kVer.size(), end - at - kVer.size()));
}

Result<MariadbInstall> findMariadb(const std::vector<fs::path>& dirs) {
  MariadbInstall install;
  for (const fs::path& dir : dirs) {
    if (install.server.empty() && ::access((dir / "mariadbd").c_str(), X_OK) == 0) {
      install.server = dir / "mariadbd";
    }
    if (install.install_db.empty() && ::access((dir / "mariadb-install-db").c_str(), X_OK) == 0) {
      install.install_db = dir / "mariadb-install-db";
    }
  }
  if (install.server.empty() || install.install_db.empty()) {
    return fail(ErrorCode::kUnavailable,
                "no MariaDB server is installed (looked for mariadbd and mariadb-install-db on "
                "PATH and in /usr/sbin); run scripts/setup or "
                "`apt-get install mariadb-server mariadb-client`");
  }
  ProcessSpec version{"mariadbd",   {install.server.string(), "--no-defaults", "--version"},
                      {},           {},
                      std::nullopt, std::nullopt};
  if (auto output = runForOutput(version)) install.version = parseMariadbVersion(*output);
  return install;
}

std::string mariadbSetupSql(const std::string& user, const std::string& password,
                            const std::vector<std::string>& databases) {
  // 127.0.0.1 and not localhost: the server resolves no names, and apps connect over TCP.
  const std::string account = fmt::format("'{}'@'127.0.0.1'", escapeSql(user, '\''));
  const std::string secret = escapeSql(password, '\'');
  std::string sql;
  for (const std::string& db : databases)
    sql += fmt::format("CREATE DATABASE IF NOT EXISTS `{}`;\n", escapeSql(db, '`'));
  sql += fmt::format("CREATE USER IF NOT EXISTS {} IDENTIFIED BY '{}';\n", account, secret);
  sql += fmt::format("ALTER USER {} IDENTIFIED BY '{}';\n", account, secret);
  for (const std::string& db : databases) {
    sql += fmt::format("GRANT ALL PRIVILEGES ON `{}`.* TO {};\n", escapeSql(db, '`'), account);
  }
  return sql;
}

std::string mysqlUrl(const MariadbServer& server, const std::string& database) {
  return fmt::format("mysql://{}:{}@127.0.0.1:{}/{}", server.user, server.password, server.port,
                     database);
}

Result<MariadbServer> startMariadb(const MariadbInstall& install, const fs::path& state_dir,
                                   const std::vector<std::string>& databases, LogPump& pump) {
  // mariadbd refuses root; as root we run it as the `mysql` user Debian's package creates.
  auto as = serverUser("mysql", "MariaDB");
  if (!as) return tl::unexpected(as.error());
  const fs::path root = fs::absolute(state_dir / "mariadb");
  const fs::path data = root / "data";
  // A deep project folder would not fit a socket's path: the socket then goes under /tmp.
  const fs::path run = socketFolder(root / "run", kSocketName, "my");
  std::error_code ec;
  fs::create_directories(root, ec);
  if (!ec) fs::create_directories(run, ec);
  if (ec)
    return fail(ErrorCode::kInternal, fmt::format("create {}: {}", run.string(), ec.message()));
  if (auto ok = checkReachable(root, *as, "MariaDB"); !ok) return tl::unexpected(ok.error());
  for (const fs::path& dir : {root, run}) {
    if (auto ok = chownTo(dir, *as); !ok) return tl::unexpected(ok.error());
  }
  ::chmod(root.c_str(), 0700);

  MariadbServer server;
  server.user = "exoflow";
  auto password = loadOrCreateSecret(root / "password");
  if (!password) return tl::unexpected(password.error());
  server.password = *password;
  server.socket_dir = run;

  if (!fs::is_directory(data)) {
    if (auto ok = initialise(install, root, data, *as, pump); !ok)
      return tl::unexpected(ok.error());
  }

  // The server runs the set-up itself as it starts, before it accepts connections: no
  // administrator account or client is involved, and an app never sees a half-made database.
  const fs::path setup = root / "setup.sql";
  if (auto ok = writePrivate(setup, mariadbSetupSql(server.user, server.password, databases), *as);
      !ok) {
    return tl::unexpected(ok.error());
  }
  server.port = freePort();
  if (server.port == 0) {
    fs::remove(setup, ec);
    return fail(ErrorCode::kUnavailable, "no free TCP port on 127.0.0.1 for MariaDB");
  }
  // utf8mb4 by default, as MySQL 8 has (MariaDB 10.11's default is latin1).
  ProcessSpec spec{"mariadb",
                   {install.server.string(), "--no-defaults", "--datadir=" + data.string(),
                    "--bind-address=127.0.0.1", fmt::format("--port={}", server.port),
                    "--socket=" + (run / kSocketName).string(),
                    "--pid-file=" + (run / "mariadbd.pid").string(), "--skip-name-resolve",
                    "--init-file=" + setup.string(), "--character-set-server=utf8mb4"},
                   {},
                   root,
                   as->uid,
                   as->gid};
  auto process = Process::start(spec);
  if (!process) {
    fs::remove(setup, ec);
    return tl::unexpected(process.error());
  }
  server.process = std::move(*process);
  pump.add(server.process);

  // A statement of the init file that fails is logged as "ERROR: <code> <text>", and the
  // server goes on starting.
  std::vector<std::string> setup_errors;
  auto ready = waitForLine(
      server.process, pump,
      [&setup_errors](const std::string& line) {
        if (line.rfind("ERROR: ", 0) == 0) setup_errors.push_back(line);
        return line.find("ready for connections") != std::string::npos;
      },
      kStartTimeout, "MariaDB");
  fs::remove(setup, ec);
  if (ready && !setup_errors.empty()) {
    std::string message = "MariaDB could not set up the databases:";
    for (const std::string& line : setup_errors)
      message += "\n  " + line;
    ready = fail(ErrorCode::kInternal, message);
  }
  if (!ready) {
    server.process.stop(SIGTERM, kStopGrace);
    pump.drain(server.process);
    return tl::unexpected(ready.error());
  }
  return server;
}

} // namespace exoflow::local
