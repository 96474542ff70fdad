#pragma once
// `${VAR}` and `${VAR:-default}` in the proxy config's values. Expansion works on the parsed
// YAML tree, scalar by scalar, so a value that expands to YAML syntax stays one value and every
// diagnostic keeps the position of the value as written.

#include <string>
#include <string_view>

#include <tl/expected.hpp>

#include "manifest/checker.h"
#include "proxy/config.h"

namespace exoflow::proxy {

/// Why a value could not be expanded, as a diagnostic message and hint.
struct ExpandError {
  std::string message;
  std::string hint;
};

/// Expands every `${NAME}` and `${NAME:-default}` in `text`. NAME is [A-Za-z_][A-Za-z0-9_]*;
/// the default is literal text up to the next `}` and is used when NAME is unset or empty;
/// `$${` stands for a literal `${`; any other `$` is kept as it is. An unset NAME without a
/// default is an error naming it.
tl::expected<std::string, ExpandError> expandEnv(std::string_view text, const EnvLookup& env);

/// Makes every `${...}` (and `$${...}`) on a line safe for YAML's flow context before parsing,
/// so `{token: ${EXO_TOKEN}}` parses as API.md writes it: each ASCII character of a reference
/// becomes the private-use character U+E000 + its code. Characters stay characters, so every
/// position in a diagnostic is still right. unprotectReferences() undoes it.
std::string protectReferences(std::string_view text);

/// Reverses protectReferences() in one scalar.
std::string unprotectReferences(std::string_view text);

/// True when `text` holds a character protectReferences() uses (U+E000..U+E07F); such a file
/// is refused rather than misread.
bool holdsReservedCharacters(std::string_view text);

/// A copy of `node` with every scalar unprotected and expanded (mapping keys are unprotected
/// only). Reports each failure through `checker` at the scalar's mark and keeps the scalar
/// unexpanded.
manifest::YamlNodePtr expandTree(const manifest::YamlNodePtr& node, manifest::Checker& checker,
                                 const std::string& path, const EnvLookup& env);

} // namespace exoflow::proxy
