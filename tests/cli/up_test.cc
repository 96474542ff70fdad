// `exoflow up` for real: exo-proxy, a private PostgreSQL and an app, started and stopped by the
// real exoflow binary. The app is a shell script that talks to the proxy with curl and to the
// database with psql, the way any app would, and writes what it saw to a file.
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

} // namespace
