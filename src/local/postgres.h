#pragma once
// A private PostgreSQL server for `exoflow up`: Debian's installed major version, data under
// .exoflow/postgres, listening on 127.0.0.1 only, run as an unprivileged user when we are root
// (initdb and postgres refuse to run as root).

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "local/log_pump.h"
#include "local/process.h"

namespace exoflow::local {

struct PostgresInstall {
  std::filesystem::path bin_dir; ///< /usr/lib/postgresql/<major>/bin
  int major = 0;
};

/// The newest PostgreSQL server installed, or an error saying how to install one.
Result<PostgresInstall> findPostgres();

struct PostgresServer {
  Process process;
  int port = 0;
  std::string user;
  std::string password;
  std::filesystem::path socket_dir;
};

/// Initialises the cluster on first use (keeping its data across runs), starts the server on a
/// free port, waits until it accepts connections, and creates each database that is missing.
Result<PostgresServer> startPostgres(const PostgresInstall& install,
                                     const std::filesystem::path& state_dir,
                                     const std::vector<std::string>& databases, LogPump& pump);

/// `postgres://user:password@127.0.0.1:port/database`
std::string postgresUrl(const PostgresServer& server, const std::string& database);

/// A database name for a service: "shop-db" -> "shop_db".
std::string databaseName(const std::string& service);

} // namespace exoflow::local
