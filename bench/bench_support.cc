#include "bench_support.h"

#include <utility>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <poll.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ; // NOLINT(readability-identifier-naming): the C library's name

namespace exoflow::bench {
namespace fs = std::filesystem;

namespace {

std::string readFile(const fs::path& file) {
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void writeFile(const fs::path& file, const std::string& text) {
  std::ofstream out(file);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + file.string());
}

/// The fields of /proc/<pid>/stat after the command name: [0] state, [1] ppid, [11] utime,
/// [12] stime. Empty when the process is gone.
std::vector<std::string> statFields(pid_t pid) {
  const std::string text = readFile(fmt::format("/proc/{}/stat", pid));
  const std::size_t close = text.rfind(')');
  if (close == std::string::npos) return {};
  std::istringstream rest(text.substr(close + 2));
  std::vector<std::string> fields;
  std::string field;
  while (rest >> field)
    fields.push_back(field);
  return fields;
}

std::vector<pid_t> childrenOf(pid_t parent) {
  std::vector<pid_t> out;
  for (const fs::directory_entry& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
    const pid_t pid = std::stoi(name);
    const std::vector<std::string> fields = statFields(pid);
    if (fields.size() > 1 && std::stoi(fields[1]) == parent) out.push_back(pid);
  }
  return out;
}

double ownCpuSeconds(pid_t pid) {
  const std::vector<std::string> fields = statFields(pid);
  if (fields.size() < 13) return 0;
  const double ticks = std::stod(fields[11]) + std::stod(fields[12]);
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

std::uint64_t ownRssKiB(pid_t pid) {
  std::istringstream status(readFile(fmt::format("/proc/{}/status", pid)));
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("VmRSS:")) return std::stoull(line.substr(6));
  }
  return 0;
}

} // namespace

TempDir::TempDir(const std::string& prefix) {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = (fs::path(tmp != nullptr ? tmp : "/tmp") / (prefix + "XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error("mkdtemp " + pattern + ": " + std::strerror(errno));
  }
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

double cpuSeconds(pid_t pid, bool with_children) {
  double total = ownCpuSeconds(pid);
  if (with_children) {
    for (pid_t child : childrenOf(pid))
      total += ownCpuSeconds(child);
  }
  return total;
}

double userCpuSeconds(pid_t pid) {
  const std::vector<std::string> fields = statFields(pid);
  if (fields.size() < 13) return 0;
  return std::stod(fields[11]) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

std::uint64_t rssKiB(pid_t pid, bool with_children) {
  std::uint64_t total = ownRssKiB(pid);
  if (with_children) {
    for (pid_t child : childrenOf(pid))
      total += ownRssKiB(child);
  }
  return total;
}

std::uint64_t raiseFileLimit(std::uint64_t wanted) {
  rlimit limit{};
  ::getrlimit(RLIMIT_NOFILE, &limit);
  if (limit.rlim_cur < wanted) {
    limit.rlim_cur = std::min<rlim_t>(wanted, limit.rlim_max);
    ::setrlimit(RLIMIT_NOFILE, &limit);
    ::getrlimit(RLIMIT_NOFILE, &limit);
  }
  return limit.rlim_cur;
}

int freePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof address;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), size) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) == 0) {
    port = ntohs(address.sin_port);
  }
  ::close(fd);
  if (port == 0) throw std::runtime_error("no free port on 127.0.0.1");
  return port;
}

