// Golden tests: every tests/manifests/invalid/<case>.yaml prints exactly <case>.expected and
// fails; every tests/manifests/valid/<case>.yaml passes, printing <case>.expected (warnings)
// or nothing. Set EXOFLOW_UPDATE_GOLDEN=1 to rewrite the .expected files after a deliberate
// change, then review the diff.
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "manifest/manifest.h"

namespace exoflow::manifest {
namespace {

namespace fs = std::filesystem;

const fs::path kManifests = fs::path(EXOFLOW_SOURCE_DIR) / "tests" / "manifests";

std::vector<std::string> casesIn(const std::string& folder) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(kManifests / folder)) {
    if (entry.path().extension() == ".yaml") names.push_back(entry.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string readFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

/// Checks one case as `exoflow validate` would, naming the file as it is named on disk.
LoadResult check(const std::string& folder, const std::string& name) {
  const fs::path yaml = kManifests / folder / (name + ".yaml");
  CheckOptions options;
  options.base_dir = yaml.parent_path();
  return checkManifest(name + ".yaml", readFile(yaml), options);
}

void compareWithGolden(const std::string& folder, const std::string& name,
                       const std::string& actual) {
  const fs::path expected_path = kManifests / folder / (name + ".expected");
  if (std::getenv("EXOFLOW_UPDATE_GOLDEN") != nullptr) {
    if (actual.empty()) {
      fs::remove(expected_path);
    } else {
      std::ofstream(expected_path, std::ios::binary) << actual;
    }
    return;
  }
  const std::string expected = fs::exists(expected_path) ? readFile(expected_path) : "";
  EXPECT_EQ(actual, expected) << "golden file: " << expected_path.string();
}

class InvalidManifestTest : public testing::TestWithParam<std::string> {};

TEST_P(InvalidManifestTest, PrintsItsPinnedDiagnosticsAndFails) {
  const LoadResult result = check("invalid", GetParam());
  EXPECT_FALSE(result.app.has_value());
  EXPECT_TRUE(hasErrors(result.diagnostics));
  ASSERT_TRUE(std::getenv("EXOFLOW_UPDATE_GOLDEN") != nullptr ||
              fs::exists(kManifests / "invalid" / (GetParam() + ".expected")))
      << "every invalid case needs its .expected file";
  compareWithGolden("invalid", GetParam(), formatText(result.diagnostics));
}

INSTANTIATE_TEST_SUITE_P(Cases, InvalidManifestTest, testing::ValuesIn(casesIn("invalid")),
                         [](const auto& info) { return info.param; });

class ValidManifestTest : public testing::TestWithParam<std::string> {};

TEST_P(ValidManifestTest, PassesWithOnlyItsPinnedWarnings) {
  const LoadResult result = check("valid", GetParam());
  EXPECT_TRUE(result.app.has_value()) << formatText(result.diagnostics);
  EXPECT_FALSE(hasErrors(result.diagnostics));
  compareWithGolden("valid", GetParam(), formatText(result.diagnostics));
}

INSTANTIATE_TEST_SUITE_P(Cases, ValidManifestTest, testing::ValuesIn(casesIn("valid")),
                         [](const auto& info) { return info.param; });

TEST(GoldenSuiteTest, HasAtLeastThirtyInvalidCases) {
  EXPECT_GE(casesIn("invalid").size(), 30U);
}

TEST(ExampleManifestTest, WebshopIsValidAndUsesEverySection) {
  const fs::path path = fs::path(EXOFLOW_SOURCE_DIR) / "examples" / "webshop" / "exoflow.yaml";
  auto loaded = loadManifestFile(path, "exoflow.yaml");
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(formatText(loaded->diagnostics), "");
  ASSERT_TRUE(loaded->app.has_value());
  const model::App& app = *loaded->app;
  EXPECT_EQ(app.name, "webshop");
  ASSERT_TRUE(app.compute.has_value());
  EXPECT_FALSE(app.routes.empty());
  EXPECT_FALSE(app.ports.empty());
  ASSERT_EQ(app.targets.size(), 3U);
  EXPECT_EQ(app.targets[0].region, "us-east-1");
  EXPECT_EQ(app.targets[1].region, "us-west-2");
  EXPECT_EQ(app.targets[2].cloud, model::Cloud::kAzure);
  EXPECT_EQ(app.targets[2].region, "eastus");
  ASSERT_TRUE(app.failover.has_value());
  ASSERT_TRUE(app.failover->dns.has_value());
  bool kinds[4] = {false, false, false, false};
  for (const model::Service& s : app.services)
    kinds[s.spec.index()] = true;
  EXPECT_TRUE(kinds[0] && kinds[1] && kinds[2] && kinds[3]) << "queue, objects, kv, database";
}

} // namespace
} // namespace exoflow::manifest
