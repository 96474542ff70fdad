#pragma once
// Pure parsers for the value syntaxes of manifest v1 (YAML 1.2 core-schema scalars, durations,
// sizes, names, ports, CIDRs, paths, DNS names). Each returns the value or why it is not one;
// the checker turns the "why" into a diagnostic.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <tl/expected.hpp>

#include "model/app.h"

namespace exoflow::manifest {

/// What a plain scalar means under the YAML 1.2 core schema.
enum class CoreType { kNull, kBool, kInt, kFloat, kString };

/// Resolves a plain (unquoted, untagged) scalar by the core schema's regular expressions.
CoreType resolvePlainScalar(std::string_view text);

/// Core-schema integers: decimal with optional sign, 0o octal, 0x hex. Empty when out of range.
std::optional<std::int64_t> parseCoreInt(std::string_view text);

/// Core-schema booleans: true/True/TRUE, false/False/FALSE.
std::optional<bool> parseCoreBool(std::string_view text);

/// Why a value was refused, written to stand as a diagnostic's hint (may be empty).
using Refusal = tl::unexpected<std::string>;
template <typename T> using Parsed = tl::expected<T, std::string>;

/// `30s`, `4d`: a whole number and one of ms, s, m, h, d.
Parsed<model::Millis> parseDuration(std::string_view text);

/// `256KiB`: a whole number and one of B, KiB, MiB, GiB, TiB (case as written).
Parsed<model::Bytes> parseSize(std::string_view text);

/// Writes a duration with the largest unit that divides it: 43200000 -> "12h".
std::string formatDuration(model::Millis millis);

/// Writes a size with the largest unit that divides it: 262144 -> "256KiB".
std::string formatSize(model::Bytes bytes);

/// `^[a-z][a-z0-9-]{0,30}[a-z0-9]$` without `--`.
Parsed<std::string> parseName(std::string_view text);

struct PortRange {
  int from = 0;
  int to = 0;
};

/// `9000-9010` (a range written as text); single ports are integers and are checked apart.
Parsed<PortRange> parsePortRange(std::string_view text);

struct Cidr {
  std::string canonical; ///< e.g. "10.0.0.0/8", "2001:db8::/32"
  bool ipv6 = false;
};

/// An IPv4 or IPv6 network with its prefix length and no host bits set.
Parsed<Cidr> parseCidr(std::string_view text);

/// An HTTP path: starts with "/", printable URL characters; `allow_wildcard` permits one
/// trailing "*".
Parsed<std::string> parseHttpPath(std::string_view text, bool allow_wildcard);

/// A DNS name (`example.com`, trailing dot allowed) or, with `label_only`, one label.
Parsed<std::string> parseDnsName(std::string_view text, bool label_only);

} // namespace exoflow::manifest
