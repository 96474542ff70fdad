#pragma once
// Diagnostics: what the validator says about a file, with 1-based positions counted in
// characters, and the two ways they are printed (text for humans, JSON for tools).

#include <optional>
#include <string>
#include <vector>

namespace exoflow::manifest {

enum class Severity { kError, kWarning };

/// A position in a source file: 1-based line and column, columns counted in characters.
struct Mark {
  int line = 1;
  int column = 1;
};

struct Diagnostic {
  std::string file;
  Mark mark;
  Severity severity = Severity::kError;
  std::string path; ///< e.g. "services.orders.visibility_timeout"; empty for file-level problems
  std::string message;
  std::optional<std::string> hint;
};

/// Sorts by line, then column; diagnostics at the same place keep the order they were found in.
void sortDiagnostics(std::vector<Diagnostic>& diagnostics);

bool hasErrors(const std::vector<Diagnostic>& diagnostics);

/// `file:line:col: error: path: message`, then `  hint: ...` on its own line when there is one.
std::string formatText(const std::vector<Diagnostic>& diagnostics);

/// A JSON array of {file, line, column, severity, path, message, hint}; hint is null if absent.
std::string formatJson(const std::vector<Diagnostic>& diagnostics);

} // namespace exoflow::manifest
