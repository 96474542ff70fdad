#include "proxy/metrics.h"

#include <array>

#include <fmt/format.h>

namespace exoflow::proxy {

namespace {

constexpr std::array<double, 12> kBounds = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                            0.5,   1,    2.5,   5,    10,  30};

/// A label value with \, " and newlines escaped, as the text format requires.
std::string label(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

} // namespace

Metrics::Metrics() = default;

void Metrics::recordRequest(std::string_view service, std::string_view op, int code,
                            double seconds) {
  std::lock_guard lock(mutex_);
  auto counter = requests_.find(std::make_tuple(service, op, code));
  if (counter == requests_.end()) {
    counter =
        requests_.emplace(std::make_tuple(std::string(service), std::string(op), code), 0).first;
  }
  ++counter->second;
  auto histogram = durations_.find(std::make_tuple(service, op));
  if (histogram == durations_.end()) {
    histogram =
        durations_.emplace(std::make_tuple(std::string(service), std::string(op)), Histogram{})
            .first;
  }
  Histogram& h = histogram->second;
  if (h.buckets.empty()) h.buckets.resize(kBounds.size());
  for (std::size_t i = 0; i < kBounds.size(); ++i) {
    if (seconds <= kBounds[i]) ++h.buckets[i];
  }
  ++h.count;
  h.sum += seconds;
}

void Metrics::setBackendUp(std::string_view binding, std::string_view backend, bool up) {
  std::lock_guard lock(mutex_);
  backend_up_[{std::string(binding), std::string(backend)}] = up;
}

void Metrics::declareBinding(std::string_view binding, bool replicated) {
  std::lock_guard lock(mutex_);
  failovers_.try_emplace(std::string(binding), 0);
  if (replicated) replication_lag_.try_emplace(std::string(binding), 0.0);
}

void Metrics::setFailovers(std::string_view binding, std::uint64_t count) {
  std::lock_guard lock(mutex_);
  failovers_[std::string(binding)] = count;
}

void Metrics::setReplicationLag(std::string_view binding, double seconds) {
  std::lock_guard lock(mutex_);
  replication_lag_[std::string(binding)] = seconds;
}

void Metrics::setPeer(std::string_view peer, std::optional<bool> up,
                      std::optional<double> rtt_seconds) {
  std::lock_guard lock(mutex_);
  peers_[std::string(peer)] = {up, rtt_seconds};
}

std::string Metrics::render() const {
  std::lock_guard lock(mutex_);
  std::string out;
  out += "# HELP exo_requests_total Requests answered, by service, operation and HTTP status.\n"
         "# TYPE exo_requests_total counter\n";
  for (const auto& [key, n] : requests_) {
    const auto& [service, op, code] = key;
    out += fmt::format("exo_requests_total{{service=\"{}\",op=\"{}\",code=\"{}\"}} {}\n",
                       label(service), label(op), code, n);
  }
  out += "# HELP exo_request_duration_seconds Time from a request's head to its response.\n"
         "# TYPE exo_request_duration_seconds histogram\n";
  for (const auto& [key, h] : durations_) {
    const std::string labels =
        fmt::format("service=\"{}\",op=\"{}\"", label(std::get<0>(key)), label(std::get<1>(key)));
    for (std::size_t i = 0; i < kBounds.size(); ++i) {
      out += fmt::format("exo_request_duration_seconds_bucket{{{},le=\"{}\"}} {}\n", labels,
                         kBounds[i], h.buckets[i]);
    }
    out +=
        fmt::format("exo_request_duration_seconds_bucket{{{},le=\"+Inf\"}} {}\n", labels, h.count);
    out += fmt::format("exo_request_duration_seconds_sum{{{}}} {}\n", labels, h.sum);
    out += fmt::format("exo_request_duration_seconds_count{{{}}} {}\n", labels, h.count);
  }
  out += "# HELP exo_backend_up Whether a binding's backend answered its last check (1) or not.\n"
         "# TYPE exo_backend_up gauge\n";
  for (const auto& [key, up] : backend_up_) {
    out += fmt::format("exo_backend_up{{binding=\"{}\",backend=\"{}\"}} {}\n", label(key.first),
                       label(key.second), up ? 1 : 0);
  }
  out += "# HELP exo_failovers_total Times a binding moved to another backend.\n"
         "# TYPE exo_failovers_total counter\n";
  for (const auto& [binding, n] : failovers_) {
    out += fmt::format("exo_failovers_total{{binding=\"{}\"}} {}\n", label(binding), n);
  }
  out += "# HELP exo_replication_lag_seconds Age of the oldest write not yet replicated.\n"
         "# TYPE exo_replication_lag_seconds gauge\n";
  for (const auto& [binding, lag] : replication_lag_) {
    out += fmt::format("exo_replication_lag_seconds{{binding=\"{}\"}} {}\n", label(binding), lag);
  }
  out += "# HELP exo_peer_up Whether a peer answered its last health checks (1) or not.\n"
         "# TYPE exo_peer_up gauge\n";
  for (const auto& [peer, sample] : peers_) {
    if (sample.first)
      out += fmt::format("exo_peer_up{{peer=\"{}\"}} {}\n", label(peer), *sample.first ? 1 : 0);
  }
  out += "# HELP exo_peer_rtt_seconds Moving average of a peer's health-check round trip.\n"
         "# TYPE exo_peer_rtt_seconds gauge\n";
  for (const auto& [peer, sample] : peers_) {
    if (sample.second) {
      out += fmt::format("exo_peer_rtt_seconds{{peer=\"{}\"}} {}\n", label(peer), *sample.second);
    }
  }
  return out;
}

} // namespace exoflow::proxy
