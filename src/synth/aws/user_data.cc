#include <fmt/format.h>

#include "synth/aws/aws.h"
#include "synth/naming.h"
#include "synth/proxy_config.h"
#include "synth/sizes.h"
#include "synth/startup.h"

namespace exoflow::synth::aws {

namespace {

constexpr std::string_view kEof = kHeredocEnd;

/// A heredoc whose body bash leaves alone, written into Fn::Sub text.
std::string literalFile(std::string_view path, std::string_view body) {
  return heredocFile(path, escapeForSub(body));
}

std::string agentConfig(const model::App& app) {
  return fmt::format(
      R"({{"logs": {{"logs_collected": {{"files": {{"collect_list": [)"
      R"({{"file_path": "/var/log/exoflow/app.log", "log_group_name": "/exoflow/{0}", "log_stream_name": "{{instance_id}}/app"}}, )"
      R"({{"file_path": "/var/log/exoflow/proxy.log", "log_group_name": "/exoflow/{0}", "log_stream_name": "{{instance_id}}/proxy"}}]}}}}}}}})"
      "\n",
      app.name);
}

} // namespace

Json userData(const model::App& app, const model::Target& self,
              const std::vector<ServiceNames>& names, const UnitRefs& refs,
              const std::string& proxy_config, bool inline_proxy) {
  const model::Compute& compute = *app.compute;
  const bool peers = layoutOf(app).peers;
  const bool proxy = !proxy_config.empty();
  const std::string prefix = artifactPrefix(app);
  Json vars = Json::object();
  std::string s = fmt::format(
      "#!/bin/bash\n"
      "# Start-up of an instance of app {} on aws {}, written by `exoflow synth`.\n"
      "set -euo pipefail\n"
      "export AWS_DEFAULT_REGION=${{AWS::Region}}\n"
      "mkdir -p /opt/exoflow/app /etc/exoflow/tls /var/lib/exoflow/proxy /var/log/exoflow\n"
      "aws s3 cp \"s3://${{ArtifactBucket}}/${{ArtifactKey}}\" /opt/exoflow/app.tar.gz\n"
      "tar -xzf /opt/exoflow/app.tar.gz -C /opt/exoflow/app\n",
      app.name, self.region);
  if (proxy) {
    s += "aws s3 cp \"s3://${ArtifactBucket}/${ProxyKey}\" /usr/local/bin/exo-proxy\n"
         "chmod 755 /usr/local/bin/exo-proxy\n";
  }
  s +=
      "umask 077\n"
      "token=$(openssl rand -hex 32)\n"
      "password() { aws secretsmanager get-secret-value --secret-id \"$1\" --query SecretString "
      "--output text | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"password\"])'; }\n"
      "urlencode() { python3 -c 'import sys,urllib.parse; "
      "print(urllib.parse.quote(sys.argv[1], safe=\"\"))' \"$1\"; }\n";
  if (peers) s += peerSecretFetch();

  // The proxy's environment: everything its config reads through ${...}.
  std::string proxy_env = "EXO_TOKEN=$token\nEXO_AWS_ACCOUNT_ID=${AWS::AccountId}\n";
  std::string app_env = proxy ? "EXO_ENDPOINT=http://127.0.0.1:7420\nEXO_TOKEN=$token\n" : "";
  if (peers) {
    proxy_env += "EXO_PEER_TOKEN=$(cat /etc/exoflow/tls/peer-token)\n";
    for (const model::Target& t : app.targets) {
      if (&t == &self) continue;
      proxy_env += fmt::format("{}=${{Peer{}Url}}\n", peerUrlVariable(t), logicalId(peerName(t)));
    }
  }
  int db_count = 0;
  for (std::size_t i = 0; i < app.services.size(); ++i) {
    const auto* db = std::get_if<model::DatabaseSpec>(&app.services[i].spec);
    if (db == nullptr) continue;
    const model::Service& svc = app.services[i];
    const std::string host = fmt::format("Db{}Host", ++db_count);
    const std::string secret = fmt::format("Db{}Secret", db_count);
    vars[host] = refs.output(i, databaseEndpointOutput(names[i]));
    vars[secret] = refs.output(i, databaseSecretOutput(names[i]));
    s += fmt::format("db{}_password=$(password \"${{{}}}\")\n", db_count, secret);
    proxy_env += fmt::format("{}=${{{}}}\n{}=$db{}_password\n", databaseVariable(svc, "HOST"), host,
                             databaseVariable(svc, "PASSWORD"), db_count);
    const bool pg = db->engine == model::DbEngine::kPostgres;
    app_env += fmt::format("{}={}://{}:$(urlencode \"$db{}_password\")@${{{}}}:{}/{}\n",
                           databaseVariable(svc, "URL"), pg ? "postgres" : "mysql", kDatabaseUser,
                           db_count, host, enginePort(db->engine), names[i].database);
  }
  if (proxy) s += fmt::format("cat > /etc/exoflow/proxy.env <<{}\n{}{}\n", kEof, proxy_env, kEof);
  s += fmt::format("cat > /etc/exoflow/app.env <<{}\n{}{}\n", kEof, app_env, kEof);
  std::string extra_env;
  for (const auto& [key, value] : compute.env)
    extra_env += fmt::format("{}={}\n", key, systemdQuote(value));
  if (!extra_env.empty()) {
    s += fmt::format("cat >> /etc/exoflow/app.env <<'{}'\n{}{}\n", kEof, escapeForSub(extra_env),
                     kEof);
  }
  if (!proxy) {
    // No services: the app runs without a proxy.
  } else if (inline_proxy) {
    s += literalFile("/etc/exoflow/proxy.yaml", proxy_config);
  } else {
    s += fmt::format("aws s3 cp \"s3://${{ArtifactBucket}}/{}{}/proxy.yaml\" "
                     "/etc/exoflow/proxy.yaml\n",
                     prefix, peerName(self));
  }
  s += literalFile("/opt/exoflow/run.sh", "exec " + compute.run + "\n");
  if (proxy) {
    s += literalFile("/etc/systemd/system/exo-proxy.service",
                     systemdUnit("exo-proxy of " + app.name, "", "/etc/exoflow/proxy.env",
                                 "/usr/local/bin/exo-proxy --config /etc/exoflow/proxy.yaml",
                                 "/var/log/exoflow/proxy.log", ""));
  }
  s += literalFile("/etc/systemd/system/exoflow-app.service",
                   systemdUnit("app " + app.name, proxy ? " exo-proxy.service" : "",
                               "/etc/exoflow/app.env", "/bin/sh /opt/exoflow/run.sh",
                               "/var/log/exoflow/app.log", "/opt/exoflow/app"));
  s += "dnf install -y amazon-cloudwatch-agent\n";
  s += literalFile("/opt/aws/amazon-cloudwatch-agent/etc/exoflow.json", agentConfig(app));
  s += "/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 "
       "-s -c file:/opt/aws/amazon-cloudwatch-agent/etc/exoflow.json\n"
       "systemctl daemon-reload\n";
  s += proxy ? "systemctl enable --now exo-proxy.service exoflow-app.service\n"
             : "systemctl enable --now exoflow-app.service\n";
  if (vars.empty()) return Json{{"Fn::Base64", sub(s)}};
  return Json{{"Fn::Base64", sub(s, std::move(vars))}};
}

std::size_t resolvedUserDataSize(const Json& user_data) {
  constexpr std::size_t kResolved = 128;
  const Json& arg = user_data.at("Fn::Base64").at("Fn::Sub");
  const std::string text = arg.is_array() ? arg[0].get<std::string>() : arg.get<std::string>();
  std::size_t size = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text.compare(i, 2, "${") != 0 || text.compare(i, 3, "${!") == 0) {
      ++size;
      continue;
    }
    const std::size_t end = text.find('}', i);
    size += kResolved;
    i = end;
  }
  return size;
}

} // namespace exoflow::synth::aws
