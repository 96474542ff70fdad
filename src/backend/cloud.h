#pragma once
// What the cloud backends of one process share: one HTTP(S) client (its I/O thread and its
// connection pools) and the AWS and Azure credentials the proxy config names. The host (exo-proxy,
// a test) owns one and hands it to backends through BackendContext::cloud; both parts are made on
// first use, so a proxy with only local backends starts no thread for them.

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "backend/aws/credentials.h"
#include "backend/azure/storage_api.h"
#include "common/error.h"
#include "net/http_client.h"

namespace exoflow::backend {

/// The `credentials.aws` entry of the proxy config: `source` is chain, env, static, profile,
/// imds or ecs; `params` its keys (static: access_key_id, secret_access_key, session_token;
/// profile: profile).
struct AwsCredentialsSpec {
  std::string source = "chain";
  std::map<std::string, std::string> params;
};

/// The `credentials.azure` entry of the proxy config: `source` is shared_key (account_key), sas
/// (sas_token), managed_identity or client_secret.
struct AzureCredentialsSpec {
  std::string source = "managed_identity";
  std::map<std::string, std::string> params;
};

class CloudServices {
public:
  explicit CloudServices(AwsCredentialsSpec aws = {}, net::HttpClientOptions http = {},
                         AzureCredentialsSpec azure = {});
  ~CloudServices();
  CloudServices(const CloudServices&) = delete;
  CloudServices& operator=(const CloudServices&) = delete;

  /// The shared client; AWS's JSON-protocol throttling answers count as retryable.
  net::HttpClient& http();
  /// The provider for the configured source; kInvalidArgument for an unknown source.
  Result<aws::CredentialsProvider*> awsCredentials();
  /// How Azure Storage calls are authorized; kInvalidArgument for a source this build lacks.
  Result<const azure::Credentials*> azureCredentials();

private:
  std::mutex mutex_;
  AwsCredentialsSpec aws_spec_;
  net::HttpClientOptions http_options_;
  std::unique_ptr<aws::CredentialsProvider> aws_credentials_;
  AzureCredentialsSpec azure_spec_;
  std::unique_ptr<azure::Credentials> azure_credentials_;
  std::unique_ptr<net::HttpClient> http_;
};

} // namespace exoflow::backend
