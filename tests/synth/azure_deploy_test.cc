// `exoflow deploy --target azure` and `exoflow plan --target azure` as users run them: the exact
// commands of --dry-run, a clear error without the Azure CLI, and a whole deploy through a
// stand-in `az` that records its arguments and answers like the real one.
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "synth_test_util.h"

namespace exoflow::synth {
namespace {

namespace fs = std::filesystem;

struct CommandRun {
  int status = -1;
  std::string out;
  std::string err;
};

class AzureDeployTest : public testing::Test {
protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           fmt::format("exoflow-azure-deploy-{}",
                       testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "dist");
    std::ofstream(dir_ / "dist" / "app.sh") << "echo hi\n";
    std::ofstream(dir_ / "id.pub") << "ssh-ed25519 AAAA test\n";
  }
  void TearDown() override { fs::remove_all(dir_); }

  void writeManifest(const std::string& text) { std::ofstream(dir_ / "exoflow.yaml") << text; }

  /// Runs exoflow in the test folder with `path` as PATH.
  CommandRun run(const std::string& args, const std::string& path) {
    const std::string cmd = fmt::format("cd '{}' && PATH='{}' '{}' {} >out.txt 2>err.txt",
                                        dir_.string(), path, EXOFLOW_BINARY, args);
    const int status = std::system(cmd.c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, test::readFile(dir_ / "out.txt"),
            test::readFile(dir_ / "err.txt")};
  }

