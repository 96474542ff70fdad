#pragma once
// The proxy's Prometheus metrics (API.md, "Operations"). Every family is declared with its
// # TYPE line from the start, samples or not. Thread-safe.

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
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
  /// Sets exo_failovers_total of a binding (counted by its chain's health).
  void setFailovers(std::string_view binding, std::uint64_t count);
  /// Sets exo_replication_lag_seconds of a binding (the age of its oldest journal entry).
  void setReplicationLag(std::string_view binding, double seconds);

  /// Sets exo_peer_up and exo_peer_rtt_seconds of a peer (extensions of API.md); a value that
  /// is not known yet leaves its sample out.
  void setPeer(std::string_view peer, std::optional<bool> up, std::optional<double> rtt_seconds);

  /// The text exposition format, version 0.0.4.
  std::string render() const;

private:
  struct Histogram {
    std::vector<std::uint64_t> buckets; ///< cumulative counts per bound in kBounds
    std::uint64_t count = 0;
    double sum = 0;
  };
  /// Orders label tuples of strings and of string_views alike, so that counting a request
  /// looks its labels up without building strings.
  struct LabelsLess {
    using is_transparent = void;
    template <typename A, typename B> bool operator()(const A& a, const B& b) const {
      return views(a) < views(b);
    }
    template <typename... T> static auto views(const std::tuple<T...>& labels) {
      return std::apply([](const auto&... x) { return std::make_tuple(view(x)...); }, labels);
    }
    static std::string_view view(std::string_view s) { return s; }
    static int view(int i) { return i; }
  };
  mutable std::mutex mutex_;
  std::map<std::tuple<std::string, std::string, int>, std::uint64_t, LabelsLess> requests_;
  std::map<std::tuple<std::string, std::string>, Histogram, LabelsLess> durations_;
  std::map<std::pair<std::string, std::string>, bool> backend_up_;
  std::map<std::string, std::uint64_t> failovers_;
  std::map<std::string, double> replication_lag_;
  std::map<std::string, std::pair<std::optional<bool>, std::optional<double>>, std::less<>> peers_;
};

} // namespace exoflow::proxy