bool waitForPort(int port, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    ::close(fd);
    if (ok) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

std::optional<std::string> findProgram(const std::vector<std::string>& candidates) {
  std::vector<std::string> dirs;
  if (const char* path = std::getenv("PATH")) {
    std::istringstream parts(path);
    std::string dir;
    while (std::getline(parts, dir, ':'))
      if (!dir.empty()) dirs.push_back(dir);
  }
  dirs.emplace_back("/usr/sbin");
  dirs.emplace_back("/sbin");
  for (const std::string& candidate : candidates) {
    if (candidate.empty()) continue;
    if (candidate.find('/') != std::string::npos) {
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
      continue;
    }
    for (const std::string& dir : dirs) {
      const std::string full = (fs::path(dir) / candidate).string();
      if (::access(full.c_str(), X_OK) == 0) return full;
    }
  }
  return std::nullopt;
}

Child::Child(const std::vector<std::string>& argv, const fs::path& log, bool capture_stdout) {
  std::array<int, 2> out{-1, -1};
  if (capture_stdout && ::pipe2(out.data(), O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe: " + std::string(std::strerror(errno)));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 2, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (capture_stdout) {
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  } else {
    posix_spawn_file_actions_adddup2(&actions, 2, 1);
  }
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const std::string& arg : argv)
    args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  const int rc = ::posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (capture_stdout) {
    ::close(out[1]);
    stdout_fd_ = out[0];
  }
  if (rc != 0) {
    if (stdout_fd_ >= 0) ::close(stdout_fd_);
    throw std::runtime_error(fmt::format("cannot start {}: {}", argv[0], std::strerror(rc)));
  }
}

Child::~Child() {
  stop();
  if (stdout_fd_ >= 0) ::close(stdout_fd_);
}

std::optional<std::string> Child::readLine(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    const std::size_t newline = pending_.find('\n');
    if (newline != std::string::npos) {
      std::string line = pending_.substr(0, newline);
      pending_.erase(0, newline + 1);
      return line;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (stdout_fd_ < 0 || left.count() <= 0) return std::nullopt;
    pollfd p{stdout_fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    std::array<char, 4096> buffer{};
    const ssize_t n = ::read(stdout_fd_, buffer.data(), buffer.size());
    if (n <= 0) return std::nullopt;
    pending_.append(buffer.data(), static_cast<std::size_t>(n));
  }
}

bool Child::alive() {
  if (reaped_) return false;
  if (::waitpid(pid_, &status_, WNOHANG) == pid_) reaped_ = true;
  return !reaped_;
}

int Child::stop() {
  if (!alive()) return status_;
  ::kill(pid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (alive() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  if (alive()) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status_, 0);
    reaped_ = true;
  }
  return status_;
}

ExoProxy::ExoProxy(const std::string& binary)
    : ExoProxy(binary, R"(bindings:
  jobs: {kind: queue, backends: [{type: local.sqlite}]}
  blobs: {kind: objects, backends: [{type: local.sqlite}]}
  kv: {kind: kv, backends: [{type: local.sqlite}]}
)") {}

ExoProxy::ExoProxy(const std::string& binary, const std::string& bindings)
    : dir_("exo-bench-proxy-") {
  // Long timeouts and a high connection limit: the RSS benchmark holds 1,000 idle connections.
  writeFile(dir_.path() / "proxy.yaml", fmt::format(R"(listen: 127.0.0.1:0
token: {}
data_dir: data
limits: {{max_connections: 4096, header_timeout: 300s, idle_timeout: 300s}}
{})",
                                                    kToken, bindings));
  child_.emplace(std::vector<std::string>{binary, "--config", (dir_.path() / "proxy.yaml").string(),
                                          "--log-level", "warn"},
                 dir_.path() / "proxy.log", true);
  const std::optional<std::string> line = child_->readLine(std::chrono::seconds(30));
  const std::string prefix = "listening on 127.0.0.1:";
  if (!line || !line->starts_with(prefix)) {
    throw std::runtime_error("exo-proxy did not start: " + readFile(dir_.path() / "proxy.log"));
  }
  port_ = std::stoi(line->substr(prefix.size()));
}

std::string ExoProxy::endpoint() const {
  return fmt::format("http://127.0.0.1:{}", port_);
}

namespace {

/// The top of an nginx config: as root when started by root (user root), never a daemon,
/// every path in `d`.
std::string nginxMain(const std::string& d, int workers) {
  return fmt::format(R"(daemon off;
master_process on;
{}
worker_processes {};
worker_rlimit_nofile 8192;
pid {}/nginx.pid;
error_log {}/error.log warn;
events {{ worker_connections 4096; }}
)",
                     ::geteuid() == 0 ? "user root;" : "", workers, d, d);
}

/// The common part of the http block: access logs off (exo-proxy logs no requests either),
/// client connections kept alive, temp paths in `d`.
std::string nginxHttp(const std::string& d) {
  return fmt::format(
      R"(  access_log off;
  keepalive_timeout 300s;
  keepalive_requests 100000000;
  client_body_temp_path {0}/body;
  proxy_temp_path {0}/proxy;
  fastcgi_temp_path {0}/fastcgi;
  uwsgi_temp_path {0}/uwsgi;
  scgi_temp_path {0}/scgi;
)",
      d);
}

/// A server on `port` that proxy_passes to 127.0.0.1:`upstream`, reusing upstream connections
/// when the upstream allows.
std::string nginxProxyPass(int upstream, int port) {
  return fmt::format(R"(  upstream reference {{
    server 127.0.0.1:{};
    keepalive 64;
    keepalive_requests 100000000;
  }}
  server {{
    listen 127.0.0.1:{};
    location / {{
      proxy_pass http://reference;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }}
  }}
)",
                     upstream, port);
}

/// Writes `config` to <dir>/nginx.conf and starts nginx on it; waits for `port`.
void startNginx(std::optional<Child>& child, const std::string& binary, const fs::path& d,
                const std::string& config, int port) {
  fs::create_directories(d);
  writeFile(d / "nginx.conf", config);
  child.emplace(std::vector<std::string>{binary, "-p", d.string(), "-c",
                                         (d / "nginx.conf").string(), "-e",
                                         (d / "error.log").string()},
                d / "stderr.log", false);
  if (!waitForPort(port, std::chrono::seconds(10)) || !child->alive()) {
    throw std::runtime_error("nginx (" + d.filename().string() + ") did not start: " +
                             readFile(d / "error.log") + readFile(d / "stderr.log"));
  }
}

} // namespace

