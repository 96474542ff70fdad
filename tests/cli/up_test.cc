// `exoflow up` for real: exo-proxy, a private PostgreSQL or MariaDB and an app, started and
// stopped by the real exoflow binary. The app is a shell script that talks to the proxy with
// curl and to the databases with psql and mariadb, the way any app would, and writes what it saw
// to a file. Then the runtime's pure helpers, on their own.
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "local/mariadb.h"
#include "local/process.h"
#include "local/runtime.h"

namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

class UpTest : public testing::Test {
protected:
  void SetUp() override {
    // /tmp and not a private folder: PostgreSQL runs as another user when we are root.
    dir_ = fs::path("/tmp") /
           ("exoflow-up-test-" + std::to_string(::getpid()) + "-" + std::to_string(++counter_));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    fs::permissions(dir_, fs::perms::all);
  }
  void TearDown() override {
    fs::remove_all(fs::path("/tmp") / ("exoflow-up-test-" + std::to_string(::getpid()) + "-" +
                                       std::to_string(counter_)));
  }

  void write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name, std::ios::binary) << text;
  }

  /// Runs `exoflow up` to the end; returns its exit status and keeps its output in up.log.
  int up() {
    const std::string command = "cd '" + dir_.string() + "' && EXO_PROXY='" + EXO_PROXY_BINARY +
                                "' timeout 180 '" + EXOFLOW_BINARY + "' up >up.log 2>&1";
    const int status = std::system(command.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  fs::path dir_;
  static inline int counter_ = 0;
};

constexpr const char* kManifest = R"(exoflow: 1
app: up-test
compute:
  run: sh ./app.sh
  env: {GREETING: hello}
services:
  jobs: {kind: queue}
  notes: {kind: kv}
  main-db: {kind: database, engine: postgres}
targets:
  - {cloud: aws, region: us-east-1}
)";

// Counts its runs in kv: the first run finds nothing, the second finds what the first wrote.
constexpr const char* kApp = R"sh(set -e
auth="Authorization: Bearer $EXO_TOKEN"
echo "greeting=$GREETING" > seen.txt
echo "db_var=${EXO_DB_MAIN_DB_URL%%:*}" >> seen.txt
before=$(curl -s -H "$auth" "$EXO_ENDPOINT/v1/tables/notes/items/runs" || true)
echo "before=$before" >> seen.txt
runs=1
case "$before" in [0-9]*) runs=$((before + 1)) ;; esac
curl -sf -X PUT -H "$auth" --data "$runs" "$EXO_ENDPOINT/v1/tables/notes/items/runs" >/dev/null
curl -sf -X POST -H "$auth" -H 'Content-Type: application/json' \
  --data '{"messages": [{"body": "run"}]}' "$EXO_ENDPOINT/v1/queues/jobs/messages" >/dev/null
psql "$EXO_DB_MAIN_DB_URL" -qtAc "CREATE TABLE IF NOT EXISTS t (n int); INSERT INTO t VALUES ($runs)"
echo "rows=$(psql "$EXO_DB_MAIN_DB_URL" -tAc 'SELECT count(*) FROM t')" >> seen.txt
exit 7
)sh";

TEST_F(UpTest, RunsTheAppWithProxyAndDatabaseAndKeepsDataAcrossRuns) {
  // A deep folder, as projects often are: the database socket must still fit its 107 bytes.
  dir_ /= "a-rather-long-folder-name-for-a-project/and-one-more-level-below-it";
  fs::create_directories(dir_);
  write("exoflow.yaml", kManifest);
  write("app.sh", kApp);

  EXPECT_EQ(up(), 7) << slurp(dir_ / "up.log");
  const std::string first = slurp(dir_ / "seen.txt");
  EXPECT_NE(first.find("greeting=hello"), std::string::npos) << first;
  EXPECT_NE(first.find("db_var=postgres"), std::string::npos) << first;
  EXPECT_NE(first.find("rows=1"), std::string::npos) << first;
  const std::string log = slurp(dir_ / "up.log");
  EXPECT_NE(log.find("proxy   | listening on 127.0.0.1:"), std::string::npos) << log;
  EXPECT_NE(log.find("exoflow | the app exited with status 7"), std::string::npos) << log;
  EXPECT_NE(log.find("exoflow | stopped"), std::string::npos) << log;

  EXPECT_EQ(up(), 7) << slurp(dir_ / "up.log");
  const std::string second = slurp(dir_ / "seen.txt");
  EXPECT_NE(second.find("before=1"), std::string::npos) << second;
  EXPECT_NE(second.find("rows=2"), std::string::npos) << second;
  EXPECT_TRUE(fs::exists(dir_ / ".exoflow" / "proxy.yaml"));
}

