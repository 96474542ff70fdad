#pragma once
// What a test does when an emulator it needs (moto, Azurite) is missing: `make test` installs
// them all, and a suite that skips silently proves nothing, so the test fails, unless a
// developer without them asks to run the rest with EXOFLOW_ALLOW_MISSING_EMULATORS=1.

#include <cstdlib>
#include <string_view>

namespace exoflow::testsupport {

/// True when EXOFLOW_ALLOW_MISSING_EMULATORS=1: a test whose emulator is missing may skip.
inline bool missingEmulatorsAllowed() {
  const char* allow = std::getenv("EXOFLOW_ALLOW_MISSING_EMULATORS");
  return allow != nullptr && std::string_view(allow) == "1";
}

} // namespace exoflow::testsupport
