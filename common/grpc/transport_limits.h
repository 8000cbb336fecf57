#pragma once

#include <cstdint>

#include "absl/time/time.h"

namespace tokens {

// What one client may take of a server: applied by ServeUntilStopped() to
// every listener of the process (the main one and each extra one). The
// defaults serve the real traffic (Envoy multiplexing its Check calls over a
// few connections; sidecars holding one SyncTokens stream each) and bound
// the rest; docs/operations.md explains each choice.
struct TransportLimits {
  // HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS. Envoy and gRPC clients honour
  // it and open another connection; gRPC 1.51 answers a stream beyond it
  // with a connection error ("Max stream count exceeded"), so a client that
  // ignores it loses the connection and every stream on it.
  int max_concurrent_streams = 1000;
  // A connection without a call for this long is closed (GOAWAY). Zero: never.
  absl::Duration max_connection_idle = absl::Minutes(5);
  // A connection is sent GOAWAY after this long (gRPC adds ±10 % jitter), and
  // calls still open then get max_connection_age_grace to finish before the
  // connection is closed. A SyncTokens stream is such a call: the sidecar
  // reopens it at once and resumes from the version it holds (no snapshot).
  // Zero: never.
  absl::Duration max_connection_age = absl::Hours(1);
  absl::Duration max_connection_age_grace = absl::Seconds(30);
  // Bytes gRPC's resource quota lets the server's connections and calls use
  // for their buffers; under pressure gRPC shrinks read buffers and flow
  // control windows, and past it refuses new streams.
  int64_t grpc_memory_quota = int64_t{256} << 20;
  // Bytes of request metadata (headers, HPACK-decoded) a call may carry;
  // more is refused (RESOURCE_EXHAUSTED) before any handler sees it.
  int max_metadata_size = 16384;
};

// Keepalive enforcement, the same for every listener: a client may ping at
// most every 10 s while it has no data to send (the sidecar pings its
// SyncTokens stream every 20 s); two pings sooner than that and the
// connection is closed (GOAWAY ENHANCE_YOUR_CALM).
inline constexpr absl::Duration kMinClientPingInterval = absl::Seconds(10);
inline constexpr int kMaxPingStrikes = 2;

}  // namespace tokens
