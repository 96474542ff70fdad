#include "synth/startup.h"

#include <fmt/format.h>

namespace exoflow::synth {

std::string heredocFile(std::string_view path, std::string_view body) {
  std::string text(body);
  if (!text.empty() && text.back() != '\n') text += '\n';
  return fmt::format("cat > {} <<'{}'\n{}{}\n", path, kHeredocEnd, text, kHeredocEnd);
}

std::string systemdUnit(std::string_view description, std::string_view after, std::string_view env,
                        std::string_view exec, std::string_view log, std::string_view dir) {
  std::string out = fmt::format("[Unit]\nDescription={}\nWants=network-online.target\n"
                                "After=network-online.target{}\n\n[Service]\n",
                                description, after);
  if (!dir.empty()) out += fmt::format("WorkingDirectory={}\n", dir);
  out += fmt::format("EnvironmentFile={}\nExecStart={}\nRestart=always\nRestartSec=2\n"
                     "StandardOutput=append:{}\nStandardError=append:{}\n\n"
                     "[Install]\nWantedBy=multi-user.target\n",
                     env, exec, log, log);
  return out;
}

std::string systemdQuote(std::string_view value) {
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

} // namespace exoflow::synth
