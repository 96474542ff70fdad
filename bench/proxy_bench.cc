// The exo-proxy benchmarks (docs/benchmarks.md), each against a reference run in the same
// session, interleaved round by round (A B A B ..., every other round in reverse order) so that
// a machine busy with other work slows both alike; every figure is the median over the rounds
// with their range.
//   latency  one keep-alive connection, sequential tiny requests: nginx answering itself (U),
//            nginx proxy_pass to U (N), exo-proxy's /healthz and a kv GET (P); p50 and p99
//   cpu      wrk at a fixed number of connections; CPU seconds of the server's processes
//            (utime + stime from /proc) per request served
//   queue    send 10 + receive up to 10 + delete them (in one batch, then one by one), over HTTP
//   with libexoclient, against the
//            same calls on the local.sqlite backend in this process
//   objects  1 MiB PUT and GET through exo-proxy against 1 MiB file copies (with fsync and
//            without) in the proxy's data folder
//   rss      VmRSS of a fresh exo-proxy idle and holding 1,000 idle keep-alive connections,
//            and the same for the nginx hop
// Usage: bench_proxy [--rounds 5] [--seconds 3] [--sections latency,cpu,queue,objects,rss]
//                    [--exo-proxy PATH] [--compare PATH-OF-ANOTHER-BUILD]
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "bench_http.h"
#include "bench_support.h"
#include "bench_workloads.h"
#include "exoflow/client.h"

