#pragma once
// Internal to the config checker: the sections that config.cc hands off, and small helpers
// they share. Each reads its field, reports every problem through the Checker and fills its
// part of the ProxyConfig.

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "manifest/checker.h"
#include "proxy/config.h"

namespace exoflow::proxy::config_detail {

using manifest::Checker;
using manifest::Field;
using manifest::Fields;
using manifest::Mark;
using manifest::YamlNode;

/// A `peer:` key in a backend entry, checked against `peers` once both are read.
struct PeerReference {
  Mark mark;
  std::string path;
  std::string peer;
};

/// Reads `bindings`. `data_dir` must already be known (relative paths of backends).
void checkBindings(Checker& c, const Field& f, const ConfigOptions& options, ProxyConfig& config,
                   std::vector<PeerReference>& peer_refs);

/// `path` as written, made absolute against `base` and normalised.
std::filesystem::path resolvePath(const std::filesystem::path& base, std::string_view path);

/// A region of `cloud` ("aws", "azure") that the model knows; reports it otherwise.
std::optional<std::string> checkRegion(Checker& c, const Field& f, std::string_view cloud);

/// An http:// or https:// URL with a host; `https_only` refuses http://.
std::optional<std::string> checkUrl(Checker& c, const Field& f, bool https_only);

/// The value of key `key` in mapping `node` when it is a scalar, without reporting anything
/// (used to pick the allowed keys of a mapping before reading it).
const YamlNode* peekScalar(const YamlNode& node, std::string_view key);

} // namespace exoflow::proxy::config_detail
