#include "synth_test_util.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "manifest/manifest.h"

namespace exoflow::synth::test {

namespace fs = std::filesystem;

fs::path synthTestDir() {
  return fs::path(EXOFLOW_SOURCE_DIR) / "tests" / "synth";
}

std::vector<std::string> caseNames() {
  std::vector<std::string> names = {"webshop"};
  for (const auto& entry : fs::directory_iterator(synthTestDir() / "cases")) {
    if (entry.path().extension() == ".yaml") names.push_back(entry.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

fs::path caseManifest(const std::string& name) {
  if (name == "webshop") {
    return fs::path(EXOFLOW_SOURCE_DIR) / "examples" / "webshop" / "exoflow.yaml";
  }
  return synthTestDir() / "cases" / (name + ".yaml");
}

std::string readFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

model::App appFromText(const std::string& text) {
  manifest::LoadResult result = manifest::checkManifest("exoflow.yaml", text);
  EXPECT_TRUE(result.app.has_value()) << manifest::formatText(result.diagnostics);
  return result.app.value_or(model::App{});
}

model::App loadApp(const fs::path& path) {
  return appFromText(readFile(path));
}

std::vector<std::string> filesUnder(const fs::path& dir) {
  std::vector<std::string> files;
  if (!fs::exists(dir)) return files;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) files.push_back(fs::relative(entry.path(), dir).generic_string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

} // namespace exoflow::synth::test
