// Runs the real exoflow binary, as a user would, and checks exit codes and output.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/wait.h>

namespace {

namespace fs = std::filesystem;

struct CliRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

class CliTest : public testing::Test {
protected:
  void SetUp() override {
    const auto* info = testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("exoflow-cli-" + std::string(info->name()) + "-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  /// Runs `exoflow <args>` in the test's own folder.
  CliRun exoflow(const std::string& args) {
    const std::string command =
        "cd '" + dir_.string() + "' && '" + EXOFLOW_BINARY + "' " + args + " >out.txt 2>err.txt";
    const int status = std::system(command.c_str());
    CliRun run;
    run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    run.out = slurp(dir_ / "out.txt");
    run.err = slurp(dir_ / "err.txt");
    return run;
  }

  void write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name, std::ios::binary) << text;
  }

  static std::string manifests() { return std::string(EXOFLOW_SOURCE_DIR) + "/tests/manifests"; }

  fs::path dir_;
};

TEST_F(CliTest, ValidateAcceptsTheWebshopExample) {
  const CliRun run = exoflow("validate -f '" + std::string(EXOFLOW_SOURCE_DIR) +
                             "/examples/webshop/exoflow.yaml'");
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.err, "");
  EXPECT_NE(run.out.find("valid (app webshop: 4 services, 3 targets)"), std::string::npos);
}

TEST_F(CliTest, ValidateReadsExoflowYamlByDefault) {
  write("exoflow.yaml", "exoflow: 1\napp: shop\ntargets: [{cloud: aws, region: us-east-1}]\n");
  const CliRun run = exoflow("validate");
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, "exoflow.yaml: valid (app shop: 0 services, 1 target)\n");
}

TEST_F(CliTest, ValidateReportsEveryErrorOnStderrWithTheFileAsGiven) {
  write("bad.yaml", "exoflow: 1\napp: Shop\ntargets:\n  - {cloud: gcp, region: x}\n"
                    "services:\n  orders: {kind: queue, visiblity_timeout: 30s}\n");
  const CliRun run = exoflow("validate -f bad.yaml");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(run.out, "");
  EXPECT_EQ(run.err,
            "bad.yaml:2:6: error: app: expected an app name such as webshop, got \"Shop\"\n"
            "  hint: a name starts with a lowercase letter\n"
            "bad.yaml:4:13: error: targets[0].cloud: expected one of aws or azure, got "
            "\"gcp\"\n"
            "bad.yaml:6:25: error: services.orders.visiblity_timeout: unknown key "
            "\"visiblity_timeout\"\n"
            "  hint: did you mean \"visibility_timeout\"?\n"
            "bad.yaml: 3 errors\n");
}

TEST_F(CliTest, ValidateJsonPrintsAnArrayOnStdout) {
  write("bad.yaml", "exoflow: 1\napp: shop\ntargets: [{cloud: aws, region: us-east-1, x: 1}]\n");
  const CliRun run = exoflow("validate -f bad.yaml --output json");
  EXPECT_EQ(run.exit_code, 1);
  const auto json = nlohmann::json::parse(run.out);
  ASSERT_TRUE(json.is_array());
  ASSERT_EQ(json.size(), 1U);
  EXPECT_EQ(json[0]["file"], "bad.yaml");
  EXPECT_EQ(json[0]["line"], 3);
  EXPECT_EQ(json[0]["column"], 43);
  EXPECT_EQ(json[0]["severity"], "error");
  EXPECT_EQ(json[0]["path"], "targets[0].x");
  EXPECT_EQ(json[0]["message"], "unknown key \"x\"");
  EXPECT_EQ(json[0]["hint"], "expected cloud or region");
}

TEST_F(CliTest, ValidateJsonOfAValidFileIsAnEmptyArray) {
  write("ok.yaml", "exoflow: 1\napp: shop\ntargets: [{cloud: azure, region: eastus}]\n");
  const CliRun run = exoflow("validate -f ok.yaml -o json");
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_EQ(nlohmann::json::parse(run.out), nlohmann::json::array());
}

TEST_F(CliTest, WarningsAloneDoNotFailValidation) {
  const CliRun run = exoflow("validate -f '" + manifests() + "/valid/warnings_only.yaml' -o json");
  EXPECT_EQ(run.exit_code, 0);
  const auto json = nlohmann::json::parse(run.out);
  ASSERT_EQ(json.size(), 2U);
  EXPECT_EQ(json[0]["severity"], "warning");
  EXPECT_EQ(json[1]["severity"], "warning");
}

TEST_F(CliTest, AnUnreadableFileExitsTwo) {
  const CliRun missing = exoflow("validate -f nowhere.yaml");
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("nowhere.yaml: cannot open"), std::string::npos) << missing.err;
  fs::create_directory(dir_ / "folder.yaml");
  const CliRun folder = exoflow("validate -f folder.yaml");
  EXPECT_EQ(folder.exit_code, 2);
  EXPECT_NE(folder.err.find("folder.yaml: is a directory"), std::string::npos) << folder.err;
}

TEST_F(CliTest, UsageErrorsExitTwo) {
  EXPECT_EQ(exoflow("").exit_code, 2);
  EXPECT_EQ(exoflow("frobnicate").exit_code, 2);
  EXPECT_EQ(exoflow("validate --no-such-flag").exit_code, 2);
  const CliRun bad_format = exoflow("validate --output yaml");
  EXPECT_EQ(bad_format.exit_code, 2);
  EXPECT_NE(bad_format.err.find("yaml"), std::string::npos);
}

