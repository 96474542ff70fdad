// `exoflow deploy` and `exoflow plan` end to end: the real binary and the real AWS CLI against a
// moto server the suite starts, then every resource the manifest asked for listed back.
//
// What moto 5.2.1 cannot do, and so what these tests do not check:
// - AWS::RDS::DBInstance in CloudFormation answers only Fn::GetAtt Endpoint.Address and
//   Endpoint.Port (moto/rds/models.py, has_cfn_attr); the app stack's database output
//   MasterUserSecret.SecretArn is rejected at create-stack ("does not support attribute type
//   MasterUserSecret.SecretArn"). Real CloudFormation supports it, so the template keeps it:
//   DatabaseNeedsWhatMotoLacks pins the failure, and the deployed manifest has no database.
// - ScalingPolicy, SecretsManager::Secret, BucketPolicy and QueuePolicy are accepted but not
//   created, so they are not listed back.
// - ELBv2 listeners take only HTTP and HTTPS, so the app stack of targets that are peers (a TCP
//   listener for mutual TLS) is refused: PeerDeployTest checks what the deploy hands over and
//   plays the secret's part itself.
// - moto reports only the stack's own events, not one per resource.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <nlohmann/json.hpp>
#include <sys/socket.h>
#include <unistd.h>

#include "deploy/peer_files.h"
#include "deploy/process.h"
#include "support/moto_server.h"

namespace exoflow::testsupport {

// moto_server.cc takes its port from here (tests/support/fake_server.cc has the same, but
// brings the network library with it).
int unusedPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return 0;
  }
  socklen_t size = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size);
  ::close(fd);
  return ntohs(address.sin_port);
}

} // namespace exoflow::testsupport

