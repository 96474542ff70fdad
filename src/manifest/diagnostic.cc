#include "manifest/diagnostic.h"

#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace exoflow::manifest {

void sortDiagnostics(std::vector<Diagnostic>& diagnostics) {
  std::stable_sort(diagnostics.begin(), diagnostics.end(),
                   [](const Diagnostic& a, const Diagnostic& b) {
                     if (a.mark.line != b.mark.line) return a.mark.line < b.mark.line;
                     return a.mark.column < b.mark.column;
                   });
}

bool hasErrors(const std::vector<Diagnostic>& diagnostics) {
  return std::any_of(diagnostics.begin(), diagnostics.end(),
                     [](const Diagnostic& d) { return d.severity == Severity::kError; });
}

namespace {
const char* severityName(Severity severity) {
  return severity == Severity::kError ? "error" : "warning";
}
} // namespace

std::string formatText(const std::vector<Diagnostic>& diagnostics) {
  std::string out;
  for (const Diagnostic& d : diagnostics) {
    out +=
        fmt::format("{}:{}:{}: {}: ", d.file, d.mark.line, d.mark.column, severityName(d.severity));
    if (!d.path.empty()) out += d.path + ": ";
    out += d.message;
    out += '\n';
    if (d.hint) out += fmt::format("  hint: {}\n", *d.hint);
  }
  return out;
}

std::string formatJson(const std::vector<Diagnostic>& diagnostics) {
  nlohmann::ordered_json array = nlohmann::ordered_json::array();
  for (const Diagnostic& d : diagnostics) {
    nlohmann::ordered_json item;
    item["file"] = d.file;
    item["line"] = d.mark.line;
    item["column"] = d.mark.column;
    item["severity"] = severityName(d.severity);
    item["path"] = d.path;
    item["message"] = d.message;
    item["hint"] = d.hint ? nlohmann::ordered_json(*d.hint) : nlohmann::ordered_json(nullptr);
    array.push_back(std::move(item));
  }
  // The texts come from our own checked input, but a file name may hold any bytes: replace
  // rather than throw on invalid UTF-8.
  return array.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

} // namespace exoflow::manifest