NginxPair::NginxPair(const std::string& binary, int upstream_workers, int hop_workers)
    : binary_(binary), dir_("exo-bench-nginx-") {
  upstream_port_ = freePort();
  hop_port_ = freePort();
  const std::string u = (dir_.path() / "upstream").string();
  const std::string h = (dir_.path() / "hop").string();
  const std::string upstream = nginxMain(u, upstream_workers) + "http {\n" + nginxHttp(u) +
                               fmt::format("  server {{\n    listen 127.0.0.1:{};\n"
                                           "    location / {{ return 200 \"ok\"; }}\n  }}\n}}\n",
                                           upstream_port_);
  const std::string hop = nginxMain(h, hop_workers) + "http {\n" + nginxHttp(h) +
                          nginxProxyPass(upstream_port_, hop_port_) + "}\n";
  start(upstream_, "upstream", upstream, upstream_port_);
  start(hop_, "hop", hop, hop_port_);
}

NginxFront::NginxFront(const std::string& binary, int upstream_port)
    : dir_("exo-bench-front-"), port_(freePort()) {
  const std::string d = dir_.path().string();
  startNginx(child_, binary, dir_.path(),
             nginxMain(d, 1) + "http {\n" + nginxHttp(d) + nginxProxyPass(upstream_port, port_) +
                 "}\n",
             port_);
}

NginxCanned::NginxCanned(const std::string& binary, const std::string& content_type,
                         const std::string& body)
    : dir_("exo-bench-canned-"), port_(freePort()) {
  const std::string d = dir_.path().string();
  startNginx(child_, binary, dir_.path(),
             nginxMain(d, 1) + "http {\n" + nginxHttp(d) +
                 fmt::format("  server {{\n    listen 127.0.0.1:{};\n    location / {{\n"
                             "      default_type {};\n      return 200 '{}';\n    }}\n  }}\n}}\n",
                             port_, content_type, body),
             port_);
}

void NginxPair::start(std::optional<Child>& child, const std::string& name,
                      const std::string& config, int port) {
  startNginx(child, binary_, dir_.path() / name, config, port);
}

namespace {

double seconds(const timeval& t) {
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
}

} // namespace

double ownCpu() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

double ownUserCpu() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return seconds(usage.ru_utime);
}

std::string spread(const std::vector<double>& values, int digits) {
  if (values.empty()) return "-";
  const auto [low, high] = std::minmax_element(values.begin(), values.end());
  return fmt::format("{:.{}f} ({:.{}f}–{:.{}f})", median(values), digits, *low, digits, *high,
                     digits);
}

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto rank =
      static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(values.size())));
  return values[std::clamp<std::size_t>(rank, 1, values.size()) - 1];
}

std::string loadAverage() {
  std::array<double, 3> load{};
  if (::getloadavg(load.data(), 3) != 3) return "unknown";
  return fmt::format("load average {:.2f}, {:.2f}, {:.2f} ({} cores)", load[0], load[1], load[2],
                     std::thread::hardware_concurrency());
}

} // namespace exoflow::bench

namespace exoflow::bench {

void PathComparison::round(int index, const std::function<TimedRun()>& through,
                           const std::function<TimedRun()>& direct) {
  TimedRun p;
  TimedRun d;
  if (index % 2 == 0) {
    p = through();
    d = direct();
  } else {
    d = direct();
    p = through();
  }
  proxy_cpu.push_back(p.subject_cpu / p.requests * 1e6);
  proxy_server.push_back(p.server_cpu / p.requests * 1e6);
  proxy_p50.push_back(median(p.latency_us));
  direct_cpu.push_back(d.subject_cpu / d.requests * 1e6);
  direct_server.push_back(d.server_cpu / d.requests * 1e6);
  direct_p50.push_back(median(d.latency_us));
  ratio.push_back(proxy_cpu.back() / direct_cpu.back());
}

void PathComparison::printTable(const std::string& unit, const std::string& server,
                                const std::string& direct_label,
                                const std::string& proxy_label) const {
  std::printf("| path | CPU µs / %s (subject) | %s CPU µs / %s | p50 µs |\n|---|---:|---:|---:|\n",
              unit.c_str(), server.c_str(), unit.c_str());
  std::printf("| %s | %s | %s | %s |\n", direct_label.c_str(), spread(direct_cpu, 1).c_str(),
              spread(direct_server, 1).c_str(), spread(direct_p50, 0).c_str());
  std::printf("| %s | %s exo-proxy | %s | %s |\n", proxy_label.c_str(),
              spread(proxy_cpu, 1).c_str(), spread(proxy_server, 1).c_str(),
              spread(proxy_p50, 0).c_str());
}

} // namespace exoflow::bench
