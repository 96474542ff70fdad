#include "manifest/manifest.h"

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "manifest/checker.h"
#include "manifest/sections.h"
#include "manifest/source.h"
#include "manifest/yaml_tree.h"

namespace exoflow::manifest {

namespace {

constexpr std::array<std::string_view, 8> kTopKeys = {"exoflow", "app",      "compute", "routes",
                                                      "ports",   "services", "targets", "failover"};
constexpr Mark kFileStart{1, 1};

void checkVersion(Checker& c, const Field& f, model::App& app) {
  const YamlNode& v = *f.value;
  if (v.kind == YamlNode::Kind::kScalar && Checker::coreType(v) == CoreType::kInt) {
    const auto version = parseCoreInt(v.value);
    if (version == 1) {
      app.format_version = 1;
      return;
    }
    c.error(v.mark, f.path, fmt::format("unsupported format version {}", v.value),
            "this exoflow reads format version 1");
    return;
  }
  std::optional<std::string> hint = "write exoflow: 1";
  if (v.kind == YamlNode::Kind::kScalar && Checker::coreType(v) == CoreType::kString &&
      parseCoreInt(v.value)) {
    hint = fmt::format("a quoted value is a string; write {} without quotes", v.value);
  }
  c.error(v.mark, f.path, "expected the format version 1, got " + Checker::describe(v),
          std::move(hint));
}

void checkTopLevel(Checker& c, const YamlNode& root, model::App& app,
                   const std::optional<std::filesystem::path>& base_dir) {
  auto fields = c.mapping(root, "", kFileStart, kTopKeys);
  if (!fields) return;
  if (const Field* f = c.require(*fields, "exoflow")) checkVersion(c, *f, app);
  if (const Field* f = c.require(*fields, "app")) {
    if (auto name = c.parsed<std::string>(*f, "an app name such as webshop", &parseName)) {
      app.name = std::move(*name);
    }
  }
  const Field* compute = fields->get("compute");
  if (compute != nullptr) {
    checkCompute(c, *compute, app);
  } else if (fields->has("routes") || fields->has("ports")) {
    c.error(kFileStart, "compute", "required when routes or ports are present",
            "add compute: {run: <command>}");
  }
  if (const Field* f = fields->get("routes")) checkRoutes(c, *f, app);
  if (const Field* f = fields->get("ports")) checkPorts(c, *f, app);
  CrossMarks marks;
  if (const Field* f = fields->get("services")) checkServices(c, *f, app, marks);
  const Field* targets = c.require(*fields, "targets");
  if (targets != nullptr) checkTargets(c, *targets, app);
  const Field* failover = fields->get("failover");
  if (failover != nullptr) checkFailover(c, *failover, app);

  const std::size_t target_count =
      targets != nullptr && targets->value->kind == YamlNode::Kind::kSequence
          ? targets->value->items.size()
          : 0;
  const bool targets_listed =
      targets != nullptr && targets->value->kind == YamlNode::Kind::kSequence;
  if (failover != nullptr && targets_listed && target_count < 2) {
    c.error(failover->key->mark, failover->path,
            fmt::format("needs two or more targets, got {}", target_count),
            "add a target or remove failover");
  } else if (failover == nullptr && targets_listed && target_count >= 2) {
    c.warning(targets->key->mark, targets->path,
              fmt::format("{} targets without failover: each target stands alone", target_count),
              "add failover: {} to fail data and traffic over between them");
  }
  checkCapabilities(c, app, marks);

  if (base_dir && compute != nullptr && app.compute) {
    const std::filesystem::path artifact = *base_dir / app.compute->artifact;
    std::error_code ec;
    if (!std::filesystem::exists(artifact, ec)) {
      // Point at the artifact value, or at compute when the default "." is missing.
      Mark at = compute->key->mark;
      for (const auto& [key, value] : compute->value->entries) {
        if (key->value == "artifact") at = value->mark;
      }
      c.warning(at, "compute.artifact",
                fmt::format("\"{}\" does not exist (relative to the manifest's folder)",
                            app.compute->artifact),
                "exoflow deploy packages it and will fail until it exists");
    }
  }
}

} // namespace

LoadResult checkManifest(std::string_view file_name, std::string bytes,
                         const CheckOptions& options) {
  Checker c{std::string(file_name)};
  const SourceText source(std::move(bytes));
  LoadResult result;

  const std::vector<Mark> invalid = source.invalidUtf8();
  if (!invalid.empty()) {
    // YAML is text; past a bad byte nothing can be trusted, so report every one and stop.
    for (const Mark& mark : invalid) {
      c.error(mark, "", "the file is not valid UTF-8", "save the file as UTF-8");
    }
    result.diagnostics = c.takeDiagnostics();
    return result;
  }

  YamlFile yaml = parseYaml(source);
  if (yaml.syntax_error) {
    c.error(yaml.syntax_error->mark, "", yaml.syntax_error->message, yaml.syntax_error->hint);
    result.diagnostics = c.takeDiagnostics();
    return result;
  }
  for (const Mark& mark : yaml.extra_documents) {
    c.error(mark, "", "only one YAML document is allowed per file",
            "remove the \"---\" and everything after it, or move it to its own file");
  }
  if (!yaml.root || yaml.root->kind == YamlNode::Kind::kNull) {
    c.error(kFileStart, "", "the manifest is empty",
            "run `exoflow init` to write a starter manifest");
    result.diagnostics = c.takeDiagnostics();
    return result;
  }
  if (yaml.root->kind != YamlNode::Kind::kMapping) {
    c.error(yaml.root->mark, "",
            "expected a mapping of fields (exoflow, app, targets, ...), got " +
                Checker::describe(*yaml.root));
    result.diagnostics = c.takeDiagnostics();
    return result;
  }

  model::App app;
  checkTopLevel(c, *yaml.root, app, options.base_dir);
  if (!c.failed()) result.app = std::move(app);
  result.diagnostics = c.takeDiagnostics();
  return result;
}

tl::expected<LoadResult, ReadError> loadManifestFile(const std::filesystem::path& path,
                                                     std::string_view display_name) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return tl::unexpected(ReadError{fmt::format("{}: is a directory", display_name)});
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return tl::unexpected(
        ReadError{fmt::format("{}: cannot open: {}", display_name, std::strerror(errno))});
  }
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (in.bad()) return tl::unexpected(ReadError{fmt::format("{}: cannot read", display_name)});
  CheckOptions options;
  options.base_dir = path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path();
  return checkManifest(display_name, std::move(bytes).str(), options);
}

} // namespace exoflow::manifest
