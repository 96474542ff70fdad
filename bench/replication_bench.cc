// Replication lag under a steady write load: kv writes at a fixed rate (open loop) through the
// failover composite of a two-backend chain with replication, as exo-proxy builds it (journal,
// replicator, per-key holds), over local.sqlite members. The lag of a write is the time from
// its acknowledgement until its copy landed on the secondary (recorded by a wrapper around the
// secondary); it is compared with the latency of the same write made directly on the primary.
// With cloud members, each copy adds a GET on the source and a PUT on the target to these
// figures; what is measured here is what replication itself adds.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <iostream>
#include <map>
#include <mutex>
#include <thread>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "backend/local/local_backends.h"
#include "backend/thread_scheduler.h"
#include "bench_support.h"
#include "proxy/failover/failover_stores.h"
#include "proxy/failover/replication.h"

namespace {

using namespace exoflow;
using Clock = std::chrono::steady_clock;

/// Records when each key's put completed on the wrapped store.
class Landing final : public backend::KvStore {
public:
  explicit Landing(backend::KvStore& inner) : inner_(inner) {}
  std::string describe() const override { return inner_.describe(); }
  backend::KvFeatures features() const override { return inner_.features(); }
  void put(backend::KvPutRequest request, backend::Done<std::string> done) override {
    std::string key = request.key;
    inner_.put(std::move(request),
               [this, key = std::move(key), done = std::move(done)](Result<std::string> r) {
                 if (r) {
                   std::lock_guard lock(mutex_);
                   landed_.try_emplace(key, Clock::now());
                 }
                 done(std::move(r));
               });
  }
  void get(std::string key, backend::Done<backend::KvItem> done) override {
    inner_.get(std::move(key), std::move(done));
  }
  void remove(std::string key, std::optional<std::string> if_match,
              backend::Done<void> done) override {
    inner_.remove(std::move(key), std::move(if_match), std::move(done));
  }
  void list(backend::KvListRequest request, backend::Done<backend::KvListResult> done) override {
    inner_.list(std::move(request), std::move(done));
  }
  std::map<std::string, Clock::time_point> landed() {
    std::lock_guard lock(mutex_);
    return landed_;
  }

private:
  backend::KvStore& inner_;
  std::mutex mutex_;
  std::map<std::string, Clock::time_point> landed_;
};

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

/// Issues `count` puts at `rate` per second without waiting for earlier ones; returns each
/// key's issue and acknowledgement times.
struct Timings {
  std::map<std::string, Clock::time_point> issued;
  std::map<std::string, Clock::time_point> acked;
  int failed = 0;
};
Timings load(backend::KvStore& store, const std::string& prefix, int count, double rate) {
  Timings t;
  std::mutex mutex;
  std::condition_variable cv;
  int outstanding = 0;
  const Clock::time_point start = Clock::now();
  for (int i = 0; i < count; ++i) {
    std::this_thread::sleep_until(start + std::chrono::duration_cast<Clock::duration>(
                                              std::chrono::duration<double>(i / rate)));
    std::string key = fmt::format("{}-{}", prefix, i);
    {
      std::lock_guard lock(mutex);
      t.issued[key] = Clock::now();
      ++outstanding;
    }
    store.put({key, fmt::format(R"({{"i":{}}})", i), {}, false}, [&, key](Result<std::string> r) {
      std::lock_guard lock(mutex);
      if (r) {
        t.acked[key] = Clock::now();
      } else {
        ++t.failed;
      }
      if (--outstanding == 0) cv.notify_all();
    });
  }
  std::unique_lock lock(mutex);
  cv.wait(lock, [&] { return outstanding == 0; });
  return t;
}

std::vector<double> millis(const std::map<std::string, Clock::time_point>& from,
                           const std::map<std::string, Clock::time_point>& to) {
  std::vector<double> out;
  for (const auto& [key, end] : to) {
    auto it = from.find(key);
    if (it == from.end()) continue;
    out.push_back(
        std::max(0.0, std::chrono::duration<double, std::milli>(end - it->second).count()));
  }
  return out;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"Replication lag under a steady kv write load (local.sqlite chain)"};
  double rate = 500;
  double seconds = 10;
  std::string mode = "async";
  app.add_option("--rate", rate, "writes per second")->capture_default_str();
  app.add_option("--seconds", seconds, "seconds of load")->capture_default_str();
  app.add_option("--mode", mode, "async or sync")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  bench::TempDir dir("exo-replication-bench");
  backend::ThreadScheduler scheduler;
  std::vector<std::unique_ptr<backend::KvStore>> stores;
  for (const char* name : {"primary", "secondary"}) {
    backend::BackendSpec spec{"local.sqlite", {{"path", (dir.path() / name).string()}}};
    auto kv = backend::local::openKvStore(spec, {"kv"}, {"kv", dir.path(), &scheduler, nullptr});
    if (!kv) {
      std::cerr << kv.error().message << "\n";
      return 1;
    }
    stores.push_back(std::move(*kv));
  }
  Landing secondary(*stores[1]);
  auto health = std::make_shared<proxy::failover::ChainHealth>(2, proxy::failover::HealthPolicy{});
  auto journal = proxy::failover::ReplicationJournal::open(dir.path() / "replication.sqlite", 2);
  if (!journal) {
    std::cerr << journal.error().message << "\n";
    return 1;
  }
  std::vector<backend::KvStore*> members{stores[0].get(), &secondary};
  proxy::failover::ReplicatorOptions options;
  options.sync = mode == "sync";
  proxy::failover::Replicator replicator("kv", std::move(*journal), health, scheduler,
                                         proxy::failover::kvCopier(members), options);
  proxy::failover::FailoverKvStore replicated(members, health, &replicator);

  const int count = static_cast<int>(rate * seconds);
  const Timings direct = load(*stores[0], "direct", count, rate);
  const Timings through = load(replicated, "k", count, rate);
  const Clock::time_point deadline = Clock::now() + std::chrono::seconds(60);
  while (replicator.status().pending > 0 && Clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));

  const std::vector<double> direct_ms = millis(direct.issued, direct.acked);
  const std::vector<double> write_ms = millis(through.issued, through.acked);
  const std::vector<double> lag_ms = millis(through.acked, secondary.landed());
  const double direct_p50 = percentile(direct_ms, 0.5);
  std::cout << fmt::format(
      "mode {}, {} writes at {}/s: direct write p50 {:.3f} ms p99 {:.3f} ms; replicated write "
      "p50 {:.3f} ms p99 {:.3f} ms; lag after the ack p50 {:.3f} ms p99 {:.3f} ms ({} copies, "
      "{} failed writes, {} left pending); lag p50 / direct p50 = {:.2f}\n",
      mode, count, rate, direct_p50, percentile(direct_ms, 0.99), percentile(write_ms, 0.5),
      percentile(write_ms, 0.99), percentile(lag_ms, 0.5), percentile(lag_ms, 0.99), lag_ms.size(),
      direct.failed + through.failed, replicator.status().pending,
      direct_p50 > 0 ? percentile(lag_ms, 0.5) / direct_p50 : 0.0);
  return 0;
}