  fs::path dir_;
};

constexpr std::string_view kMesh = R"(exoflow: 1
app: mesh
compute:
  artifact: ./dist
  run: ./app.sh
routes:
  - path: /*
services:
  work:
    kind: queue
targets:
  - {cloud: aws, region: eu-west-1}
  - {cloud: azure, region: francecentral}
  - {cloud: azure, region: westeurope}
failover:
  mode: active-active
  dns: {domain: example.com, name: mesh, provider: trafficmanager}
)";

TEST_F(AzureDeployTest, DryRunPrintsTheExactCommands) {
  writeManifest(std::string(kMesh));
  ASSERT_EQ(run("certs --file exoflow.yaml", "/usr/bin:/bin").status, 0);
  const CommandRun r =
      run("deploy --target azure --dry-run --ssh-public-key id.pub", "/usr/bin:/bin");
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string boot = "'<artifactStorageAccount of mesh-bootstrap>'";
  const std::string ids = "'identityId=<identityId of mesh-bootstrap>' "
                          "'identityClientId=<identityClientId of mesh-bootstrap>' "
                          "'identityPrincipalId=<identityPrincipalId of mesh-bootstrap>' "
                          "adminSshPublicKey=@id.pub";
  // The peer files and token are never shown.
  const std::string masked = "'peerCaCertificate=****' 'peerCertificate=****' "
                             "'peerPrivateKey=****' 'peerToken=****'";
  const fs::path proxy = fs::path(EXOFLOW_BINARY).parent_path() / "exo-proxy";
  const bool has_proxy = fs::is_regular_file(proxy);
  const std::string upload = "az storage blob upload --auth-mode login --account-name " + boot +
                             " --container-name artifacts --name {} --file {} --overwrite "
                             "--only-show-errors --output none\n";
  std::string expected =
      fmt::format("tar -czf out/azure/app.tar.gz -C {}/./dist .\n", dir_.string()) +
      "az deployment sub create --name mesh-bootstrap --location francecentral --template-file "
      "out/azure/bootstrap.json --output json\n" +
      fmt::format(fmt::runtime(upload), "mesh/app.tar.gz", "out/azure/app.tar.gz") +
      // exo-proxy goes up from beside exoflow when it was built there; else a note says so.
      (has_proxy ? fmt::format(fmt::runtime(upload), "mesh/exo-proxy", proxy.string()) : "") +
      fmt::format(fmt::runtime(upload), "mesh/azure-francecentral/proxy.yaml",
                  "out/azure/francecentral/proxy.yaml") +
      fmt::format(fmt::runtime(upload), "mesh/azure-westeurope/proxy.yaml",
                  "out/azure/westeurope/proxy.yaml") +
      (has_proxy ? ""
                 : "note: no exo-proxy binary found beside exoflow; instances fetch "
                   "mesh/exo-proxy, upload it before they start\n") +
      "az deployment group create --name mesh-app --resource-group mesh-francecentral "
      "--template-file out/azure/francecentral/app.json --parameters "
      "'artifactStorageAccount=<artifactStorageAccount of mesh-bootstrap>' " +
      ids +
      " 'peerAwsEuWest1Url=<peer URL of mesh in eu-west-1>' "
      "'peerAzureWesteuropeUrl=<peer URL of mesh in westeurope>' " +
      masked +
      " --output json\n"
      "az deployment group create --name mesh-app --resource-group mesh-westeurope "
      "--template-file out/azure/westeurope/app.json --parameters "
      "'artifactStorageAccount=<artifactStorageAccount of mesh-bootstrap>' " +
      ids +
      " 'peerAwsEuWest1Url=<peer URL of mesh in eu-west-1>' "
      "'peerAzureFrancecentralUrl=<peer URL of mesh in francecentral>' " +
      masked +
      " --output json\n"
      "az deployment group create --name mesh-global --resource-group mesh-francecentral "
      "--template-file out/azure/global.json --parameters "
      "'awsEuWest1Endpoint=<LoadBalancerDnsName of mesh-app in eu-west-1>' --output json\n";
  EXPECT_EQ(r.out, expected);
  EXPECT_TRUE(fs::exists(dir_ / "out" / "azure" / "plan.json"));
  const std::string key = test::readFile(dir_ / "certs" / "azure-westeurope.key");
  ASSERT_NE(key.find("PRIVATE KEY"), std::string::npos);
  EXPECT_EQ(r.out.find("PRIVATE KEY"), std::string::npos);
  EXPECT_EQ(r.out.find(test::readFile(dir_ / "certs" / "peer-token").substr(0, 64)),
            std::string::npos);
}

TEST_F(AzureDeployTest, AnAppWhoseTargetsArePeersNeedsTheFilesOfExoflowCerts) {
  writeManifest(std::string(kMesh));
  const CommandRun r =
      run("deploy --target azure --dry-run --ssh-public-key id.pub", "/usr/bin:/bin");
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.out, "") << "nothing runs before the check";
  const std::string certs = (dir_ / "certs").string();
  EXPECT_EQ(r.err, "exoflow: deploy failed: " + certs +
                       "/ca.crt is missing: the app's targets reach each other over mutual TLS "
                       "with the files of `exoflow certs`; run `exoflow certs --file <manifest> "
                       "-o " +
                       certs + "` first (or give --certs)\n");

  // --certs elsewhere; a missing token is announced by a dry run, written by a deploy.
  ASSERT_EQ(run("certs --file exoflow.yaml -o pki", "/usr/bin:/bin").status, 0);
  fs::remove(dir_ / "pki" / "peer-token");
  const CommandRun dry =
      run("deploy --target azure --dry-run --ssh-public-key id.pub --certs pki", "/usr/bin:/bin");
  ASSERT_EQ(dry.status, 0) << dry.err;
  EXPECT_TRUE(dry.out.starts_with("note: pki/peer-token is missing; deploy writes a new one "
                                  "(0600), shared by every target of the app\n"))
      << dry.out;
  EXPECT_FALSE(fs::exists(dir_ / "pki" / "peer-token"));
}

TEST_F(AzureDeployTest, WithoutTheAzureCliDeployAndPlanSaySo) {
  writeManifest(std::string(kMesh));
  const std::string message =
      "the Azure CLI (az) is not installed or not on PATH; install it "
      "(https://learn.microsoft.com/cli/azure/install-azure-cli) and sign in with `az login`\n";
  const CommandRun deploy = run("deploy --target azure --ssh-public-key id.pub", dir_.string());
  EXPECT_EQ(deploy.status, 1);
  EXPECT_EQ(deploy.err, "exoflow: deploy failed: " + message);
  const CommandRun plan = run("plan --target azure", dir_.string());
  EXPECT_EQ(plan.status, 1);
  EXPECT_EQ(plan.err, "exoflow: plan failed: " + message);
}

TEST_F(AzureDeployTest, ARegionThatIsNoAzureTargetIsRefused) {
  writeManifest(std::string(kMesh));
  const CommandRun r = run("deploy --target azure:mars --dry-run", "/usr/bin:/bin");
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "exoflow.yaml: error: azure mars is not a target of the manifest (its azure "
                   "regions: francecentral, westeurope)\n");
}

/// A stand-in for az: appends its arguments to az.log and answers deployments with outputs.
void writeFakeAz(const fs::path& dir) {
  std::ofstream az(dir / "az");
  az << "#!/bin/sh\n"
        "echo \"$*\" >> \"$(dirname \"$0\")/az.log\"\n"
        "case \"$1 $2 $3\" in\n"
        "  'deployment sub create') echo '{\"properties\": {\"outputs\": {"
        "\"artifactStorageAccount\": {\"type\": \"String\", \"value\": \"meshartabc\"}, "
        "\"artifactContainer\": {\"type\": \"String\", \"value\": \"artifacts\"}, "
        "\"identityId\": {\"type\": \"String\", \"value\": \"/id/mesh\"}, "
        "\"identityClientId\": {\"type\": \"String\", \"value\": \"client-1\"}, "
        "\"identityPrincipalId\": {\"type\": \"String\", \"value\": \"principal-1\"}}}}' ;;\n"
        "  'deployment group create') echo '{\"properties\": {\"outputs\": {"
        "\"peerUrl\": {\"type\": \"String\", \"value\": \"https://203.0.113.7:7443\"}}}}' ;;\n"
        "  'deployment sub what-if') echo '{\"changes\": [{\"changeType\": \"Create\", "
        "\"resourceId\": \"/subscriptions/s1/resourceGroups/mesh-francecentral\"}, "
        "{\"changeType\": \"NoChange\", \"resourceId\": \"/subscriptions/s1/x\"}]}' ;;\n"
        "  'deployment sub show') echo 'ERROR: Deployment not found' >&2; exit 3 ;;\n"
        "esac\n"
        // A parameters file is gone once exoflow is done: keep a copy and its mode.
        "for a in \"$@\"; do case \"$a\" in @/*) f=\"${a#@}\"; "
        "n=$(ls \"$(dirname \"$0\")\" | grep -c '^params-'); "
        "cp \"$f\" \"$(dirname \"$0\")/params-$n.json\"; "
        "stat -c '%a' \"$f\" \"$(dirname \"$f\")\" >> \"$(dirname \"$0\")/modes.log\" ;; esac; "
        "done\n";
  az.close();
  fs::permissions(dir / "az", fs::perms::owner_all);
}

TEST_F(AzureDeployTest, ADeployPassesTheBootstrapsOutputsOnAndReportsWhatIsMissing) {
  writeManifest(std::string(kMesh));
  writeFakeAz(dir_);
  ASSERT_EQ(run("certs --file exoflow.yaml", "/usr/bin:/bin").status, 0);
  const CommandRun r =
      run("deploy --target azure --ssh-public-key id.pub", dir_.string() + ":/usr/bin:/bin");
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  const std::string log = test::readFile(dir_ / "az.log");
  // The bootstrap's outputs go to the uploads and the app deployments; the second Azure target
  // gets the first one's peer URL; AWS's are not known to an Azure deploy.
  EXPECT_NE(log.find("storage blob upload --auth-mode login --account-name meshartabc "
                     "--container-name artifacts --name mesh/app.tar.gz"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("--resource-group mesh-westeurope --template-file "
                     "out/azure/westeurope/app.json --parameters artifactStorageAccount=meshartabc "
                     "identityId=/id/mesh identityClientId=client-1 "
                     "identityPrincipalId=principal-1 adminSshPublicKey=@id.pub "
                     "peerAwsEuWest1Url= peerAzureFrancecentralUrl=https://203.0.113.7:7443 "
                     "@/"),
            std::string::npos)
      << log;
  // The peer files went in a private parameters file per target, removed afterwards.
  EXPECT_EQ(log.find("PRIVATE KEY"), std::string::npos) << log;
  EXPECT_EQ(test::readFile(dir_ / "modes.log"), "600\n700\n600\n700\n");
  const std::string at = log.substr(log.find(" @/") + 2);
  EXPECT_FALSE(fs::exists(at.substr(0, at.find(' '))));
  for (const auto& [file, region] :
       {std::pair{"params-0.json", "francecentral"}, std::pair{"params-1.json", "westeurope"}}) {
    const auto params = nlohmann::json::parse(test::readFile(dir_ / file))["parameters"];
    const fs::path certs = dir_ / "certs";
    const std::string peer = std::string("azure-") + region;
    EXPECT_EQ(params["peerCaCertificate"]["value"], test::readFile(certs / "ca.crt"));
    EXPECT_EQ(params["peerCertificate"]["value"], test::readFile(certs / (peer + ".crt")));
    EXPECT_EQ(params["peerPrivateKey"]["value"], test::readFile(certs / (peer + ".key")));
    std::string token = test::readFile(certs / "peer-token");
    token.pop_back(); // the newline
    EXPECT_EQ(params["peerToken"]["value"], token);
    EXPECT_EQ(params.size(), 4U) << "only the secret parameters";
  }
  EXPECT_EQ(log.find("mesh-global"), std::string::npos) << log;
  EXPECT_NE(r.out.find("note: mesh-global not deployed: it needs awsEuWest1Endpoint"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("deployed mesh to azure"), std::string::npos) << r.out;
  EXPECT_TRUE(fs::exists(dir_ / "out" / "azure" / "app.tar.gz"));
}

TEST_F(AzureDeployTest, PlanShowsWhatIfAndWhatWouldBeCreated) {
  writeManifest(std::string(kMesh));
  writeFakeAz(dir_);
  const CommandRun r = run("plan --target azure:westeurope", dir_.string() + ":/usr/bin:/bin");
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_TRUE(r.out.starts_with("mesh-bootstrap (subscription, francecentral):\n"
                                "  + /subscriptions/s1/resourceGroups/mesh-francecentral\n"
                                "mesh-app (resource group mesh-westeurope): create, "))
      << r.out;
  EXPECT_NE(r.out.find("  + Microsoft.Compute/virtualMachineScaleSets mesh-vmss\n"),
            std::string::npos)
      << r.out;
  const std::string log = test::readFile(dir_ / "az.log");
  EXPECT_NE(log.find("deployment sub what-if --name mesh-bootstrap --location francecentral "
                     "--template-file out/azure/bootstrap.json --no-pretty-print --output json"),
            std::string::npos)
      << log;
}

} // namespace
} // namespace exoflow::synth
