#pragma once
// A private MariaDB server for `exoflow up`'s `engine: mysql` databases: the installed
// mariadbd, data under .exoflow/mariadb, listening on 127.0.0.1 only, reading no option file
// (--no-defaults), run as an unprivileged user when we are root (mariadbd refuses root).

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "local/log_pump.h"
#include "local/process.h"

namespace exoflow::local {

struct MariadbInstall {
  std::filesystem::path server;     ///< mariadbd
  std::filesystem::path install_db; ///< mariadb-install-db
  std::string version;              ///< "10.11.19"; empty when mariadbd does not say
};

/// The folders searched for MariaDB's programs: those on PATH, then /usr/sbin and
/// /usr/local/sbin (where mariadbd lives, often not on a user's PATH).
std::vector<std::filesystem::path> mariadbSearchPath();

/// The MariaDB server installed in one of `dirs`, or an error saying how to install one.
Result<MariadbInstall> findMariadb(const std::vector<std::filesystem::path>& dirs);

/// The version in `mariadbd --version`'s answer ("mariadbd  Ver 10.11.19-MariaDB-0+deb12u1
/// for ..." gives "10.11.19"); empty when there is none.
std::string parseMariadbVersion(std::string_view version_output);

struct MariadbServer {
  Process process;
  int port = 0;
  std::string user;
  std::string password;
  std::filesystem::path socket_dir;
};

/// Initialises the data directory on first use (keeping its data across runs), starts the
/// server on a free port with each missing database created and `user` allowed into them
/// with the password kept in .exoflow/mariadb/password, and waits until it accepts
/// connections.
Result<MariadbServer> startMariadb(const MariadbInstall& install,
                                   const std::filesystem::path& state_dir,
                                   const std::vector<std::string>& databases, LogPump& pump);

/// The statements the server runs as it starts (its --init-file): create what is missing, set
/// the password, grant `user` every right on each database. Each statement on its own line.
std::string mariadbSetupSql(const std::string& user, const std::string& password,
                            const std::vector<std::string>& databases);

/// `mysql://user:password@127.0.0.1:port/database`
std::string mysqlUrl(const MariadbServer& server, const std::string& database);

} // namespace exoflow::local
