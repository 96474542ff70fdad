// exoflow synth: the example web shop and a generated 1,000-service app, from manifest text to
// every file in memory (checking the manifest included), and the synthesis alone.
//   build/bench/bench_synth --benchmark_min_time=0.5
#include <fstream>
#include <sstream>
#include <string>

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include "manifest/manifest.h"
#include "synth/synth.h"

namespace {

using namespace exoflow;

std::string webshopText() {
  std::ifstream in(std::string(EXOFLOW_SOURCE_DIR) + "/examples/webshop/exoflow.yaml");
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

/// 1,000 services: 330 each of queues (a tenth with dead-letter queues), buckets and tables,
/// and 10 databases; compute with routes, on three AWS regions and Azure with Route 53.
std::string thousandServices() {
  std::string text = "exoflow: 1\napp: big\ncompute: {run: ./big}\nroutes:\n  - path: /api/*\n"
                     "  - path: /*\nservices:\n";
  for (int i = 0; i < 330; ++i) {
    text += fmt::format("  queue-{}: {{kind: queue{}}}\n", i,
                        i % 10 == 0 ? ", dead_letter: {after: 5}" : "");
    text += fmt::format("  bucket-{}: {{kind: objects}}\n", i);
    text += fmt::format("  table-{}: {{kind: kv}}\n", i);
  }
  for (int i = 0; i < 10; ++i)
    text += fmt::format("  db-{}: {{kind: database, engine: postgres}}\n", i);
  return text + "targets:\n  - {cloud: aws, region: us-east-1}\n  - {cloud: aws, region: "
                "eu-west-1}\n  - {cloud: aws, region: ap-southeast-2}\n"
                "  - {cloud: azure, region: eastus}\n"
                "failover:\n  dns: {domain: example.com, name: big, provider: route53}\n";
}

model::App check(const std::string& text) {
  return *manifest::checkManifest("exoflow.yaml", text).app;
}

std::size_t bytesOf(const synth::SynthOutput& out) {
  std::size_t bytes = 0;
  for (const auto& f : out.files)
    bytes += f.content.size();
  return bytes;
}

void run(benchmark::State& state, const std::string& text, bool with_check) {
  const model::App app = check(text);
  std::size_t bytes = 0;
  for (auto _ : state) {
    auto out = synth::synthesize(with_check ? check(text) : app, synth::TargetSet::kAll);
    bytes = bytesOf(*out);
    benchmark::DoNotOptimize(out);
  }
  state.counters["output_bytes"] = static_cast<double>(bytes);
}

void BM_SynthWebshop(benchmark::State& state) {
  run(state, webshopText(), true);
}
void BM_SynthWebshopModelOnly(benchmark::State& state) {
  run(state, webshopText(), false);
}
void BM_Synth1000Services(benchmark::State& state) {
  run(state, thousandServices(), true);
}
void BM_Synth1000ServicesModelOnly(benchmark::State& state) {
  run(state, thousandServices(), false);
}

BENCHMARK(BM_SynthWebshop)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SynthWebshopModelOnly)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Synth1000Services)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Synth1000ServicesModelOnly)->Unit(benchmark::kMillisecond);

} // namespace

BENCHMARK_MAIN();
