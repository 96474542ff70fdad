// Golden tests: `exoflow synth --target all` of every case manifest (tests/synth/cases/*.yaml
// and the example web shop) gives exactly the files under tests/synth/golden/<case>/. Set
// EXOFLOW_UPDATE_GOLDEN=1 to rewrite them after a deliberate change, then review the diff;
// tests/synth/cfn_lint.sh and SchemaTest check the rewritten templates.
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "synth/synth.h"
#include "synth_test_util.h"

namespace exoflow::synth {
namespace {

namespace fs = std::filesystem;
using test::caseNames;

class GoldenSynthTest : public testing::TestWithParam<std::string> {};

TEST_P(GoldenSynthTest, WritesExactlyItsPinnedFiles) {
  const model::App app = test::loadApp(test::caseManifest(GetParam()));
  auto out = synthesize(app, TargetSet::kAll);
  ASSERT_TRUE(out.has_value()) << out.error().message;
  const fs::path dir = test::synthTestDir() / "golden" / GetParam();
  if (std::getenv("EXOFLOW_UPDATE_GOLDEN") != nullptr) {
    fs::remove_all(dir);
    for (const OutputFile& f : out->files) {
      fs::create_directories((dir / f.path).parent_path());
      std::ofstream(dir / f.path, std::ios::binary) << f.content;
    }
    return;
  }
  std::vector<std::string> written;
  for (const OutputFile& f : out->files) {
    written.push_back(f.path);
    EXPECT_EQ(f.content, test::readFile(dir / f.path)) << "golden file: " << (dir / f.path);
  }
  std::sort(written.begin(), written.end());
  EXPECT_EQ(written, test::filesUnder(dir)) << "the set of files differs from " << dir;
}

INSTANTIATE_TEST_SUITE_P(Cases, GoldenSynthTest, testing::ValuesIn(caseNames()),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (char& c : name)
                             c = c == '-' ? '_' : c;
                           return name;
                         });

TEST(GoldenSynthTest, SynthesisIsByteIdenticalRunToRun) {
  for (const std::string& name : caseNames()) {
    const model::App app = test::loadApp(test::caseManifest(name));
    auto first = synthesize(app, TargetSet::kAll);
    auto second = synthesize(test::loadApp(test::caseManifest(name)), TargetSet::kAll);
    ASSERT_TRUE(first && second);
    ASSERT_EQ(first->files.size(), second->files.size()) << name;
    for (std::size_t i = 0; i < first->files.size(); ++i) {
      EXPECT_EQ(first->files[i].path, second->files[i].path);
      EXPECT_EQ(first->files[i].content, second->files[i].content) << first->files[i].path;
    }
  }
}

} // namespace
} // namespace exoflow::synth
