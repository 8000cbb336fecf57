#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "tests/support/child_process.h"

// Checks of the transport limits and the drain that ServeUntilStopped()
// gives both binaries, run by each binary's tests against the real process.
namespace tokens::testing {

// What flooding one connection with half-open calls did to a server.
struct StreamFloodResult {
  // The connection still served after kDefaultMaxConcurrentStreams calls.
  bool open_at_cap = false;
  // The server closed it once the client went beyond them.
  bool closed_beyond_cap = false;
  int64_t rss_before_kib = 0;
  int64_t rss_at_cap_kib = 0;  // while the calls up to the cap are held
  int64_t rss_after_kib = 0;   // after the calls beyond it
};

// gRPC 1.51 answers a stream beyond its advertised
// SETTINGS_MAX_CONCURRENT_STREAMS with a connection error ("Max stream count
// exceeded"): the connection is closed and every call on it ends. A client
// that honours the setting (every gRPC client, Envoy) never sees that; it
// queues or opens another connection.
inline constexpr int kDefaultMaxConcurrentStreams = 1000;
inline constexpr int64_t kFloodRssBoundKib = 48 * 1024;

// On one raw HTTP/2 connection to `address` that ignores the server's stream
// limit: opens kDefaultMaxConcurrentStreams half-open calls of `path` (with
// `metadata`), checks the server still answers, then opens the rest of
// `streams`, waits for the server to close the connection, and measures the
// server's resident memory on the way.
StreamFloodResult FloodOneConnection(const ChildProcess& server, const std::string& address,
                                     const std::string& path,
                                     const std::map<std::string, std::string>& metadata,
                                     int streams = 10000);

// The connection held the calls up to the cap and was closed beyond it, and
// the server's memory grew by less than kFloodRssBoundKib (more slack under
// AddressSanitizer) at either point. Logs the measured numbers.
void ExpectFloodBounded(const StreamFloodResult& flood);

// A call of `path` with `metadata` and `message` (raw bytes) is answered by
// its handler; the same call with a 3 MB authorization value, or with a
// 3 MB extra header, is refused RESOURCE_EXHAUSTED (or reset) by the
// transport instead; with an 8 KB extra header (under the default 16 KiB
// --max_metadata_size) it is answered as without it.
void ExpectOversizedMetadataRefused(const std::string& address, const std::string& path,
                                    const std::map<std::string, std::string>& metadata,
                                    const std::string& message);

// SIGTERM with a grpc.health.v1 Watch of "" open on a new connection to
// `address`: the watcher
// receives SERVING then NOT_SERVING, its stream ends UNAVAILABLE, and the
// process exits 0 (waited for far less than a --shutdown_timeout of 120s).
// Logs the "stopped in N ms" the server measured.
void ExpectCleanDrain(ChildProcess& server, const std::string& address);

// A hard RLIMIT_NOFILE low enough for a test to reach with plain TCP
// connections (ChildProcess::Options::open_files_limit).
inline constexpr uint64_t kLowOpenFilesLimit = 200;

// For a server started with kLowOpenFilesLimit: checks that it logged the
// limit it runs with, opens plain TCP connections to `address` until gRPC
// logs "Failed accept4" (the descriptors are exhausted), closes them all,
// and then requires that either a new connection is served again, or
// `<binary> probe --address <address>` exits 1 saying the listener may be
// wedged. Logs which of the two it saw.
void ExpectExhaustedListenerRecoversOrIsReported(ChildProcess& server, const std::string& address,
                                                 const std::string& binary);

}  // namespace tokens::testing
