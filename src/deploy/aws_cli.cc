#include "deploy/aws_cli.h"

#include <utility>

#include <algorithm>
#include <chrono>
#include <thread>

#include <fmt/format.h>

#include "deploy/peer_files.h"
#include "deploy/process.h"

namespace exoflow::deploy {

namespace {

using Json = nlohmann::json;

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' '))
    s.pop_back();
  const size_t first = s.find_first_not_of(" \n");
  return first == std::string::npos ? std::string() : s.substr(first);
}

tl::expected<Json, std::string> parseJson(const std::string& text, const std::string& what) {
  Json j = Json::parse(text, nullptr, false);
  if (j.is_discarded()) return tl::unexpected("the AWS CLI's answer to " + what + " is not JSON");
  return j;
}

std::string str(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool endsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string eventLine(const Json& e) {
  std::string line = "  " + str(e, "StackName") + "  " + str(e, "LogicalResourceId") + " (" +
                     str(e, "ResourceType") + ")  " + str(e, "ResourceStatus");
  const std::string reason = str(e, "ResourceStatusReason");
  if (!reason.empty()) line += "  " + reason;
  return line;
}

} // namespace

std::map<std::string, std::string> stackOutputs(const Json& stack) {
  std::map<std::string, std::string> outputs;
  auto it = stack.find("Outputs");
  if (it == stack.end() || !it->is_array()) return outputs;
  for (const Json& o : *it)
    outputs[str(o, "OutputKey")] = str(o, "OutputValue");
  return outputs;
}

AwsCli::AwsCli(AwsOptions options) : options_(std::move(options)) {
  if (!options_.print) options_.print = [](const std::string&) {};
}

void AwsCli::print(const std::string& line) const {
  options_.print(line);
}

