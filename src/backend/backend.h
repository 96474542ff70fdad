#pragma once
// What every backend shares: asynchronous completion, the host services a backend may use,
// feature sets, and the description that becomes the x-exo-backend header.
//
// Threading contract: a backend is called from any thread of the host's pool and must be
// thread-safe. It completes each call exactly once by invoking `done`, either before the call
// returns (fast local work) or later from any thread. Nothing on this path throws: failures
// are Result errors with a code from the closed ErrorCode set.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <map>
#include <string>
#include <string_view>

#include "common/error.h"

namespace exoflow::backend {

/// The completion of an asynchronous call. Invoked exactly once.
template <typename T> using Done = std::function<void(Result<T>)>;

/// Timers and deferred work on the host's event loop (the proxy implements it over Asio), so
/// backends need no event loop of their own. Callbacks run on a host thread, never inline.
class Scheduler {
public:
  using TimerId = std::uint64_t;
  virtual ~Scheduler() = default;
  /// Runs `fn` once after `delay`, unless cancelled first.
  virtual TimerId after(std::chrono::milliseconds delay, std::function<void()> fn) = 0;
  /// Cancels a pending timer; cancelling one that already ran or was cancelled does nothing.
  virtual void cancel(TimerId id) = 0;
  /// Runs `fn` soon on a host thread.
  virtual void post(std::function<void()> fn) = 0;
};

/// Key/value parameters of one backend entry in the proxy config, e.g. {queue: orders,
/// region: us-east-1}; `type` is the registry key ("local.sqlite").
struct BackendSpec {
  std::string type;
  std::map<std::string, std::string> params;

  /// The value of `key`, or "" when the entry does not set it.
  std::string param(const std::string& key) const {
    auto it = params.find(key);
    return it == params.end() ? std::string() : it->second;
  }
};

/// What a backend is created with.
class CloudServices; // backend/cloud.h
class PeerLinks;     // backend/peer/peer_backends.h

struct BackendContext {
  std::string binding;            ///< the binding's name ("orders")
  std::filesystem::path data_dir; ///< the proxy's data_dir (absolute)
  Scheduler* scheduler = nullptr; ///< never null
  CloudServices* cloud = nullptr; ///< the HTTP client and credentials; cloud backends need it
  PeerLinks* peers = nullptr;     ///< the peers and their client; peer backends need it
  /// Where this proxy runs: the config's `identity` (cloud "aws", "azure" or "local", and the
  /// region). Azure backends name this region in describe(), as their endpoints carry none.
  std::string identity_cloud = "local";
  std::string identity_region{};

  /// The region this proxy runs in when it runs on `cloud_name`; "" otherwise.
  std::string regionOn(std::string_view cloud_name) const {
    return identity_cloud == cloud_name ? identity_region : std::string();
  }
};

/// A set of features of one interface: a bit per enumerator of `E`.
template <typename E> class FeatureSet {
public:
  constexpr FeatureSet() = default;
  constexpr FeatureSet(std::initializer_list<E> features) {
    for (E f : features)
      bits_ |= bit(f);
  }
  constexpr bool has(E f) const { return (bits_ & bit(f)) != 0; }
  /// This set and `f`.
  constexpr FeatureSet with(E f) const {
    FeatureSet out = *this;
    out.bits_ |= bit(f);
    return out;
  }
  constexpr bool operator==(const FeatureSet&) const = default;

private:
  static constexpr std::uint64_t bit(E f) { return std::uint64_t{1} << static_cast<unsigned>(f); }
  std::uint64_t bits_ = 0;
};

} // namespace exoflow::backend