TEST_F(CliTest, EveryCommandHasHelp) {
  for (const std::string command : {"", "init ", "validate ", "version "}) {
    const CliRun run = exoflow(command + "--help");
    EXPECT_EQ(run.exit_code, 0) << command;
    EXPECT_NE(run.out.find("Usage"), std::string::npos) << command << run.out;
  }
  EXPECT_NE(exoflow("--help").out.find("validate"), std::string::npos);
  EXPECT_NE(exoflow("validate --help").out.find("--output"), std::string::npos);
}

TEST_F(CliTest, VersionPrintsTheVersion) {
  const CliRun run = exoflow("version");
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_EQ(run.out.rfind("exoflow ", 0), 0U) << run.out;
  EXPECT_NE(run.out.find("manifest format 1"), std::string::npos);
  EXPECT_EQ(exoflow("--version").exit_code, 0);
}

TEST_F(CliTest, InitWritesAStarterThatValidates) {
  const CliRun init = exoflow("init --app my-shop");
  EXPECT_EQ(init.exit_code, 0) << init.err;
  const std::string text = slurp(dir_ / "exoflow.yaml");
  EXPECT_NE(text.find("app: my-shop"), std::string::npos);
  EXPECT_NE(text.find("# "), std::string::npos) << "the starter explains itself";
  const CliRun validate = exoflow("validate");
  EXPECT_EQ(validate.exit_code, 0) << validate.err;
  EXPECT_EQ(validate.err, "");
}

TEST_F(CliTest, InitNamesTheAppAfterTheFolder) {
  const CliRun init = exoflow("init -f other.yaml");
  EXPECT_EQ(init.exit_code, 0) << init.err;
  EXPECT_NE(slurp(dir_ / "other.yaml").find("app: exoflow-cli-"), std::string::npos);
}

TEST_F(CliTest, InitRefusesToOverwrite) {
  write("exoflow.yaml", "mine\n");
  const CliRun run = exoflow("init");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.err.find("already exists"), std::string::npos);
  EXPECT_EQ(slurp(dir_ / "exoflow.yaml"), "mine\n");
}

TEST_F(CliTest, InitRefusesABadAppName) {
  const CliRun run = exoflow("init --app Bad_Name");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.err.find("not a valid app name"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir_ / "exoflow.yaml"));
}

} // namespace

TEST_F(CliTest, CertsMakesACaAndAPeerCertificatePerTarget) {
  const std::string manifest =
      "--file '" + std::string(EXOFLOW_SOURCE_DIR) + "/examples/webshop/exoflow.yaml'";
  CliRun run = exoflow("certs " + manifest + " --out pki");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  for (const char* name : {"ca", "aws-us-east-1", "aws-us-west-2", "azure-eastus"}) {
    const fs::path key = dir_ / "pki" / (std::string(name) + ".key");
    ASSERT_TRUE(fs::exists(key)) << name;
    EXPECT_EQ(fs::status(key).permissions() & fs::perms::all,
              fs::perms::owner_read | fs::perms::owner_write)
        << name;
  }
  // The app's peer token: one for every target, 0600, 32 random bytes in hex.
  const fs::path token_file = dir_ / "pki" / "peer-token";
  ASSERT_TRUE(fs::exists(token_file));
  EXPECT_EQ(fs::status(token_file).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  const std::string token = slurp(token_file);
  EXPECT_EQ(token.size(), 65U) << token;
  EXPECT_EQ(token.find_first_not_of("0123456789abcdef"), 64U) << token;
  EXPECT_NE(run.out.find("wrote pki/peer-token\n"), std::string::npos) << run.out;

  // A real judge: OpenSSL checks the chain, the purpose and the names.
  const std::string verify = "cd '" + dir_.string() +
                             "/pki' && openssl verify -CAfile ca.crt -purpose sslserver "
                             "-verify_hostname azure-eastus azure-eastus.crt >/dev/null && "
                             "openssl verify -CAfile ca.crt -purpose sslclient -verify_ip "
                             "127.0.0.1 aws-us-east-1.crt >/dev/null";
  EXPECT_EQ(std::system(verify.c_str()), 0);

  // Nothing is replaced without -f; with -f everything is.
  const std::string before = slurp(dir_ / "pki" / "azure-eastus.crt");
  run = exoflow("certs " + manifest + " --out pki");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.err.find("refusing to overwrite"), std::string::npos) << run.err;
  EXPECT_EQ(slurp(dir_ / "pki" / "azure-eastus.crt"), before);
  run = exoflow("certs " + manifest + " --out pki -f");
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(slurp(dir_ / "pki" / "azure-eastus.crt"), before);
  const std::string new_token = slurp(token_file);
  EXPECT_NE(new_token, token) << "-f replaces the token too";

  // A new name joins the existing CA.
  const std::string ca = slurp(dir_ / "pki" / "ca.crt");
  run = exoflow("certs --out pki --targets extra-node");
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(slurp(dir_ / "pki" / "ca.crt"), ca);
  EXPECT_EQ(slurp(token_file), new_token) << "the deployed targets have it";
  EXPECT_EQ(std::system(("cd '" + dir_.string() +
                         "/pki' && openssl verify -CAfile ca.crt extra-node.crt >/dev/null")
                            .c_str()),
            0);
  EXPECT_EQ(exoflow("certs --out pki --targets 'bad/name'").exit_code, 2);
}
