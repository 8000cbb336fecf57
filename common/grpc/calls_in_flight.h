#pragma once

#include <atomic>
#include <cstdint>

namespace tokens {

// How many calls the binary's own handlers have begun and not yet finished,
// process-wide. The drain (ServeUntilStopped) waits for it to reach zero
// before it closes the connections left, which gRPC alone would keep open
// until each idle client answered the GOAWAY's PING (see server_runner.cc).
// One relaxed atomic add per call and one per answer: cheap enough for the
// sidecar's Check.
class CallsInFlight {
 public:
  static void Begin() { count_.fetch_add(1, std::memory_order_relaxed); }
  static void End() { count_.fetch_sub(1, std::memory_order_release); }
  static int64_t Count() { return count_.load(std::memory_order_acquire); }

  // Counts one call for as long as it lives.
  class Scope {
   public:
    Scope() { Begin(); }
    ~Scope() { End(); }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;
  };

 private:
  static inline std::atomic<int64_t> count_{0};
};

}  // namespace tokens
