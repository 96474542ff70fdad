// libFuzzer harness: any bytes through the whole manifest pipeline (UTF-8 check, YAML, every
// section checker, both output formats) must come back as diagnostics, never as a crash, a
// sanitizer report, a hang or an exception.
#include <cstddef>
#include <cstdint>
#include <string>

#include "manifest/manifest.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace exoflow::manifest;
  LoadResult result =
      checkManifest("fuzz.yaml", std::string(reinterpret_cast<const char*>(data), size));
  // Both renderings must cope with whatever the diagnostics quote from the input.
  if (formatText(result.diagnostics).size() + formatJson(result.diagnostics).size() == 0) {
    __builtin_trap();
  }
  // Every verdict must be explained: no model means at least one error was reported.
  if (!result.app && !hasErrors(result.diagnostics)) __builtin_trap();
  if (result.app && hasErrors(result.diagnostics)) __builtin_trap();
  for (const Diagnostic& d : result.diagnostics) {
    if (d.mark.line < 1 || d.mark.column < 1) __builtin_trap();
  }
  return 0;
}
