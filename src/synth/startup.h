#pragma once
// Pieces of the instances' start-up scripts that every cloud writes the same way: files
// written by quoted heredocs and the systemd units of the app and exo-proxy.

#include <string>
#include <string_view>

namespace exoflow::synth {

/// The end marker of every heredoc in the start-up scripts.
constexpr std::string_view kHeredocEnd = "EXOFLOW_EOF";

/// `cat > path` of `body` through a quoted heredoc (bash leaves the body alone); a final
/// newline is added when missing.
std::string heredocFile(std::string_view path, std::string_view body);

/// A systemd service unit that starts after the network is up and restarts on exit.
/// `after` is appended to After= (e.g. " exo-proxy.service"); `dir` may be empty.
std::string systemdUnit(std::string_view description, std::string_view after, std::string_view env,
                        std::string_view exec, std::string_view log, std::string_view dir);

/// A value for a systemd EnvironmentFile: in double quotes, with " and \ escaped.
std::string systemdQuote(std::string_view value);

} // namespace exoflow::synth
