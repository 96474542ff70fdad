#pragma once
// The AWS CLI as `exoflow deploy` and `exoflow plan` use it: one `aws` process per call, JSON
// output, the same region and endpoint on every call, and CloudFormation stacks created or
// updated, waited for (with their events as they arrive) and read back.

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <tl/expected.hpp>

namespace exoflow::deploy {

struct AwsOptions {
  std::string program = "aws";
  std::string endpoint_url; ///< passed as --endpoint-url to every call when set
  bool dry_run = false;     ///< print every command, run none
  /// Where progress lines and, with dry_run, the commands go.
  std::function<void(const std::string&)> print;
};

/// One stack to create or update.
struct StackRequest {
  std::string name;
  std::string region;
  std::string template_body_file; ///< --template-body file://… when set
  std::string template_url;       ///< else --template-url
  std::map<std::string, std::string> parameters;
  /// Parameters whose values are secret: with any, the parameters go to the CLI in a private
  /// file (file://…) instead of on its command line, and --dry-run prints them masked.
  std::set<std::string> secret_parameters;
};

/// A deployed stack: its outputs by key.
struct StackResult {
  std::string status;
  std::map<std::string, std::string> outputs;
};

class AwsCli {
public:
  explicit AwsCli(AwsOptions options);

  /// The full argv of `aws <args>` in `region` (empty: the CLI's default).
  std::vector<std::string> command(const std::string& region,
                                   const std::vector<std::string>& args) const;

  /// Runs `aws <args>`; the result is its stdout. The error is the CLI's message (its stderr,
  /// trimmed). With dry_run, prints the command and returns "".
  tl::expected<std::string, std::string> call(const std::string& region,
                                              const std::vector<std::string>& args) const;

  /// The stack as `describe-stacks` shows it, or nullopt when it does not exist.
  tl::expected<std::optional<nlohmann::json>, std::string>
  describeStack(const std::string& region, const std::string& name) const;

  /// The template the stack runs now (`get-template`), as JSON.
  tl::expected<nlohmann::json, std::string> deployedTemplate(const std::string& region,
                                                             const std::string& name) const;

  /// Creates the stack or updates it ("No updates are to be performed" counts as done), waits
  /// with `aws cloudformation wait`, printing the stack's events as they arrive, and returns
  /// its outputs. A failure names the stack, the resource and CloudFormation's reason.
  tl::expected<StackResult, std::string> deployStack(const StackRequest& request) const;

  /// `aws s3 cp FILE s3://BUCKET/KEY`.
  tl::expected<void, std::string> upload(const std::string& region, const std::string& file,
                                         const std::string& bucket, const std::string& key) const;

  const AwsOptions& options() const { return options_; }

private:
  void print(const std::string& line) const;
  tl::expected<std::vector<nlohmann::json>, std::string> events(const std::string& region,
                                                                const std::string& name) const;
  std::string failureReason(const std::string& region, const std::string& name,
                            const std::set<std::string>& before) const;

  AwsOptions options_;
};

/// Outputs of a `describe-stacks` stack object, by key.
std::map<std::string, std::string> stackOutputs(const nlohmann::json& stack);

} // namespace exoflow::deploy
