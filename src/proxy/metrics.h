#pragma once
// The proxy's Prometheus metrics (API.md, "Operations"). Every family is declared with its
// # TYPE line from the start, samples or not. Thread-safe.

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace exoflow::proxy {

class Metrics {
public:
  Metrics();

  /// Counts a finished request and its duration.
  void recordRequest(std::string_view service, std::string_view op, int code, double seconds);
  /// Sets exo_backend_up for one backend of a binding.
  void setBackendUp(std::string_view binding, std::string_view backend, bool up);
  /// Declares a binding: exo_failovers_total starts at 0; with replication, so does
  /// exo_replication_lag_seconds.
  void declareBinding(std::string_view binding, bool replicated);

  /// The text exposition format, version 0.0.4.
  std::string render() const;

private:
  struct Histogram {
    std::vector<std::uint64_t> buckets; ///< cumulative counts per bound in kBounds
    std::uint64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mutex_;
  std::map<std::tuple<std::string, std::string, int>, std::uint64_t> requests_;
  std::map<std::pair<std::string, std::string>, Histogram> durations_;
  std::map<std::pair<std::string, std::string>, bool> backend_up_;
  std::map<std::string, std::uint64_t> failovers_;
  std::map<std::string, double> replication_lag_;
};

} // namespace exoflow::proxy
