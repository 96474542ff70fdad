#include "backend/cloud.h"

#include <utility>

#include <openssl/crypto.h>

#include "backend/aws/json_api.h"

namespace exoflow::backend {
namespace {

constexpr std::chrono::milliseconds kMetadataTimeout{2000};

std::string param(const AwsCredentialsSpec& spec, const std::string& key) {
  auto it = spec.params.find(key);
  return it == spec.params.end() ? std::string() : it->second;
}

Result<std::vector<std::unique_ptr<aws::CredentialsSource>>>
sourcesFor(const AwsCredentialsSpec& spec) {
  const aws::EnvLookup env = aws::processEnvironment();
  std::vector<std::unique_ptr<aws::CredentialsSource>> chain;
  if (spec.source == "chain") return aws::defaultChain(env, kMetadataTimeout);
  if (spec.source == "env") {
    chain.push_back(aws::environmentSource(env));
  } else if (spec.source == "static") {
    aws::Credentials keys;
    keys.access_key_id = param(spec, "access_key_id");
    keys.secret_access_key = param(spec, "secret_access_key");
    keys.session_token = param(spec, "session_token");
    chain.push_back(aws::staticSource(std::move(keys)));
  } else if (spec.source == "profile") {
    chain.push_back(aws::profileSource(env, param(spec, "profile")));
  } else if (spec.source == "imds") {
    chain.push_back(aws::imdsSource(env, kMetadataTimeout));
  } else if (spec.source == "ecs") {
    chain.push_back(aws::containerSource(env, kMetadataTimeout));
  } else {
    return fail(ErrorCode::kInvalidArgument,
                "unknown AWS credentials source \"" + spec.source + "\"");
  }
  return chain;
}

} // namespace

CloudServices::CloudServices(AwsCredentialsSpec aws, net::HttpClientOptions http,
                             AzureCredentialsSpec azure)
    : aws_spec_(std::move(aws)), http_options_(std::move(http)), azure_spec_(std::move(azure)) {
  // Signing on the client's thread gives it OpenSSL thread state, which is freed when the thread
  // ends only while OpenSSL is up. Initialised here (options it may not have yet, so that the
  // call is not a no-op and registers its exit hook now), OpenSSL is cleaned up at exit after a
  // static CloudServices has stopped that thread.
  OPENSSL_init_crypto(OPENSSL_INIT_ADD_ALL_CIPHERS | OPENSSL_INIT_ADD_ALL_DIGESTS, nullptr);
  if (!http_options_.retry.retryable) http_options_.retry.retryable = aws::retryableAwsAnswer;
}

// The client goes first: its I/O thread may still run a completion that reads credentials.
CloudServices::~CloudServices() {
  http_.reset();
  aws_credentials_.reset();
  azure_credentials_.reset();
}

net::HttpClient& CloudServices::http() {
  std::lock_guard lock(mutex_);
  if (!http_) http_ = std::make_unique<net::HttpClient>(http_options_);
  return *http_;
}

Result<aws::CredentialsProvider*> CloudServices::awsCredentials() {
  std::lock_guard lock(mutex_);
  if (!aws_credentials_) {
    auto chain = sourcesFor(aws_spec_);
    if (!chain) return tl::unexpected(chain.error());
    aws_credentials_ = std::make_unique<aws::CredentialsProvider>(std::move(*chain));
  }
  return aws_credentials_.get();
}

Result<const azure::Credentials*> CloudServices::azureCredentials() {
  std::lock_guard lock(mutex_);
  if (!azure_credentials_) {
    if (!http_) http_ = std::make_unique<net::HttpClient>(http_options_);
    auto credentials =
        azure::Credentials::create(azure_spec_.source, azure_spec_.params, http_.get());
    if (!credentials) return tl::unexpected(credentials.error());
    azure_credentials_ = std::move(*credentials);
  }
  return azure_credentials_.get();
}

} // namespace exoflow::backend