namespace {

namespace fs = std::filesystem;
using exoflow::testsupport::awsCli;
using exoflow::testsupport::MotoServer;
using Json = nlohmann::json;

constexpr const char* kManifest = R"(exoflow: 1
app: APP
compute:
  artifact: ./dist
  run: ./bin/app --port 8080
  port: 8080
  health: /healthz
  size: small
  scale: {min: 1, max: 2, cpu: 60}
routes:
  - path: /api/*
  - path: /*
services:
  jobs:
    kind: queue
    dead_letter: {after: 3}
  files:
    kind: objects
  carts:
    kind: kv
EXTRA
targets:
  - {cloud: aws, region: us-east-1}
)";

constexpr const char* kDatabase = R"(  main-db:
    kind: database
    engine: postgres
    version: "16"
    size: small
    storage: 32GiB
)";

struct CliRun {
  int code = -1;
  std::string out;
  std::string err;
};

class DeployTest : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    ::setenv("AWS_ACCESS_KEY_ID", "testing", 1);
    ::setenv("AWS_SECRET_ACCESS_KEY", "testing", 1);
    ::setenv("AWS_DEFAULT_REGION", "us-east-1", 1);
    ::unsetenv("AWS_PROFILE");
    moto = std::make_unique<MotoServer>();
  }
  static void TearDownTestSuite() { moto.reset(); }

  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("exoflow-deploy-" +
            std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "dist" / "bin");
    std::ofstream(dir_ / "dist" / "bin" / "app") << "#!/bin/sh\n";
  }
  void TearDown() override { fs::remove_all(dir_); }

  void writeManifest(const std::string& app, const std::string& extra) {
    std::string text = kManifest;
    text.replace(text.find("APP"), 3, app);
    text.replace(text.find("EXTRA\n"), 6, extra);
    std::ofstream(dir_ / "exoflow.yaml") << text;
  }

  static CliRun exoflow(const std::vector<std::string>& args) {
    std::vector<std::string> argv{EXOFLOW_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = exoflow::deploy::runProcess(argv);
    EXPECT_TRUE(r.has_value());
    if (!r) return {};
    return {r->exit_code, r->out, r->err};
  }

  std::vector<std::string> common(const std::string& command) const {
    return {command,
            "--target",
            "aws",
            "-f",
            (dir_ / "exoflow.yaml").string(),
            "-o",
            (dir_ / "out").string(),
            "--endpoint-url",
            moto->endpoint()};
  }

  static Json aws(const std::string& args) {
    std::string out;
    EXPECT_EQ(awsCli(moto->endpoint(), args + " --output json", &out), 0) << args;
    Json j = Json::parse(out, nullptr, false);
    return j.is_discarded() ? Json::object() : j;
  }

  static std::unique_ptr<MotoServer> moto;
  fs::path dir_;
};

std::unique_ptr<MotoServer> DeployTest::moto;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST_F(DeployTest, DryRunPrintsTheCommandsAndRunsNone) {
  writeManifest("dryshop", "");
  std::vector<std::string> args = common("deploy");
  args[8] = "http://127.0.0.1:9"; // nothing listens there: a command that ran would fail
  args.emplace_back("--dry-run");
  const CliRun r = exoflow(args);
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_TRUE(contains(r.out, "tar -czf ")) << r.out;
  EXPECT_TRUE(contains(r.out, "aws --region us-east-1 --endpoint-url http://127.0.0.1:9 --output "
                              "json cloudformation create-stack --stack-name dryshop-bootstrap "
                              "--template-body file://"))
      << r.out;
  EXPECT_TRUE(contains(r.out, "cloudformation wait stack-create-complete --stack-name "
                              "dryshop-bootstrap"))
      << r.out;
  EXPECT_TRUE(contains(r.out, "s3 cp --only-show-errors ")) << r.out;
  EXPECT_TRUE(contains(r.out, "/dryshop/app.tar.gz'")) << r.out;
  EXPECT_TRUE(contains(r.out, "create-stack --stack-name dryshop-app --template-body file://"))
      << r.out;
  EXPECT_TRUE(contains(r.out, R"('[{"ParameterKey":"ArtifactBucket","ParameterValue":)")) << r.out;
  EXPECT_FALSE(contains(r.out, "deployed dryshop")) << r.out;
}

TEST_F(DeployTest, PlansDeploysListsBackAndPlansAgain) {
  ASSERT_TRUE(moto->available()) << moto->why(); // make test installs moto
  writeManifest("moshop", "");

  CliRun plan = exoflow(common("plan"));
  ASSERT_EQ(plan.code, 0) << plan.out << plan.err;
  EXPECT_TRUE(contains(plan.out, "moshop-bootstrap (us-east-1): create, 4 resources")) << plan.out;
  EXPECT_TRUE(contains(plan.out, "moshop-app (us-east-1): create, ")) << plan.out;
  EXPECT_TRUE(contains(plan.out, "  + JobsQueue (AWS::SQS::Queue)")) << plan.out;

  const CliRun deploy = exoflow(common("deploy"));
  ASSERT_EQ(deploy.code, 0) << deploy.out << deploy.err;
  EXPECT_TRUE(contains(deploy.out, "creating moshop-bootstrap in us-east-1")) << deploy.out;
  EXPECT_TRUE(contains(deploy.out, "moshop-app (AWS::CloudFormation::Stack)  CREATE_COMPLETE"))
      << deploy.out;
  EXPECT_TRUE(contains(deploy.out, "deployed moshop to aws")) << deploy.out;

  // The stack's outputs, as printed and as CloudFormation has them.
  const Json stacks = aws("cloudformation describe-stacks --stack-name moshop-app");
  std::map<std::string, std::string> outputs;
  for (const Json& o : stacks["Stacks"][0]["Outputs"])
    outputs[o["OutputKey"].get<std::string>()] = o["OutputValue"].get<std::string>();
  for (const char* key : {"JobsQueueUrl", "JobsDeadLetterQueueUrl", "FilesBucketName",
                          "CartsTableName", "LoadBalancerDnsName", "AutoScalingGroupName"}) {
    ASSERT_TRUE(outputs.count(key)) << key;
    EXPECT_TRUE(contains(deploy.out, std::string("  ") + key + " = " + outputs[key])) << key;
  }
  EXPECT_TRUE(contains(outputs["JobsQueueUrl"], "moshop-jobs"));

  // Every resource, listed back.
  const std::string queues = aws("sqs list-queues --queue-name-prefix moshop-").dump();
  EXPECT_TRUE(contains(queues, "/moshop-jobs\"")) << queues;
  EXPECT_TRUE(contains(queues, "/moshop-jobs-dlq\"")) << queues;
  const std::string buckets = aws("s3api list-buckets").dump();
  EXPECT_TRUE(contains(buckets, outputs["FilesBucketName"])) << buckets;
  EXPECT_TRUE(contains(buckets, "moshop-bootstrap-artifactbucket")) << buckets;
  const std::string tables = aws("dynamodb list-tables").dump();
  EXPECT_TRUE(contains(tables, outputs["CartsTableName"])) << tables;
  const Json lbs = aws("elbv2 describe-load-balancers");
  bool lb_found = false;
  std::string lb_arn;
  for (const Json& lb : lbs["LoadBalancers"]) {
    if (lb["DNSName"] == outputs["LoadBalancerDnsName"]) {
      lb_found = true;
      lb_arn = lb["LoadBalancerArn"];
    }
  }
  ASSERT_TRUE(lb_found) << lbs.dump();
  const Json groups = aws("elbv2 describe-target-groups --load-balancer-arn " + lb_arn);
  EXPECT_GE(groups["TargetGroups"].size(), 2U) << groups.dump(); // one per route
  const Json asg = aws("autoscaling describe-auto-scaling-groups --auto-scaling-group-names " +
                       outputs["AutoScalingGroupName"]);
  ASSERT_EQ(asg["AutoScalingGroups"].size(), 1U) << asg.dump();
  EXPECT_EQ(asg["AutoScalingGroups"][0]["MinSize"], 1);
  EXPECT_EQ(asg["AutoScalingGroups"][0]["MaxSize"], 2);
  const std::string objects =
      aws("s3api list-objects-v2 --bucket " +
          aws("cloudformation describe-stacks --stack-name moshop-bootstrap")
              ["Stacks"][0]["Outputs"][0]["OutputValue"]
                  .get<std::string>())
          .dump();
  EXPECT_TRUE(contains(objects, "moshop/app.tar.gz")) << objects;
  EXPECT_TRUE(contains(objects, "moshop/aws-us-east-1/proxy.yaml")) << objects;

  // Nothing changed: no change. Then one more queue: one resource (and its outputs) added.
  plan = exoflow(common("plan"));
  ASSERT_EQ(plan.code, 0) << plan.out << plan.err;
  EXPECT_TRUE(contains(plan.out, "moshop-bootstrap (us-east-1): no change")) << plan.out;
  EXPECT_TRUE(contains(plan.out, "moshop-app (us-east-1): no change")) << plan.out;

  writeManifest("moshop", "  mail:\n    kind: queue\n");
  plan = exoflow(common("plan"));
  ASSERT_EQ(plan.code, 0) << plan.out << plan.err;
  EXPECT_TRUE(contains(plan.out, "moshop-bootstrap (us-east-1): no change")) << plan.out;
  EXPECT_TRUE(contains(plan.out, "moshop-app (us-east-1): update, 1 added, 0 removed")) << plan.out;
  EXPECT_TRUE(contains(plan.out, "  + MailQueue (AWS::SQS::Queue)")) << plan.out;
}

TEST_F(DeployTest, DatabaseNeedsWhatMotoLacks) {
  ASSERT_TRUE(moto->available()) << moto->why(); // make test installs moto
  writeManifest("dbshop", kDatabase);
  const CliRun r = exoflow(common("deploy"));
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  // The error names the stack, and moto's reason.
  EXPECT_TRUE(contains(r.err, "exoflow: deploy failed: create-stack dbshop-app in us-east-1: "))
      << r.err;
  EXPECT_TRUE(contains(r.err, "MasterUserSecret.SecretArn")) << r.err;
}

namespace peers {

// Two targets with failover: the proxies are peers and need the files of `exoflow certs`.
constexpr const char* kPeerManifest = R"(exoflow: 1
app: APP
compute:
  artifact: ./dist
  run: ./bin/app --port 8080
  port: 8080
  health: /healthz
  size: small
  scale: {min: 1, max: 2, cpu: 60}
routes:
  - path: /*
services:
  files:
    kind: objects
targets:
  - {cloud: aws, region: us-east-1}
  - {cloud: azure, region: eastus}
failover:
  dns: {domain: example.com, name: APP, provider: trafficmanager}
  data: {objects: sync}
)";

std::string readFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

} // namespace peers

class PeerDeployTest : public DeployTest {
protected:
  void writePeerManifest(const std::string& app) {
    std::string text = peers::kPeerManifest;
    for (std::size_t at = text.find("APP"); at != std::string::npos; at = text.find("APP"))
      text.replace(at, 3, app);
    std::ofstream(dir_ / "exoflow.yaml") << text;
  }
  CliRun certs() const {
    return exoflow(
        {"certs", "--file", (dir_ / "exoflow.yaml").string(), "-o", (dir_ / "certs").string()});
  }
  std::vector<std::string> deployArgs(bool dry) const {
    std::vector<std::string> args = common("deploy");
    args[2] = "aws:us-east-1";
    if (dry) {
      args[8] = "http://127.0.0.1:9"; // nothing listens there: a command that ran would fail
      args.emplace_back("--dry-run");
    }
    return args;
  }
  std::string file(const std::string& name) const { return peers::readFile(dir_ / "certs" / name); }
};

TEST_F(PeerDeployTest, WithoutCertsTheDeployStopsBeforeAnythingAndNamesExoflowCerts) {
  writePeerManifest("peerless");
  const CliRun r = exoflow(deployArgs(true));
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "") << "nothing runs before the check";
  const std::string dir = (dir_ / "certs").string();
  EXPECT_EQ(r.err, "exoflow: deploy failed: " + dir +
                       "/ca.crt is missing: the app's targets reach each other over mutual TLS "
                       "with the files of `exoflow certs`; run `exoflow certs --file <manifest> "
                       "-o " +
                       dir + "` first (or give --certs)\n");

  // A CA without this target's certificate: the target joins it.
  ASSERT_EQ(exoflow({"certs", "-o", dir, "--targets", "azure-eastus"}).code, 0);
  const CliRun joined = exoflow(deployArgs(true));
  EXPECT_EQ(joined.code, 1);
  EXPECT_EQ(joined.err, "exoflow: deploy failed: " + dir +
                            "/aws-us-east-1.crt is missing: run `exoflow certs -o " + dir +
                            " --targets aws-us-east-1` to add the target's certificate to the CA "
                            "there\n");
}

TEST_F(PeerDeployTest, DryRunMasksThePeerParameters) {
  writePeerManifest("peerdry");
  ASSERT_EQ(certs().code, 0);
  const CliRun r = exoflow(deployArgs(true));
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_TRUE(contains(
      r.out,
      "create-stack --stack-name peerdry-app --template-body file://" +
          (dir_ / "out" / "aws" / "us-east-1" / "app.json").string() +
          R"( --parameters '[{"ParameterKey":"ArtifactBucket","ParameterValue":"<ArtifactBucketName)"
          R"( of peerdry-bootstrap>"},{"ParameterKey":"PeerCaCertificate","ParameterValue":"****"},)"
          R"({"ParameterKey":"PeerCertificate","ParameterValue":"****"},{"ParameterKey":)"
          R"("PeerPrivateKey","ParameterValue":"****"},{"ParameterKey":"PeerToken",)"
          R"("ParameterValue":"****"}]' --capabilities CAPABILITY_IAM)"))
      << r.out;
  // Neither the PEM text nor its base64 ("-----BEGIN" is "LS0tLS1CRUdJTi") nor the token.
  EXPECT_FALSE(contains(r.out, "PRIVATE KEY")) << r.out;
  EXPECT_FALSE(contains(r.out, "LS0tLS1CRUdJTi")) << r.out;
  const std::string token = file("peer-token").substr(0, 64);
  ASSERT_EQ(token.size(), 64U);
  EXPECT_FALSE(contains(r.out, token)) << r.out;
}

TEST_F(PeerDeployTest, TheSecretHoldsTheFilesTheInstancesWrite) {
  ASSERT_TRUE(moto->available()) << moto->why(); // make test installs moto
  writePeerManifest("peershop");
  ASSERT_EQ(certs().code, 0);
  // A missing token is written by the deploy, once for the app, 0600.
  fs::remove(dir_ / "certs" / "peer-token");

  // The real AWS CLI, behind a wrapper that keeps a copy of each parameters file (exoflow
  // removes them) and the mode it had.
  const auto which = exoflow::deploy::runProcess({"sh", "-c", "command -v aws"});
  ASSERT_TRUE(which && which->exit_code == 0);
  const std::string real_aws = which->out.substr(0, which->out.find('\n'));
  const fs::path bin = dir_ / "bin";
  fs::create_directories(bin);
  std::ofstream(bin / "aws") << "#!/bin/sh\n"
                                "for a in \"$@\"; do case \"$a\" in file://*/parameters.json) "
                                "f=\"${a#file://}\"; cp \"$f\" \""
                             << dir_.string()
                             << "/parameters.json\"; stat -c '%a' \"$f\" \"$(dirname \"$f\")\" > \""
                             << dir_.string() << "/modes.txt\"; echo \"$f\" > \"" << dir_.string()
                             << "/path.txt\" ;; esac; done\nexec '" << real_aws << "' \"$@\"\n";
  fs::permissions(bin / "aws", fs::perms::owner_all);
  const std::string path = std::getenv("PATH");
  ::setenv("PATH", (bin.string() + ":" + path).c_str(), 1);
  const CliRun r = exoflow(deployArgs(false));
  ::setenv("PATH", path.c_str(), 1);

  // moto 5.2.1 has no TCP listener, which the peers' load balancer needs; the stack is
  // refused after its parameters were handed over. Real CloudFormation takes it.
  if (r.code != 0) {
    EXPECT_TRUE(contains(r.err, "create-stack peershop-app in us-east-1: ")) << r.err;
    EXPECT_TRUE(contains(r.err, "Listener protocol 'TCP'")) << r.err;
  }
  EXPECT_TRUE(contains(r.out, "wrote " + (dir_ / "certs" / "peer-token").string() +
                                  " (the app's peer token, shared by every target)\n"))
      << r.out;
  EXPECT_EQ(fs::status(dir_ / "certs" / "peer-token").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_FALSE(contains(r.out + r.err, "PRIVATE KEY"));
  EXPECT_EQ(peers::readFile(dir_ / "modes.txt"), "600\n700\n");
  const std::string passed_path = peers::readFile(dir_ / "path.txt");
  ASSERT_FALSE(passed_path.empty());
  EXPECT_FALSE(fs::exists(passed_path.substr(0, passed_path.size() - 1))) << "removed after use";
  const Json passed = Json::parse(peers::readFile(dir_ / "parameters.json"), nullptr, false);
  ASSERT_TRUE(passed.is_array()) << passed.dump();
  std::map<std::string, std::string> params;
  for (const Json& p : passed)
    params[p["ParameterKey"].get<std::string>()] = p["ParameterValue"].get<std::string>();
  EXPECT_EQ(params.size(), 5U); // ArtifactBucket and the four
  std::string token = file("peer-token");
  token.pop_back();
  EXPECT_EQ(params["PeerCaCertificate"], exoflow::deploy::base64(file("ca.crt")));
  EXPECT_EQ(params["PeerCertificate"], exoflow::deploy::base64(file("aws-us-east-1.crt")));
  EXPECT_EQ(params["PeerPrivateKey"], exoflow::deploy::base64(file("aws-us-east-1.key")));
  EXPECT_EQ(params["PeerToken"], token);

  // The secret as CloudFormation makes it: the template's SecretString with the values the
  // deploy passed (each within its parameter's AllowedPattern). Then the user data's own lines
  // read it back through the real AWS CLI, into a folder standing in for /etc/exoflow/tls.
  const Json tmpl = Json::parse(peers::readFile(dir_ / "out" / "aws" / "us-east-1" / "app.json"));
  std::string secret =
      tmpl["Resources"]["PeerSecret"]["Properties"]["SecretString"]["Fn::Sub"].get<std::string>();
  std::map<std::string, std::string> values;
  for (const auto& [key, value] : params)
    values["${" + key + "}"] = value;
  values.erase("${ArtifactBucket}");
  for (const auto& [name, value] : values) {
    EXPECT_TRUE(std::regex_match(
        value, std::regex(tmpl["Parameters"][name.substr(2, name.size() - 3)]["AllowedPattern"]
                              .get<std::string>())))
        << name;
    secret.replace(secret.find(name), name.size(), value);
  }
  std::ofstream(dir_ / "secret.json") << secret;
  const Json created = aws("secretsmanager create-secret --name peershop-peer --secret-string "
                           "file://" +
                           (dir_ / "secret.json").string());
  const std::string arn = created.value("ARN", "");
  ASSERT_FALSE(arn.empty()) << created.dump();

  const std::string user_data = tmpl["Resources"]["LaunchTemplate"]["Properties"]
                                    ["LaunchTemplateData"]["UserData"]["Fn::Base64"]["Fn::Sub"];
  const std::size_t from = user_data.find("umask 077\n");
  const std::size_t fetch =
      user_data.find("aws secretsmanager get-secret-value --secret-id \"${PeerSecret}\"");
  ASSERT_NE(fetch, std::string::npos);
  const std::size_t end =
      user_data.find('\n', user_data.find("chmod 644 /etc/exoflow/tls/", fetch));
  std::string lines = user_data.substr(from, 10) + user_data.substr(fetch, end + 1 - fetch);
  const fs::path tls = dir_ / "tls";
  fs::create_directories(tls);
  for (const auto& [from_text, to_text] :
       {std::pair<std::string, std::string>{"${PeerSecret}", arn},
        std::pair<std::string, std::string>{"/etc/exoflow/tls/", tls.string() + "/"}}) {
    for (std::size_t at = lines.find(from_text); at != std::string::npos;
         at = lines.find(from_text, at + to_text.size()))
      lines.replace(at, from_text.size(), to_text);
  }
  std::ofstream(dir_ / "fetch.sh") << "set -euo pipefail\n" << lines;
  const std::string run =
      "AWS_ENDPOINT_URL=" + moto->endpoint() + " bash '" + (dir_ / "fetch.sh").string() + "'";
  ASSERT_EQ(std::system(run.c_str()), 0) << lines;
  EXPECT_EQ(peers::readFile(tls / "ca.crt"), file("ca.crt"));
  EXPECT_EQ(peers::readFile(tls / "proxy.crt"), file("aws-us-east-1.crt"));
  EXPECT_EQ(peers::readFile(tls / "proxy.key"), file("aws-us-east-1.key"));
  EXPECT_EQ(peers::readFile(tls / "peer-token"), token);
  const auto mode = [&](const char* name) {
    return fs::status(tls / name).permissions() & fs::perms::all;
  };
  EXPECT_EQ(mode("proxy.key"), fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_EQ(mode("peer-token"), fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_EQ(mode("proxy.crt"), fs::perms::owner_read | fs::perms::owner_write |
                                   fs::perms::group_read | fs::perms::others_read);
}

} // namespace