TEST_F(UpTest, CtrlCStopsEverything) {
  write("exoflow.yaml", "exoflow: 1\napp: up-test\ncompute: {run: 'echo $$ > app.pid; echo "
                        "started; exec sleep 600'}\n"
                        "services: {jobs: {kind: queue}}\n"
                        "targets: [{cloud: aws, region: us-east-1}]\n");
  const std::string command = "cd '" + dir_.string() + "' && EXO_PROXY='" + EXO_PROXY_BINARY +
                              "' exec '" + EXOFLOW_BINARY + "' up >up.log 2>&1";
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  for (int i = 0; i < 300 && slurp(dir_ / "up.log").find("app     | started") == std::string::npos;
       ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_NE(slurp(dir_ / "up.log").find("app     | started"), std::string::npos)
      << slurp(dir_ / "up.log");
  ::kill(pid, SIGINT);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  const std::string log = slurp(dir_ / "up.log");
  EXPECT_NE(log.find("stopping the app"), std::string::npos) << log;
  EXPECT_NE(log.find("stopping exo-proxy"), std::string::npos) << log;
  const pid_t app = static_cast<pid_t>(std::stol(slurp(dir_ / "app.pid")));
  EXPECT_NE(::kill(app, 0), 0) << "the app's process is gone";
}

TEST_F(UpTest, AnInvalidManifestStartsNothing) {
  write("exoflow.yaml", "exoflow: 1\napp: up-test\n");
  EXPECT_EQ(up(), 1);
  EXPECT_NE(slurp(dir_ / "up.log").find("targets: required field is missing"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir_ / ".exoflow"));
}

// Parses EXO_DB_SHOP_DB_URL as any app would and keeps one row per run in a table.
constexpr const char* kMysqlApp = R"sh(set -e
url=$EXO_DB_SHOP_DB_URL
echo "scheme=${url%%://*}" > seen.txt
rest=${url#mysql://}
user=${rest%%:*}; rest=${rest#*:}
pass=${rest%%@*}; rest=${rest#*@}
host=${rest%%:*}; rest=${rest#*:}
port=${rest%%/*}; db=${rest#*/}
echo "host=$host user=$user db=$db" >> seen.txt
sql() { mariadb --no-defaults -h "$host" -P "$port" -u "$user" -p"$pass" -D "$db" -N -B -e "$1"; }
sql "CREATE TABLE IF NOT EXISTS notes (id INT AUTO_INCREMENT PRIMARY KEY, body VARCHAR(64))"
n=$(sql "SELECT COUNT(*) FROM notes")
sql "INSERT INTO notes (body) VALUES ('run $((n + 1))')"
echo "rows=$(sql "SELECT GROUP_CONCAT(body ORDER BY id) FROM notes")" >> seen.txt
proxy=$(curl -s -H "Authorization: Bearer $EXO_TOKEN" "$EXO_ENDPOINT/v1/databases/shop-db")
echo "proxy=$proxy" >> seen.txt
case "$proxy" in *"\"port\":$port,"*) echo "proxy_port=same" >> seen.txt ;; esac
)sh";

TEST_F(UpTest, RunsAMysqlDatabaseOnMariadbAndKeepsItsRowsAcrossRuns) {
  write("exoflow.yaml", "exoflow: 1\napp: up-test\ncompute: {run: sh ./app.sh}\n"
                        "services: {shop-db: {kind: database, engine: mysql, version: '8.4'}}\n"
                        "targets: [{cloud: aws, region: us-east-1}]\n");
  write("app.sh", kMysqlApp);

  EXPECT_EQ(up(), 0) << slurp(dir_ / "up.log");
  const std::string first = slurp(dir_ / "seen.txt");
  EXPECT_NE(first.find("scheme=mysql\n"), std::string::npos) << first;
  EXPECT_NE(first.find("host=127.0.0.1 user=exoflow db=shop_db\n"), std::string::npos) << first;
  EXPECT_NE(first.find("rows=run 1\n"), std::string::npos) << first;
  // The proxy serves the same server's credentials, as a local.mysql binding.
  EXPECT_NE(first.find(R"("engine":"mysql")"), std::string::npos) << first;
  EXPECT_NE(first.find("proxy_port=same"), std::string::npos) << first;
  EXPECT_NE(slurp(dir_ / ".exoflow" / "proxy.yaml").find("type: local.mysql"), std::string::npos);
  const std::string log = slurp(dir_ / "up.log");
  EXPECT_NE(log.find("exoflow | the manifest asks for MySQL 8.4; locally, mysql databases run on "
                     "MariaDB 10."),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("exoflow | initialising MariaDB"), std::string::npos) << log;
  EXPECT_NE(log.find("mariadb | "), std::string::npos) << log;
  EXPECT_NE(log.find("Server socket created on IP: '127.0.0.1'"), std::string::npos) << log;
  EXPECT_EQ(log.find("mariadb | ERROR: "), std::string::npos) << "the set-up went through\n" << log;
  EXPECT_NE(log.find("exoflow | stopping MariaDB"), std::string::npos) << log;
  EXPECT_NE(log.find("Shutdown complete"), std::string::npos) << "a clean stop\n" << log;
  EXPECT_FALSE(fs::exists(dir_ / ".exoflow" / "mariadb" / "run" / "mariadbd.pid"));
  EXPECT_FALSE(fs::exists(dir_ / ".exoflow" / "mariadb" / "setup.sql")) << "it holds a password";

  EXPECT_EQ(up(), 0) << slurp(dir_ / "up.log");
  const std::string second = slurp(dir_ / "seen.txt");
  EXPECT_NE(second.find("rows=run 1,run 2\n"), std::string::npos) << second;
  EXPECT_EQ(slurp(dir_ / "up.log").find("initialising MariaDB"), std::string::npos);
}

constexpr const char* kBothManifest = R"(exoflow: 1
app: up-test
compute: {run: sh ./app.sh}
services:
  pg-db: {kind: database, engine: postgres}
  my-db: {kind: database, engine: mysql}
targets:
  - {cloud: aws, region: us-east-1}
)";

constexpr const char* kBothApp = R"sh(set -e
echo "pg=${EXO_DB_PG_DB_URL%%:*} my=${EXO_DB_MY_DB_URL%%:*}" > seen.txt
echo "pg_rows=$(psql "$EXO_DB_PG_DB_URL" -qtAc 'CREATE TABLE t (n int); INSERT INTO t VALUES (5); SELECT sum(n) FROM t')" >> seen.txt
rest=${EXO_DB_MY_DB_URL#mysql://}
user=${rest%%:*}; rest=${rest#*:}
pass=${rest%%@*}; rest=${rest#*@}
host=${rest%%:*}; rest=${rest#*:}
port=${rest%%/*}; db=${rest#*/}
echo "my_rows=$(mariadb --no-defaults -h "$host" -P "$port" -u "$user" -p"$pass" -D "$db" -N -B \
  -e 'CREATE TABLE t (n INT); INSERT INTO t VALUES (6); SELECT SUM(n) FROM t')" >> seen.txt
)sh";

TEST_F(UpTest, APostgresAndAMysqlDatabaseEachGetTheirServer) {
  // A deep folder: MariaDB's socket, too, must then move to a short folder.
  dir_ /= "a-rather-long-folder-name-for-a-project/and-one-more-level-below-it";
  fs::create_directories(dir_);
  write("exoflow.yaml", kBothManifest);
  write("app.sh", kBothApp);

  EXPECT_EQ(up(), 0) << slurp(dir_ / "up.log");
  const std::string seen = slurp(dir_ / "seen.txt");
  EXPECT_NE(seen.find("pg=postgres my=mysql\n"), std::string::npos) << seen;
  EXPECT_NE(seen.find("pg_rows=5\n"), std::string::npos) << seen;
  EXPECT_NE(seen.find("my_rows=6\n"), std::string::npos) << seen;
  const std::string log = slurp(dir_ / "up.log");
  EXPECT_NE(log.find("exoflow | stopping PostgreSQL"), std::string::npos) << log;
  EXPECT_NE(log.find("exoflow | stopping MariaDB"), std::string::npos) << log;
  EXPECT_NE(log.find("Shutdown complete"), std::string::npos) << log;
  const std::string config = slurp(dir_ / ".exoflow" / "proxy.yaml");
  EXPECT_NE(config.find("type: local.postgres"), std::string::npos) << config;
  EXPECT_NE(config.find("type: local.mysql"), std::string::npos) << config;
}

TEST_F(UpTest, AMariadbThatDiesAtStartUpIsReportedWithTheEndOfItsLog) {
  write("exoflow.yaml", "exoflow: 1\napp: up-test\ncompute: {run: 'echo started'}\n"
                        "services: {shop-db: {kind: database, engine: mysql}}\n"
                        "targets: [{cloud: aws, region: us-east-1}]\n");
  // A data directory without MariaDB's system tables: the server gives up as it starts.
  fs::create_directories(dir_ / ".exoflow" / "mariadb" / "data");

  EXPECT_EQ(up(), 1);
  const std::string log = slurp(dir_ / "up.log");
  EXPECT_NE(log.find("exoflow | error: MariaDB exited with status 1 while starting; the last "
                     "lines of its log:\n  "),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("[ERROR] Aborting"), std::string::npos) << log;
  EXPECT_EQ(log.find("app     | started"), std::string::npos) << log;
  EXPECT_EQ(log.find("proxy   |"), std::string::npos) << log;
}

// The runtime's pure helpers. Their suite name starts with "Up" so `ctest -R Up` runs them too.

TEST(UpHelpersTest, MysqlUrlNamesUserPasswordLoopbackPortAndDatabase) {
  exoflow::local::MariadbServer server;
  server.user = "exoflow";
  server.password = "0a1b";
  server.port = 33061;
  EXPECT_EQ(exoflow::local::mysqlUrl(server, "shop_db"),
            "mysql://exoflow:0a1b@127.0.0.1:33061/shop_db");
}

TEST(UpHelpersTest, DatabaseUrlVariableIsTheServiceNameUpperCased) {
  EXPECT_EQ(exoflow::local::databaseUrlVariable("shop-db"), "EXO_DB_SHOP_DB_URL");
}

TEST(UpHelpersTest, MariadbVersionIsReadFromTheServersAnswer) {
  using exoflow::local::parseMariadbVersion;
  EXPECT_EQ(parseMariadbVersion("/usr/sbin/mariadbd  Ver 10.11.19-MariaDB-0+deb12u1 for "
                                "debian-linux-gnu on x86_64 (Debian 12)\n"),
            "10.11.19");
  EXPECT_EQ(parseMariadbVersion("mariadbd Ver 11.4.2-MariaDB for Linux"), "11.4.2");
  EXPECT_EQ(parseMariadbVersion("something else entirely"), "");
}

TEST(UpHelpersTest, MariadbSetupCreatesWhatIsMissingAndGrantsEachDatabase) {
  EXPECT_EQ(exoflow::local::mariadbSetupSql("exoflow", "0a1b", {"shop_db", "audit"}),
            "CREATE DATABASE IF NOT EXISTS `shop_db`;\n"
            "CREATE DATABASE IF NOT EXISTS `audit`;\n"
            "CREATE USER IF NOT EXISTS 'exoflow'@'127.0.0.1' IDENTIFIED BY '0a1b';\n"
            "ALTER USER 'exoflow'@'127.0.0.1' IDENTIFIED BY '0a1b';\n"
            "GRANT ALL PRIVILEGES ON `shop_db`.* TO 'exoflow'@'127.0.0.1';\n"
            "GRANT ALL PRIVILEGES ON `audit`.* TO 'exoflow'@'127.0.0.1';\n");
}

TEST(UpHelpersTest, MariadbSetupQuotesNamesAndPasswords) {
  const std::string sql = exoflow::local::mariadbSetupSql("o'brien", R"(it's\)", {"we`ird"});
  EXPECT_NE(sql.find("CREATE DATABASE IF NOT EXISTS `we``ird`;"), std::string::npos) << sql;
  EXPECT_NE(sql.find(R"('o''brien'@'127.0.0.1' IDENTIFIED BY 'it''s\\';)"), std::string::npos)
      << sql;
}

TEST(UpHelpersTest, AMissingMariadbSaysHowToInstallIt) {
  auto found = exoflow::local::findMariadb({"/nonexistent/bin"});
  ASSERT_FALSE(found.has_value());
  EXPECT_NE(found.error().message.find("no MariaDB server is installed"), std::string::npos);
  EXPECT_NE(found.error().message.find("run scripts/setup or `apt-get install mariadb-server "
                                       "mariadb-client`"),
            std::string::npos)
      << found.error().message;
}

TEST(UpHelpersTest, AnInstalledMariadbIsFoundWithItsVersion) {
  auto found = exoflow::local::findMariadb({"/usr/sbin", "/usr/bin"});
  ASSERT_TRUE(found.has_value()) << found.error().message;
  EXPECT_EQ(found->server, "/usr/sbin/mariadbd");
  EXPECT_EQ(found->install_db, "/usr/bin/mariadb-install-db");
  EXPECT_EQ(found->version.rfind("10.", 0), 0U) << found->version;
}

TEST(UpHelpersTest, ASocketFolderMovesToTmpOnlyWhenItsPathIsTooLong) {
  using exoflow::local::socketFolder;
  EXPECT_EQ(socketFolder("/srv/shop/.exoflow/mariadb/run", "mysqld.sock", "my"),
            "/srv/shop/.exoflow/mariadb/run");
  const fs::path deep = "/srv/" + std::string(90, 'x') + "/.exoflow/mariadb/run";
  const fs::path moved = socketFolder(deep, "mysqld.sock", "my");
  EXPECT_EQ(moved.parent_path(), "/tmp");
  EXPECT_EQ(moved.filename().string().rfind("exoflow-my-", 0), 0U) << moved;
  EXPECT_EQ(socketFolder(deep, "mysqld.sock", "my"), moved) << "the same folder on every run";
  EXPECT_NE(socketFolder(deep.string() + "2", "mysqld.sock", "my"), moved);
}

} // namespace