namespace {

using namespace exoflow::bench; // NOLINT(google-build-using-namespace): the benchmark's main

struct Settings {
  int rounds = 5;
  int seconds = 3;
  int cpu_rounds = 15; ///< short runs, many of them: the load of a shared machine shifts fast
  int cpu_seconds = 1;
  int connections = 16;
  int requests = 10000;
  int queue_threads = 4;
  int idle_connections = 1000;
  std::string sections = "latency,cpu,queue,objects,rss";
  std::string exo_proxy = EXO_PROXY_BINARY;
  std::string nginx;
  std::string wrk;
  std::string compare; ///< another exo-proxy binary for the latency and cpu tables
};

void progress(const std::string& text) {
  std::fprintf(stderr, "%s\n", text.c_str());
}

/// The tiny requests of the latency and CPU benchmarks.
struct Subject {
  std::string name;
  int port = 0;
  std::string path;
  std::string token;
  pid_t pid = 0;
  bool with_children = false; ///< nginx: the master and its workers
};

std::vector<Subject> tinySubjects(const ExoProxy& proxy, const NginxPair& nginx,
                                  const std::optional<ExoProxy>& other) {
  std::vector<Subject> subjects = {
      {"U: nginx `return 200` (reference)", nginx.upstreamPort(), "/", "", nginx.upstreamPid(),
       true},
      {"N: nginx `proxy_pass` hop to U", nginx.hopPort(), "/", "", nginx.hopPid(), true},
      {"P: exo-proxy `GET /healthz`", proxy.port(), "/healthz", "", proxy.pid(), false},
      {"P: exo-proxy kv `GET` (SQLite read)", proxy.port(), "/v1/tables/kv/items/greeting",
       ExoProxy::kToken, proxy.pid(), false},
  };
  if (other) {
    subjects.push_back({"P': --compare build, `GET /healthz`", other->port(), "/healthz", "",
                        other->pid(), false});
    subjects.push_back({"P': --compare build, kv `GET`", other->port(),
                        "/v1/tables/kv/items/greeting", ExoProxy::kToken, other->pid(), false});
  }
  return subjects;
}

void storeGreeting(const ExoProxy& proxy) {
  exoflow::client::ClientOptions options;
  options.endpoint = proxy.endpoint();
  options.token = ExoProxy::kToken;
  auto exo = exoflow::client::Client::create(options);
  if (!exo || !exo->putItem("kv", "greeting", R"("ok")")) {
    throw std::runtime_error("cannot store the kv item");
  }
}

void latency(const Settings& s, const ExoProxy& proxy, const NginxPair& nginx,
             const std::optional<ExoProxy>& other) {
  const std::vector<Subject> subjects = tinySubjects(proxy, nginx, other);
  std::vector<int> ports;
  std::vector<std::string> requests;
  for (const Subject& subject : subjects) {
    ports.push_back(subject.port);
    requests.push_back(getRequest(subject.path, subject.token));
  }
  std::vector<std::vector<double>> p50(subjects.size());
  std::vector<std::vector<double>> p99(subjects.size());
  /// Each exo-proxy row's added p50 over N's, per round.
  std::vector<std::vector<double>> added_ratio(subjects.size());
  for (int round = 0; round < s.rounds; ++round) {
    progress(fmt::format("latency: round {}/{}", round + 1, s.rounds));
    const std::vector<std::vector<double>> micros =
        interleavedLatencies(ports, requests, s.requests, s.requests / 10);
    for (std::size_t i = 0; i < subjects.size(); ++i) {
      p50[i].push_back(percentile(micros[i], 50));
      p99[i].push_back(percentile(micros[i], 99));
    }
    const double upstream = p50[0].back();
    const double hop = p50[1].back() - upstream;
    for (std::size_t i = 2; i < subjects.size(); ++i)
      added_ratio[i].push_back((p50[i].back() - upstream) / hop);
  }
  std::printf("\n### (a) Latency: %d rounds of %d sequential requests to each server in turn, one "
              "keep-alive connection each\n\n",
              s.rounds, s.requests);
  std::printf("| server | p50 µs | p99 µs | p50 − p50(U) µs | added p50 / N's "
              "|\n|---|---:|---:|---:|---:|\n");
  const double upstream = median(p50[0]);
  for (std::size_t i = 0; i < subjects.size(); ++i) {
    std::printf("| %s | %s | %s | %.1f | %s |\n", subjects[i].name.c_str(),
                spread(p50[i], 1).c_str(), spread(p99[i], 1).c_str(), median(p50[i]) - upstream,
                i >= 2   ? spread(added_ratio[i], 2).c_str()
                : i == 1 ? "1"
                         : "-");
  }
  std::printf("\nexo-proxy's added p50 / the nginx hop's added p50 (median of the rounds' "
              "ratios): healthz %.2f, kv GET %.2f (target ≤ 1.2)\n",
              median(added_ratio[2]), median(added_ratio[3]));
}

void cpu(const Settings& s, const ExoProxy& proxy, const NginxPair& nginx,
         const std::optional<ExoProxy>& other) {
  const std::vector<Subject> subjects = tinySubjects(proxy, nginx, other);
  std::vector<std::vector<double>> per_request(subjects.size());
  std::vector<std::vector<double>> rate(subjects.size());
  std::vector<std::vector<double>> ratio(subjects.size()); ///< to N's of the same round
  for (int round = 0; round < s.cpu_rounds; ++round) {
    progress(fmt::format("cpu: round {}/{}", round + 1, s.cpu_rounds));
    std::vector<double> used_per_request(subjects.size());
    // Every other round in reverse order, so that a trend in the machine's load does not
    // always fall on the same server.
    for (std::size_t k = 0; k < subjects.size(); ++k) {
      const std::size_t i = round % 2 == 0 ? k : subjects.size() - 1 - k;
      const Subject& subject = subjects[i];
      const double before = cpuSeconds(subject.pid, subject.with_children);
      const std::optional<WrkResult> run = runWrk(
          s.wrk, fmt::format("http://127.0.0.1:{}{}", subject.port, subject.path), s.connections, 1,
          s.cpu_seconds, subject.token.empty() ? "" : "Authorization: Bearer " + subject.token);
      const double used = cpuSeconds(subject.pid, subject.with_children) - before;
      if (!run || run->requests == 0 || run->failures > 0) {
        throw std::runtime_error("wrk failed against " + subject.name);
      }
      used_per_request[i] = used / static_cast<double>(run->requests) * 1e6;
      rate[i].push_back(static_cast<double>(run->requests) / run->seconds);
    }
    for (std::size_t i = 0; i < subjects.size(); ++i) {
      per_request[i].push_back(used_per_request[i]);
      ratio[i].push_back(used_per_request[i] / used_per_request[1]);
    }
  }
  std::printf("\n### (a) CPU per request: wrk -t1 -c%d, %d rounds of %d s per server\n\n",
              s.connections, s.cpu_rounds, s.cpu_seconds);
  std::printf("| server | CPU µs / request | / N's in the same round | requests/s "
              "|\n|---|---:|---:|---:|\n");
  for (std::size_t i = 0; i < subjects.size(); ++i) {
    std::printf("| %s | %s | %s | %s |\n", subjects[i].name.c_str(),
                spread(per_request[i], 1).c_str(), spread(ratio[i], 2).c_str(),
                spread(rate[i], 0).c_str());
  }
  std::printf("\nexo-proxy CPU per request / the nginx hop's (median of the rounds' ratios): "
              "healthz %.2f, kv GET %.2f (target ≤ 1.0)\n",
              median(ratio[2]), median(ratio[3]));
}

/// One mode of the queue loop (batch or single deletes), reference and subject interleaved.
void queueMode(const Settings& s, const ExoProxy& proxy, const std::filesystem::path& reference_dir,
               bool batch_delete) {
  std::vector<double> rate_ref;
  std::vector<double> rate_proxy;
  std::vector<double> cpu_ref;
  std::vector<double> cpu_proxy_server;
  std::vector<double> cpu_proxy_total;
  std::array<std::vector<double>, 3> phases; ///< send, receive, delete: CPU µs per message
  const char* mode = batch_delete ? "batch delete" : "one delete per message";
  for (int round = 0; round < s.rounds; ++round) {
    progress(fmt::format("queue ({}): round {}/{}", mode, round + 1, s.rounds));
    // Every other round the other one first.
    const auto run_reference = [&] {
      return queueInProcess(reference_dir, s.queue_threads, s.seconds, batch_delete);
    };
    const auto run_proxy = [&] {
      return queueOverProxy(proxy.endpoint(), ExoProxy::kToken, proxy.pid(), s.queue_threads,
                            s.seconds, batch_delete);
    };
    RunResult ref;
    RunResult http;
    if (round % 2 == 0) {
      ref = run_reference();
      http = run_proxy();
    } else {
      http = run_proxy();
      ref = run_reference();
    }
    const auto ops = [](const RunResult& r) { return static_cast<double>(r.operations); };
    rate_ref.push_back(ops(ref) / ref.seconds);
    rate_proxy.push_back(ops(http) / http.seconds);
    cpu_ref.push_back(ref.own_cpu / ops(ref) * 1e6);
    for (std::size_t i = 0; i < phases.size(); ++i)
      phases[i].push_back(ref.phase_cpu[i] / ops(ref) * 1e6);
    cpu_proxy_server.push_back(http.server_cpu / ops(http) * 1e6);
    cpu_proxy_total.push_back((http.server_cpu + http.own_cpu) / ops(http) * 1e6);
  }
  std::printf("\n### (b) Queue: send 10 + receive up to 10 + %s, %d threads, %d s per run, %d "
              "rounds\n\n",
              batch_delete ? "delete them in one batch" : "delete each", s.queue_threads, s.seconds,
              s.rounds);
  std::printf("| path | messages/s | CPU µs / message |\n|---|---:|---:|\n");
  std::printf("| local.sqlite in process (reference) | %s | %s |\n", spread(rate_ref, 0).c_str(),
              spread(cpu_ref, 1).c_str());
  std::printf("| exo-proxy over HTTP, libexoclient | %s | %s exo-proxy, %s with the clients |\n",
              spread(rate_proxy, 0).c_str(), spread(cpu_proxy_server, 1).c_str(),
              spread(cpu_proxy_total, 1).c_str());
  std::printf("\nin process, CPU µs per message by call: send (a batch of 10) %.1f, receive (up to "
              "10) %.1f, delete (%s) %.1f\n",
              median(phases[0]), median(phases[1]), batch_delete ? "in one batch" : "one each",
              median(phases[2]));
  std::printf("over HTTP / in process: %.2f of the rate; exo-proxy alone at 2 cores of CPU "
              "would serve %.0f messages/s%s\n",
              median(rate_proxy) / median(rate_ref), 2e6 / median(cpu_proxy_server),
              batch_delete ? " (target ≥ 20,000 on 2 cores)" : "");
}

void queue(const Settings& s, const ExoProxy& proxy) {
  const TempDir reference_dir("exo-bench-queue-");
  queueMode(s, proxy, reference_dir.path(), true);
  queueMode(s, proxy, reference_dir.path(), false);
}

void objects(const Settings& s, const ExoProxy& proxy) {
  struct Row {
    std::string name;
    std::function<RunResult()> run;
    std::vector<double> mib_per_s = {};
    std::vector<double> server_ms = {};
    std::vector<double> client_ms = {};
  };
  const std::filesystem::path copies = proxy.dataDir() / "copies";
  const std::string endpoint = proxy.endpoint();
  const pid_t pid = proxy.pid();
  const int port = proxy.port();
  std::vector<Row> rows = {
      {"file copy, no fsync (reference)", [&] { return fileCopies(copies, false, s.seconds); }},
      {"file copy + fsync (reference)", [&] { return fileCopies(copies, true, s.seconds); }},
      {"PUT, minimal client",
       [&] { return objectsRaw(port, ExoProxy::kToken, pid, true, s.seconds); }},
      {"GET, minimal client",
       [&] { return objectsRaw(port, ExoProxy::kToken, pid, false, s.seconds); }},
      {"PUT, libexoclient `putObject`",
       [&] { return objectsOverProxy(endpoint, ExoProxy::kToken, pid, true, s.seconds); }},
      {"GET, libexoclient `getObjectToSink`",
       [&] { return objectsOverProxy(endpoint, ExoProxy::kToken, pid, false, s.seconds); }},
  };
  for (int round = 0; round < s.rounds; ++round) {
    progress(fmt::format("objects: round {}/{}", round + 1, s.rounds));
    for (std::size_t k = 0; k < rows.size(); ++k) {
      Row& row = rows[round % 2 == 0 ? k : rows.size() - 1 - k]; // every other round reversed
      const RunResult r = row.run();
      const double mib = static_cast<double>(r.bytes) / (1024.0 * 1024.0);
      row.mib_per_s.push_back(mib / r.seconds);
      row.server_ms.push_back(r.server_cpu / mib * 1e3);
      row.client_ms.push_back(r.own_cpu / mib * 1e3);
    }
  }
  std::printf("\n### (c) Objects: 1 MiB bodies, one at a time on one connection, %d s per run, %d "
              "rounds\n\n",
              s.seconds, s.rounds);
  std::printf("| operation | MiB/s | exo-proxy CPU ms / MiB | client (or copy) CPU ms / MiB "
              "|\n|---|---:|---:|---:|\n");
  for (const Row& row : rows) {
    std::printf("| %s | %s | %s | %s |\n", row.name.c_str(), spread(row.mib_per_s, 0).c_str(),
                row.server_ms.front() > 0 ? spread(row.server_ms, 2).c_str() : "-",
                spread(row.client_ms, 2).c_str());
  }
  const auto rate = [&rows](std::size_t i) { return median(rows[i].mib_per_s); };
  std::printf("\nminimal client: PUT / copy + fsync %.2f, GET / copy without fsync %.2f; "
              "libexoclient: PUT %.2f, GET %.2f\n",
              rate(2) / rate(1), rate(3) / rate(0), rate(4) / rate(1), rate(5) / rate(0));
}

/// VmRSS of `pid` (with children) idle, then while `count` connections that each made one
/// request stay open.
std::pair<double, double> rssIdleAndHeld(pid_t pid, bool with_children, int port,
                                         const std::string& path, int count) {
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const double idle = static_cast<double>(rssKiB(pid, with_children)) / 1024.0;
  std::vector<HttpConnection> held;
  held.reserve(static_cast<std::size_t>(count));
  const std::string request = getRequest(path);
  for (int i = 0; i < count; ++i) {
    held.emplace_back(port);
    if (held.back().roundTrip(request) != 200) throw std::runtime_error("a request failed");
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  return {idle, static_cast<double>(rssKiB(pid, with_children)) / 1024.0};
}

void rss(const Settings& s, const std::optional<ExoProxy>& loaded) {
  std::vector<double> proxy_idle;
  std::vector<double> proxy_held;
  std::vector<double> nginx_idle;
  std::vector<double> nginx_held;
  for (int round = 0; round < s.rounds; ++round) {
    progress(fmt::format("rss: round {}/{}", round + 1, s.rounds));
    {
      const ExoProxy fresh(s.exo_proxy);
      const auto [idle, held] =
          rssIdleAndHeld(fresh.pid(), false, fresh.port(), "/healthz", s.idle_connections);
      proxy_idle.push_back(idle);
      proxy_held.push_back(held);
    }
    const NginxPair fresh(s.nginx, 1, static_cast<int>(std::thread::hardware_concurrency()));
    const auto [idle, held] =
        rssIdleAndHeld(fresh.hopPid(), true, fresh.hopPort(), "/", s.idle_connections);
    nginx_idle.push_back(idle);
    nginx_held.push_back(held);
  }
  std::printf("\n### (d) Resident memory (VmRSS), %d rounds\n\n", s.rounds);
  std::printf("| server | idle MiB | %d idle keep-alive connections MiB | KiB per connection "
              "|\n|---|---:|---:|---:|\n",
              s.idle_connections);
  const double per = 1024.0 / s.idle_connections;
  std::printf("| exo-proxy (fresh) | %s | %s | %.1f |\n", spread(proxy_idle, 1).c_str(),
              spread(proxy_held, 1).c_str(), (median(proxy_held) - median(proxy_idle)) * per);
  std::printf("| nginx hop N: master + workers (fresh) | %s | %s | %.1f |\n",
              spread(nginx_idle, 1).c_str(), spread(nginx_held, 1).c_str(),
              (median(nginx_held) - median(nginx_idle)) * per);
  if (loaded) {
    std::printf("\nexo-proxy after the other benchmarks of this run: %.1f MiB\n",
                static_cast<double>(rssKiB(loaded->pid())) / 1024.0);
  }
}

bool wants(const Settings& s, const std::string& section) {
  return ("," + s.sections + ",").find("," + section + ",") != std::string::npos;
}

int run(Settings& s) {
  raiseFileLimit(static_cast<std::uint64_t>(s.idle_connections) * 2 + 1024);
  const bool need_nginx = wants(s, "latency") || wants(s, "cpu") || wants(s, "rss");
  if (need_nginx) {
    auto nginx = findProgram({s.nginx, "nginx"});
    if (!nginx) throw std::runtime_error("nginx not found (scripts/setup installs nginx-light)");
    s.nginx = *nginx;
  }
  if (wants(s, "cpu")) {
    auto wrk = findProgram({s.wrk, "wrk"});
    if (!wrk) throw std::runtime_error("wrk not found (scripts/setup installs it)");
    s.wrk = *wrk;
  }
  const std::time_t now = std::time(nullptr);
  std::array<char, 32> date{};
  std::strftime(date.data(), date.size(), "%Y-%m-%d %H:%M", std::localtime(&now));
  std::printf("## exo-proxy benchmarks, %s, %s\n\nexo-proxy: %s\n", date.data(),
              loadAverage().c_str(), s.exo_proxy.c_str());
  std::optional<ExoProxy> proxy;
  if (wants(s, "latency") || wants(s, "cpu") || wants(s, "queue") || wants(s, "objects")) {
    proxy.emplace(s.exo_proxy);
    storeGreeting(*proxy);
  }
  if (wants(s, "latency") || wants(s, "cpu")) {
    // U gets one worker, so that it rarely limits N; N gets as many as exo-proxy has threads.
    const NginxPair nginx(s.nginx, 1, static_cast<int>(std::thread::hardware_concurrency()));
    // Another build of exo-proxy measured beside this one, as two more rows (A/B of a change).
    std::optional<ExoProxy> other;
    if (!s.compare.empty()) {
      other.emplace(s.compare);
      storeGreeting(*other);
    }
    if (wants(s, "latency")) latency(s, *proxy, nginx, other);
    if (wants(s, "cpu")) cpu(s, *proxy, nginx, other);
  }
  if (wants(s, "queue")) queue(s, *proxy);
  if (wants(s, "objects")) objects(s, *proxy);
  if (wants(s, "rss")) rss(s, proxy);
  std::printf("\nload at the end: %s\n", loadAverage().c_str());
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  try {
    Settings s;
    CLI::App app{"exo-proxy benchmarks against nginx, the local backend and file copies"};
    app.add_option("--rounds", s.rounds, "rounds of each benchmark (medians are reported)");
    app.add_option("--seconds", s.seconds, "length of each timed run");
    app.add_option("--connections", s.connections, "wrk connections (cpu)");
    app.add_option("--cpu-rounds", s.cpu_rounds, "rounds of the cpu benchmark");
    app.add_option("--cpu-seconds", s.cpu_seconds, "length of each wrk run (cpu)");
    app.add_option("--requests", s.requests, "sequential requests per round (latency)");
    app.add_option("--queue-threads", s.queue_threads, "client threads (queue)");
    app.add_option("--idle-connections", s.idle_connections, "held connections (rss)");
    app.add_option("--sections", s.sections, "latency,cpu,queue,objects,rss");
    app.add_option("--exo-proxy", s.exo_proxy, "the exo-proxy binary");
    app.add_option("--compare", s.compare,
                   "another exo-proxy binary, measured beside the first (latency, cpu)");
    app.add_option("--nginx", s.nginx, "the nginx binary (default: from PATH, /usr/sbin)");
    app.add_option("--wrk", s.wrk, "the wrk binary (default: from PATH)");
    CLI11_PARSE(app, argc, argv);
    return run(s);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_proxy: %s\n", e.what());
    return 1;
  }
}
