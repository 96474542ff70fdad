#include "bench_workloads.h"

#include <utility>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <future>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "backend/local/local_backends.h"
#include "backend/thread_scheduler.h"
#include "bench_http.h"
#include "bench_support.h"
#include "exoflow/client.h"

namespace exoflow::bench {
namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;
constexpr int kBatch = 10;
constexpr std::size_t kObjectSize = 1024UL * 1024;
constexpr int kObjectKeys = 32;
constexpr std::size_t kPiece = 128UL * 1024;

/// CPU seconds of the calling thread.
double threadCpu() {
  timespec t{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

/// Runs `body(thread_index, stop)` on `threads` threads for `seconds` and measures the run.
/// Each body returns {operations, bytes}.
template <typename Body> RunResult timed(int threads, double seconds, pid_t server_pid, Body body) {
  std::atomic<bool> stop{false};
  std::vector<std::future<std::pair<std::uint64_t, std::uint64_t>>> results;
  results.reserve(static_cast<std::size_t>(threads));
  const double server_before = server_pid > 0 ? cpuSeconds(server_pid) : 0;
  const double cpu_before = ownCpu();
  const auto start = Clock::now();
  for (int t = 0; t < threads; ++t) {
    results.push_back(std::async(std::launch::async, [&body, &stop, t] { return body(t, stop); }));
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  RunResult run;
  for (auto& result : results) {
    const auto [operations, bytes] = result.get();
    run.operations += operations;
    run.bytes += bytes;
  }
  run.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  run.own_cpu = ownCpu() - cpu_before;
  run.server_cpu = server_pid > 0 ? cpuSeconds(server_pid) - server_before : 0;
  return run;
}

template <typename T> T check(client::Result<T> result, const char* what) {
  if (!result) throw std::runtime_error(fmt::format("{}: {}", what, describe(result.error())));
  return std::move(*result);
}

void checkVoid(const client::Result<void>& result, const char* what) {
  if (!result) throw std::runtime_error(fmt::format("{}: {}", what, describe(result.error())));
}

client::Client makeClient(const std::string& endpoint, const std::string& token) {
  client::ClientOptions options;
  options.endpoint = endpoint;
  options.token = token;
  return check(client::Client::create(options), "client");
}

/// Waits for a backend call's completion (the local backend completes before returning).
template <typename T, typename Call> Result<T> await(Call call) {
  std::promise<Result<T>> promise;
  call([&promise](Result<T> result) { promise.set_value(std::move(result)); });
  return promise.get_future().get();
}

/// A 1 MiB object body.
std::string objectBody() {
  std::string body(kObjectSize, '\0');
  for (std::size_t i = 0; i < body.size(); ++i)
    body[i] = static_cast<char>('a' + i % 26);
  return body;
}

} // namespace

RunResult queueOverProxy(const std::string& endpoint, const std::string& token, pid_t proxy_pid,
                         int threads, double seconds, bool batch_delete) {
  std::vector<client::OutgoingMessage> batch(kBatch);
  for (int i = 0; i < kBatch; ++i)
    batch[static_cast<std::size_t>(i)].body = fmt::format("{{\"order\": {}, \"sku\": \"A-1\"}}", i);
  return timed(threads, seconds, proxy_pid, [&](int, const std::atomic<bool>& stop) {
    client::Client exo = makeClient(endpoint, token);
    client::ReceiveOptions receive;
    receive.max_messages = kBatch;
    std::uint64_t deleted = 0;
    std::vector<std::string> receipts;
    while (!stop) {
      check(exo.sendMessages("jobs", batch), "send");
      const std::vector<client::ReceivedMessage> got =
          check(exo.receiveMessages("jobs", receive), "receive");
      if (batch_delete && !got.empty()) {
        receipts.clear();
        for (const client::ReceivedMessage& m : got)
          receipts.push_back(m.receipt);
        for (const client::Result<void>& one :
             check(exo.deleteMessages("jobs", receipts), "delete"))
          checkVoid(one, "delete");
        deleted += got.size();
        continue;
      }
      for (const client::ReceivedMessage& m : got) {
        checkVoid(exo.deleteMessage("jobs", m.receipt), "delete");
        ++deleted;
      }
    }
    return std::pair<std::uint64_t, std::uint64_t>{deleted, 0};
  });
}

RunResult queueInProcess(const fs::path& data_dir, int threads, double seconds, bool batch_delete) {
  backend::ThreadScheduler scheduler;
  const backend::BackendContext context{"jobs", data_dir, &scheduler};
  backend::QueueConfig config;
  config.name = "jobs";
  auto opened = backend::local::openQueue({"local.sqlite", {}}, config, context);
  if (!opened) throw std::runtime_error("open queue: " + opened.error().message);
  backend::Queue& queue = **opened;
  std::vector<backend::OutgoingMessage> batch(kBatch);
  for (int i = 0; i < kBatch; ++i)
    batch[static_cast<std::size_t>(i)].body = fmt::format("{{\"order\": {}, \"sku\": \"A-1\"}}", i);
  std::mutex phases_mutex;
  std::array<double, 3> phases = {0, 0, 0};
  RunResult run = timed(threads, seconds, 0, [&](int, const std::atomic<bool>& stop) {
    std::uint64_t deleted = 0;
    std::array<double, 3> spent = {0, 0, 0};
    backend::ReceiveRequest receive;
    receive.max = kBatch;
    while (!stop) {
      const double t0 = threadCpu();
      auto sent = await<std::vector<std::string>>([&](auto done) { queue.send(batch, done); });
      if (!sent) throw std::runtime_error("send: " + sent.error().message);
      const double t1 = threadCpu();
      auto got = await<std::vector<backend::ReceivedMessage>>(
          [&](auto done) { queue.receive(receive, done); });
      if (!got) throw std::runtime_error("receive: " + got.error().message);
      const double t2 = threadCpu();
      if (batch_delete && !got->empty()) {
        std::vector<std::string> receipts;
        for (const backend::ReceivedMessage& m : *got)
          receipts.push_back(m.receipt);
        using Results = std::vector<Result<void>>;
        auto removed =
            await<Results>([&](auto done) { queue.removeBatch(std::move(receipts), done); });
        if (!removed) throw std::runtime_error("delete: " + removed.error().message);
        for (const Result<void>& one : *removed)
          if (!one) throw std::runtime_error("delete: " + one.error().message);
        deleted += got->size();
      } else {
        for (const backend::ReceivedMessage& m : *got) {
          auto removed = await<void>([&](auto done) { queue.remove(m.receipt, done); });
          if (!removed) throw std::runtime_error("delete: " + removed.error().message);
          ++deleted;
        }
      }
      const double t3 = threadCpu();
      spent[0] += t1 - t0;
      spent[1] += t2 - t1;
      spent[2] += t3 - t2;
    }
    std::lock_guard lock(phases_mutex);
    for (std::size_t i = 0; i < spent.size(); ++i)
      phases[i] += spent[i];
    return std::pair<std::uint64_t, std::uint64_t>{deleted, 0};
  });
  run.phase_cpu = phases;
  return run;
}

RunResult objectsOverProxy(const std::string& endpoint, const std::string& token, pid_t proxy_pid,
                           bool put, double seconds) {
  const std::string body = objectBody();
  client::Client exo = makeClient(endpoint, token);
  if (!put) {
    for (int k = 0; k < kObjectKeys; ++k)
      check(exo.putObject("blobs", fmt::format("object-{}", k), body), "put");
  }
  return timed(1, seconds, proxy_pid, [&](int, const std::atomic<bool>& stop) {
    std::uint64_t count = 0;
    std::uint64_t bytes = 0;
    while (!stop) {
      const std::string key = fmt::format("object-{}", count % kObjectKeys);
      if (put) {
        bytes += check(exo.putObject("blobs", key, body), "put").size;
      } else {
        std::uint64_t got = 0;
        check(exo.getObjectToSink("blobs", key,
                                  [&got](std::string_view chunk) -> client::Result<void> {
                                    got += chunk.size();
                                    return {};
                                  }),
              "get");
        if (got != kObjectSize) throw std::runtime_error("a short object");
        bytes += got;
      }
      ++count;
    }
    return std::pair<std::uint64_t, std::uint64_t>{count, bytes};
  });
}

RunResult objectsRaw(int port, const std::string& token, pid_t proxy_pid, bool put,
                     double seconds) {
  const std::string body = objectBody();
  HttpConnection connection(port);
  auto head = [&token](const char* method, int key, bool with_body) {
    std::string text = fmt::format("{} /v1/buckets/blobs/objects/raw-{} HTTP/1.1\r\nHost: "
                                   "127.0.0.1\r\nAuthorization: Bearer {}\r\n",
                                   method, key, token);
    if (with_body) text += fmt::format("Content-Length: {}\r\n", kObjectSize);
    return text + "\r\n";
  };
  if (!put) {
    for (int k = 0; k < kObjectKeys; ++k) {
      if (connection.roundTrip(head("PUT", k, true), body) != 200) {
        throw std::runtime_error("a PUT failed");
      }
    }
  }
  return timed(1, seconds, proxy_pid, [&](int, const std::atomic<bool>& stop) {
    std::uint64_t count = 0;
    std::uint64_t bytes = 0;
    while (!stop) {
      const int key = static_cast<int>(count % kObjectKeys);
      const int status = put ? connection.roundTrip(head("PUT", key, true), body)
                             : connection.roundTrip(head("GET", key, false), {}, &bytes);
      if (status != 200) throw std::runtime_error(fmt::format("status {}", status));
      if (put) bytes += kObjectSize;
      ++count;
    }
    return std::pair<std::uint64_t, std::uint64_t>{count, bytes};
  });
}

RunResult fileCopies(const fs::path& dir, bool sync, double seconds) {
  fs::create_directories(dir);
  const fs::path source = dir / "source";
  {
    std::string body(kObjectSize, 'x');
    std::FILE* f = std::fopen(source.c_str(), "wb");
    if (f == nullptr || std::fwrite(body.data(), 1, body.size(), f) != body.size()) {
      throw std::runtime_error("cannot write " + source.string());
    }
    std::fclose(f);
  }
  return timed(1, seconds, 0, [&](int, const std::atomic<bool>& stop) {
    std::vector<char> piece(kPiece);
    std::uint64_t count = 0;
    std::uint64_t bytes = 0;
    while (!stop) {
      const fs::path target = dir / fmt::format("copy-{}", count % kObjectKeys);
      const int in = ::open(source.c_str(), O_RDONLY | O_CLOEXEC);
      const int out = ::open(target.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (in < 0 || out < 0) throw std::runtime_error("cannot open the copy's files");
      ssize_t n = 0;
      while ((n = ::read(in, piece.data(), piece.size())) > 0) {
        if (::write(out, piece.data(), static_cast<std::size_t>(n)) != n) {
          throw std::runtime_error("a short write");
        }
        bytes += static_cast<std::uint64_t>(n);
      }
      if (sync && ::fsync(out) != 0) throw std::runtime_error("fsync failed");
      ::close(in);
      ::close(out);
      ++count;
    }
    return std::pair<std::uint64_t, std::uint64_t>{count, bytes};
  });
}

} // namespace exoflow::bench
