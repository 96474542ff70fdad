// `exoflow synth` as users run it: files on disk, byte-identical run to run, exit codes.
#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "synth_test_util.h"

namespace exoflow::synth {
namespace {

namespace fs = std::filesystem;

int run(const std::string& args) {
  const int status =
      std::system(fmt::format("{} {} >/dev/null 2>&1", EXOFLOW_BINARY, args).c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(SynthCommandTest, TwoRunsWriteTheSameBytes) {
  const fs::path dir = fs::temp_directory_path() / "exoflow-synth-command-test";
  fs::remove_all(dir);
  const std::string manifest = test::caseManifest("webshop").string();
  ASSERT_EQ(run(fmt::format("synth -f {} --out {}", manifest, (dir / "a").string())), 0);
  ASSERT_EQ(run(fmt::format("synth -f {} --out {}", manifest, (dir / "b").string())), 0);
  const std::vector<std::string> files = test::filesUnder(dir / "a");
  EXPECT_EQ(files, test::filesUnder(dir / "b"));
  EXPECT_GE(files.size(), 7U);
  for (const std::string& f : files)
    EXPECT_EQ(test::readFile(dir / "a" / f), test::readFile(dir / "b" / f)) << f;
  // A second run into the same folder leaves nothing of the first behind.
  ASSERT_EQ(run(fmt::format("synth -f {} --target aws --out {}", test::caseManifest("kv").string(),
                            (dir / "a").string())),
            0);
  EXPECT_FALSE(fs::exists(dir / "a" / "aws" / "us-east-1"));
  EXPECT_TRUE(fs::exists(dir / "a" / "aws" / "ca-central-1" / "app.json"));
  fs::remove_all(dir);
}

TEST(SynthCommandTest, ExitCodesSayWhatWentWrong) {
  const std::string manifest = test::caseManifest("webshop").string();
  EXPECT_EQ(run(fmt::format("synth -f {} --target azure --out /tmp/exoflow-unused",
                            test::caseManifest("kv").string())),
            1);
  EXPECT_EQ(run("synth -f /nonexistent/exoflow.yaml"), 2);
  EXPECT_EQ(run(fmt::format("synth -f {} --target gcp", manifest)), 2);
}

} // namespace
} // namespace exoflow::synth
