// The peer TLS files and token reach the instances through the cloud's secret store: the app
// template of a target with peers keeps them (from secret parameters) in one Secrets Manager
// secret or in Key Vault secrets, only the instances' identity may read them, and the start-up
// script fetches them from there. No template, script or config carries key material.
#include <filesystem>
#include <map>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "synth/synth.h"
#include "synth_test_util.h"

namespace exoflow::synth {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

Json jsonFile(const fs::path& path) {
  return Json::parse(test::readFile(path));
}

TEST(PeerSecretsTest, NoGoldenFileCarriesPemTextOrFetchesTlsFromTheArtifacts) {
  std::size_t checked = 0;
  for (const std::string& name : test::caseNames()) {
    const fs::path dir = test::synthTestDir() / "golden" / name;
    for (const std::string& file : test::filesUnder(dir)) {
      const std::string text = test::readFile(dir / file);
      EXPECT_FALSE(contains(text, "-----BEGIN")) << name << "/" << file;
      EXPECT_FALSE(contains(text, "PRIVATE KEY")) << name << "/" << file;
      EXPECT_FALSE(contains(text, "tls/aws-")) << name << "/" << file;
      EXPECT_FALSE(contains(text, "tls/azure-")) << name << "/" << file;
      ++checked;
    }
  }
  EXPECT_GT(checked, 50U);
}

TEST(PeerSecretsTest, AnAwsTargetWithPeersKeepsThemInItsOwnSecret) {
  const fs::path dir = test::synthTestDir() / "golden" / "failover-active-active" / "aws";
  const Json t = jsonFile(dir / "us-east-1" / "app.json");
  for (const char* p : {"PeerCaCertificate", "PeerCertificate", "PeerPrivateKey", "PeerToken"}) {
    ASSERT_TRUE(t["Parameters"].contains(p)) << p;
    EXPECT_EQ(t["Parameters"][p]["NoEcho"], true) << p;
    EXPECT_FALSE(t["Parameters"][p].contains("Default")) << p;
  }
  const Json& secret = t["Resources"]["PeerSecret"];
  EXPECT_EQ(secret["Type"], "AWS::SecretsManager::Secret");
  EXPECT_EQ(secret["Properties"]["SecretString"]["Fn::Sub"],
            R"({"ca":"${PeerCaCertificate}","cert":"${PeerCertificate}",)"
            R"("key":"${PeerPrivateKey}","token":"${PeerToken}"})");

  // The instance role reads exactly that secret, and nothing else of Secrets Manager.
  int reads = 0;
  for (const Json& s :
       t["Resources"]["InstanceRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]) {
    const std::string actions = s["Action"].dump();
    if (!contains(actions, "secretsmanager:")) continue;
    ++reads;
    EXPECT_EQ(s["Sid"], "PeerSecret");
    EXPECT_EQ(s["Action"], Json::array({"secretsmanager:GetSecretValue"}));
    EXPECT_EQ(s["Resource"], Json({{"Ref", "PeerSecret"}}));
  }
  EXPECT_EQ(reads, 1);

  // The user data fetches it; the key and token land 0600 (umask 077 comes first).
  const std::string user_data = t["Resources"]["LaunchTemplate"]["Properties"]["LaunchTemplateData"]
                                 ["UserData"]["Fn::Base64"]["Fn::Sub"]
                                     .get<std::string>();
  const std::size_t umask = user_data.find("umask 077\n");
  const std::size_t fetch = user_data.find(
      "aws secretsmanager get-secret-value --secret-id \"${PeerSecret}\" --query SecretString");
  ASSERT_NE(fetch, std::string::npos) << user_data;
  EXPECT_LT(umask, fetch);
  EXPECT_LT(fetch, user_data.find("EXO_PEER_TOKEN=$(cat /etc/exoflow/tls/peer-token)"));
  EXPECT_TRUE(contains(user_data, "chmod 644 /etc/exoflow/tls/ca.crt /etc/exoflow/tls/proxy.crt"));
  EXPECT_FALSE(contains(user_data, "--recursive")) << "no TLS file from the artifact bucket";
}

TEST(PeerSecretsTest, ASingleTargetAppHasNoPeerSecret) {
  const Json t =
      jsonFile(test::synthTestDir() / "golden" / "compute" / "aws" / "eu-west-1" / "app.json");
  ASSERT_TRUE(t["Resources"].contains("LaunchTemplate"));
  EXPECT_FALSE(t["Resources"].contains("PeerSecret"));
  EXPECT_FALSE(t["Parameters"].contains("PeerToken"));
  EXPECT_FALSE(contains(t.dump(), "PeerSecret"));
  const Json a =
      jsonFile(test::synthTestDir() / "golden" / "azure-compute" / "azure" / "plan.json");
  EXPECT_FALSE(contains(a.dump(), "peerToken"));
}

TEST(PeerSecretsTest, AnAzureTargetWithPeersKeepsThemInTheKeyVault) {
  const fs::path dir = test::synthTestDir() / "golden" / "azure-traffic-active-active" / "azure";
  const Json t = jsonFile(dir / "francecentral" / "app.json");
  for (const char* p : {"peerCaCertificate", "peerCertificate", "peerPrivateKey", "peerToken"}) {
    ASSERT_TRUE(t["parameters"].contains(p)) << p;
    EXPECT_EQ(t["parameters"][p]["type"], "securestring") << p;
    EXPECT_FALSE(t["parameters"][p].contains("defaultValue")) << p;
  }
  // The deploy passes them: they are among the parameters without a default in plan.json.
  const std::string plan = jsonFile(dir / "plan.json").dump();
  EXPECT_TRUE(contains(plan, "\"peerPrivateKey\"")) << plan;

  // The app has no database, so the vault is there for these alone.
  bool vault = false;
  bool reader = false;
  std::map<std::string, std::string> secrets; // name -> value expression
  for (const Json& r : t["resources"]) {
    const std::string type = r["type"];
    if (type == "Microsoft.KeyVault/vaults") {
      vault = true;
      EXPECT_EQ(r["properties"]["enableRbacAuthorization"], true);
    }
    if (type == "Microsoft.KeyVault/vaults/secrets")
      secrets[r["name"].get<std::string>()] = r["properties"]["value"].get<std::string>();
    if (type == "Microsoft.Authorization/roleAssignments" &&
        contains(r.dump(), "4633458b-17de-408a-b874-0445c86b69e6"))
      reader = true; // Key Vault Secrets User, for the instances' identity
  }
  EXPECT_TRUE(vault);
  EXPECT_TRUE(reader);
  const std::string vault_name = "[format('{0}/{1}', variables('keyVaultName'), ";
  EXPECT_EQ(secrets[vault_name + "'peer-ca-crt')]"], "[parameters('peerCaCertificate')]");
  EXPECT_EQ(secrets[vault_name + "'peer-proxy-crt')]"], "[parameters('peerCertificate')]");
  EXPECT_EQ(secrets[vault_name + "'peer-proxy-key')]"], "[parameters('peerPrivateKey')]");
  EXPECT_EQ(secrets[vault_name + "'peer-token')]"], "[parameters('peerToken')]");

  // The start-up script reads them with the managed identity from the vault's REST API.
  const std::string script = t["variables"]["startupScript"];
  const std::size_t umask = script.find("umask 077\n");
  const std::size_t key =
      script.find("secret \"${vault_uri}secrets/peer-proxy-key\" > /etc/exoflow/tls/proxy.key\n");
  ASSERT_NE(key, std::string::npos) << script;
  EXPECT_LT(umask, key);
  EXPECT_TRUE(contains(script, "secret \"${vault_uri}secrets/peer-token\" > "
                               "/etc/exoflow/tls/peer-token\n"));
  EXPECT_TRUE(contains(script, "https://vault.azure.net")) << "the token is for Key Vault";
  EXPECT_TRUE(contains(script, "?api-version=7.4")) << script;
  EXPECT_FALSE(contains(script, "fetch mesh/tls/")) << "no TLS file from the artifact container";
}

} // namespace
} // namespace exoflow::synth