std::vector<std::string> AwsCli::command(const std::string& region,
                                         const std::vector<std::string>& args) const {
  std::vector<std::string> argv{options_.program};
  if (!region.empty()) {
    argv.emplace_back("--region");
    argv.push_back(region);
  }
  if (!options_.endpoint_url.empty()) {
    argv.emplace_back("--endpoint-url");
    argv.push_back(options_.endpoint_url);
  }
  argv.emplace_back("--output");
  argv.emplace_back("json");
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

tl::expected<std::string, std::string> AwsCli::call(const std::string& region,
                                                    const std::vector<std::string>& args) const {
  const std::vector<std::string> argv = command(region, args);
  if (options_.dry_run) {
    print(quoteCommand(argv));
    return std::string();
  }
  auto result = runProcess(argv);
  if (!result) return tl::unexpected(result.error() + " (is the AWS CLI installed?)");
  if (result->exit_code != 0) {
    std::string message = trim(result->err);
    if (message.empty()) message = "exit status " + std::to_string(result->exit_code);
    return tl::unexpected(message);
  }
  return std::move(result->out);
}

tl::expected<std::optional<Json>, std::string>
AwsCli::describeStack(const std::string& region, const std::string& name) const {
  auto out = call(region, {"cloudformation", "describe-stacks", "--stack-name", name});
  if (!out) {
    if (out.error().find("does not exist") != std::string::npos) return std::optional<Json>();
    return tl::unexpected("describe-stacks " + name + " in " + region + ": " + out.error());
  }
  auto j = parseJson(*out, "describe-stacks");
  if (!j) return tl::unexpected(j.error());
  auto stacks = j->find("Stacks");
  if (stacks == j->end() || !stacks->is_array() || stacks->empty()) return std::optional<Json>();
  return std::optional<Json>(stacks->at(0));
}

tl::expected<Json, std::string> AwsCli::deployedTemplate(const std::string& region,
                                                         const std::string& name) const {
  auto out = call(region, {"cloudformation", "get-template", "--stack-name", name});
  if (!out) return tl::unexpected("get-template " + name + " in " + region + ": " + out.error());
  auto j = parseJson(*out, "get-template");
  if (!j) return tl::unexpected(j.error());
  auto body = j->find("TemplateBody");
  if (body == j->end()) return tl::unexpected("get-template " + name + ": no TemplateBody");
  if (body->is_string()) {
    Json parsed = Json::parse(body->get<std::string>(), nullptr, false);
    if (parsed.is_discarded()) {
      return tl::unexpected("the deployed template of " + name + " in " + region + " is not JSON");
    }
    return parsed;
  }
  return *body;
}

tl::expected<std::vector<Json>, std::string> AwsCli::events(const std::string& region,
                                                            const std::string& name) const {
  auto out = call(region, {"cloudformation", "describe-stack-events", "--stack-name", name});
  if (!out) return tl::unexpected(out.error());
  auto j = parseJson(*out, "describe-stack-events");
  if (!j) return tl::unexpected(j.error());
  std::vector<Json> list;
  auto it = j->find("StackEvents");
  if (it != j->end() && it->is_array()) list.assign(it->begin(), it->end());
  std::reverse(list.begin(), list.end()); // oldest first
  return list;
}

std::string AwsCli::failureReason(const std::string& region, const std::string& name,
                                  const std::set<std::string>& before) const {
  auto list = events(region, name);
  if (!list)
    return "stack " + name + " in " + region + " failed (its events: " + list.error() + ")";
  // The first resource that failed is the cause; the rest are rolled back because of it.
  for (const Json& e : *list) {
    if (before.count(str(e, "EventId")) != 0) continue;
    const std::string status = str(e, "ResourceStatus");
    if (endsWith(status, "_FAILED") && str(e, "LogicalResourceId") != name) {
      return fmt::format("stack {} in {}: resource {} ({}) {}: {}", name, region,
                         str(e, "LogicalResourceId"), str(e, "ResourceType"), status,
                         str(e, "ResourceStatusReason"));
    }
  }
  for (const Json& e : *list) {
    if (before.count(str(e, "EventId")) != 0) continue;
    if (endsWith(str(e, "ResourceStatus"), "_FAILED")) {
      return fmt::format("stack {} in {}: {}: {}", name, region, str(e, "ResourceStatus"),
                         str(e, "ResourceStatusReason"));
    }
  }
  return "stack " + name + " in " + region + " did not reach a complete state";
}

tl::expected<StackResult, std::string> AwsCli::deployStack(const StackRequest& request) const {
  const std::string& region = request.region;
  const std::string& name = request.name;
  std::vector<std::string> body;
  if (!request.template_body_file.empty()) {
    body = {"--template-body", "file://" + request.template_body_file};
  } else {
    body = {"--template-url", request.template_url};
  }
  Json params = Json::array();
  for (const auto& [key, value] : request.parameters) {
    const bool masked = options_.dry_run && request.secret_parameters.count(key) != 0;
    params.push_back(
        {{"ParameterKey", key}, {"ParameterValue", masked ? std::string(kMasked) : value}});
  }
  std::optional<PrivateFile> params_file;
  if (!options_.dry_run && !request.secret_parameters.empty()) {
    auto written = PrivateFile::write("parameters.json", params.dump());
    if (!written) return tl::unexpected(written.error());
    params_file.emplace(*std::move(written));
  }
  auto stack_args = [&](const char* verb) {
    std::vector<std::string> args{"cloudformation", verb, "--stack-name", name};
    args.insert(args.end(), body.begin(), body.end());
    if (params_file) {
      args.emplace_back("--parameters");
      args.push_back("file://" + params_file->path().string());
    } else if (!params.empty()) {
      args.emplace_back("--parameters");
      args.push_back(params.dump());
    }
    args.insert(args.end(), {"--capabilities", "CAPABILITY_IAM", "CAPABILITY_NAMED_IAM",
                             "CAPABILITY_AUTO_EXPAND"});
    return args;
  };

  if (options_.dry_run) {
    print("# " + name + " in " + region + ": create-stack, or update-stack when it exists");
    (void)call(region, stack_args("create-stack"));
    (void)call(region, {"cloudformation", "wait", "stack-create-complete", "--stack-name", name});
    return StackResult{"DRY_RUN", {}};
  }

  auto existing = describeStack(region, name);
  if (!existing) return tl::unexpected(existing.error());
  std::string status = *existing ? str(**existing, "StackStatus") : std::string();
  if (status == "ROLLBACK_COMPLETE") {
    // A stack whose creation failed cannot be updated, only replaced.
    print(name + " (" + region + "): ROLLBACK_COMPLETE after a failed create; deleting it first");
    auto del = call(region, {"cloudformation", "delete-stack", "--stack-name", name});
    if (!del) return tl::unexpected("delete-stack " + name + " in " + region + ": " + del.error());
    auto waited =
        call(region, {"cloudformation", "wait", "stack-delete-complete", "--stack-name", name});
    if (!waited)
      return tl::unexpected("deleting " + name + " in " + region + ": " + waited.error());
    status.clear();
  }
  const bool create = status.empty();
  std::set<std::string> seen;
  if (!create) {
    auto old = events(region, name);
    if (!old) return tl::unexpected("describe-stack-events " + name + ": " + old.error());
    for (const Json& e : *old)
      seen.insert(str(e, "EventId"));
  }
  const std::set<std::string> before = seen;

  print(std::string(create ? "creating " : "updating ") + name + " in " + region);
  auto started = call(region, stack_args(create ? "create-stack" : "update-stack"));
  if (!started) {
    if (!create && started.error().find("No updates are to be performed") != std::string::npos) {
      print(name + " (" + region + "): no changes");
      auto now = describeStack(region, name);
      if (!now) return tl::unexpected(now.error());
      return StackResult{str(**now, "StackStatus"), stackOutputs(**now)};
    }
    return tl::unexpected(std::string(create ? "create-stack " : "update-stack ") + name + " in " +
                          region + ": " + started.error());
  }

  auto waiter = Process::start(command(
      region, {"cloudformation", "wait", create ? "stack-create-complete" : "stack-update-complete",
               "--stack-name", name}));
  if (!waiter) return tl::unexpected(waiter.error() + " (is the AWS CLI installed?)");
  auto show_new = [&] {
    auto list = events(region, name);
    if (!list) return; // progress only; the waiter decides
    for (const Json& e : *list) {
      if (seen.insert(str(e, "EventId")).second) print(eventLine(e));
    }
  };
  using Clock = std::chrono::steady_clock;
  auto next_poll = Clock::now();
  while (waiter->running()) {
    if (Clock::now() >= next_poll) {
      show_new();
      next_poll = Clock::now() + std::chrono::seconds(2);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const ProcessResult waited = waiter->wait();
  show_new();
  if (waited.exit_code != 0) return tl::unexpected(failureReason(region, name, before));
  auto now = describeStack(region, name);
  if (!now) return tl::unexpected(now.error());
  if (!*now) return tl::unexpected("stack " + name + " in " + region + " is gone after deploy");
  return StackResult{str(**now, "StackStatus"), stackOutputs(**now)};
}

tl::expected<void, std::string> AwsCli::upload(const std::string& region, const std::string& file,
                                               const std::string& bucket,
                                               const std::string& key) const {
  auto out = call(region, {"s3", "cp", "--only-show-errors", file, "s3://" + bucket + "/" + key});
  if (!out) {
    return tl::unexpected("uploading " + file + " to s3://" + bucket + "/" + key + ": " +
                          out.error());
  }
  return {};
}

} // namespace exoflow::deploy
