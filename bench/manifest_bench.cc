// How manifest validation scales with the number of services, against a reference in the same
// process: parsing the same text with yaml-cpp's own YAML::Load (a plain parse, no checks).
// The ratio validate/parse says what our checking costs on top of reading the YAML at all.
#include <sstream>
#include <string>

#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include "manifest/manifest.h"

namespace {

/// A valid manifest with `n` services of every kind, three targets and failover.
std::string generateManifest(int n) {
  std::string text = "exoflow: 1\napp: bench\ncompute:\n  run: ./app\n  port: 8080\n"
                     "routes:\n  - path: /api/*\n  - path: /*\n"
                     "ports:\n  - {port: 22, protocol: tcp, from: 10.0.0.0/8}\n"
                     "services:\n";
  for (int i = 0; i < n; ++i) {
    switch (i % 4) {
    case 0:
      text += fmt::format("  svc-{}:\n    kind: queue\n    visibility_timeout: 30s\n"
                          "    retention: 4d\n    max_message_size: 256KiB\n"
                          "    dead_letter: {{after: 5}}\n",
                          i);
      break;
    case 1:
      text += fmt::format("  svc-{}:\n    kind: objects\n    versioning: true\n", i);
      break;
    case 2:
      text += fmt::format("  svc-{}:\n    kind: kv\n", i);
      break;
    default:
      text += fmt::format("  svc-{}:\n    kind: database\n    engine: postgres\n"
                          "    version: \"16\"\n    storage: 64GiB\n",
                          i);
      break;
    }
  }
  text += "targets:\n  - {cloud: aws, region: us-east-1}\n  - {cloud: aws, region: us-west-2}\n"
          "  - {cloud: azure, region: eastus}\n"
          "failover:\n  mode: active-passive\n  health: {path: /healthz, interval: 10s}\n";
  return text;
}

void bmValidate(benchmark::State& state) {
  const std::string text = generateManifest(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    auto result = exoflow::manifest::checkManifest("bench.yaml", text);
    if (!result.app) state.SkipWithError("the generated manifest must be valid");
    benchmark::DoNotOptimize(result);
  }
  state.counters["services"] = static_cast<double>(state.range(0));
  state.counters["bytes"] = static_cast<double>(text.size());
}

void bmYamlCppLoadReference(benchmark::State& state) {
  const std::string text = generateManifest(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    YAML::Node node = YAML::Load(text);
    benchmark::DoNotOptimize(node);
  }
  state.counters["services"] = static_cast<double>(state.range(0));
}

/// yaml-cpp's event parser alone, with a handler that does nothing: the floor under any
/// validator built on yaml-cpp.
class NullHandler : public YAML::EventHandler {
public:
  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

void bmYamlCppEventsReference(benchmark::State& state) {
  const std::string text = generateManifest(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    std::istringstream in(text);
    YAML::Parser parser(in);
    NullHandler handler;
    while (parser.HandleNextDocument(handler)) {
    }
  }
  state.counters["services"] = static_cast<double>(state.range(0));
}

BENCHMARK(bmValidate)->Arg(100)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond);
BENCHMARK(bmYamlCppLoadReference)->Arg(100)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond);
BENCHMARK(bmYamlCppEventsReference)->Arg(100)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond);

} // namespace

BENCHMARK_MAIN();
