#include "sidecar/metrics.h"

#include <string>

#include "absl/time/clock.h"
#include "common/version/build_info.h"

namespace tokens::sidecar {

void RegisterSidecarMetrics(metrics::Registry& r, const MetricSources& s) {
  r.AddGaugeFn("token_sidecar_build_info",
               "Always 1; its labels say what is running: the project version and git commit.",
               {{"version", std::string(BuildVersion())}, {"commit", std::string(BuildCommit())}},
               [] { return 1.0; });

  const Verifier& verifier = s.verifier;
  constexpr char kChecks[] = "token_sidecar_checks_total";
  constexpr char kChecksHelp[] =
      "Token checks (Check and Authenticate) by result and, when denied, reason.";
  r.AddCounterFn(kChecks, kChecksHelp, {{"result", "allowed"}, {"reason", "valid"}},
                 [&verifier] { return static_cast<double>(verifier.stats().allowed); });
  for (int i = 0; i < kDenyReasonCount; ++i) {
    r.AddCounterFn(
        kChecks, kChecksHelp,
        {{"result", "denied"}, {"reason", std::string(DenyReasonCode(static_cast<DenyReason>(i)))}},
        [&verifier, i] { return static_cast<double>(verifier.stats().denied[i]); });
  }

  const TokenCache& cache = s.cache;
  r.AddGaugeFn("token_sidecar_cache_tokens", "Live tokens in the cache.", {},
               [&cache] { return static_cast<double>(cache.size()); });
  r.AddGaugeFn("token_sidecar_cache_version",
               "Change version the cache reflects (compare with token_service_sync_head_version).",
               {}, [&cache] { return static_cast<double>(cache.version()); });
  r.AddGaugeFn("token_sidecar_cache_loaded", "1 once the first snapshot is loaded.", {},
               [&cache] { return cache.loaded() ? 1.0 : 0.0; });

  const SyncClient& sync = s.sync;
  r.AddCounterFn("token_sidecar_sync_streams_opened_total",
                 "SyncTokens streams opened (the first and every reconnect).", {},
                 [&sync] { return static_cast<double>(sync.stats().streams_opened); });
  r.AddCounterFn("token_sidecar_sync_snapshots_total", "Snapshots loaded.", {},
                 [&sync] { return static_cast<double>(sync.stats().snapshots_loaded); });
  r.AddCounterFn("token_sidecar_sync_deltas_total", "Delta messages applied.", {},
                 [&sync] { return static_cast<double>(sync.stats().deltas_applied); });
  r.AddGaugeFn("token_sidecar_sync_stream_up",
               "1 while a SyncTokens stream is open and has delivered data.", {},
               [&sync] { return sync.stats().stream_up ? 1.0 : 0.0; });
  r.AddGaugeFn("token_sidecar_sync_last_message_timestamp_seconds",
               "When the last snapshot or delta was applied (Unix time; 0 before the first).", {},
               [&sync] {
                 const absl::Time at = sync.stats().last_message_at;
                 return at == absl::InfinitePast() ? 0.0 : absl::ToUnixMicros(at) / 1e6;
               });
  r.AddGaugeFn("token_sidecar_sync_last_snapshot_seconds",
               "How long the last snapshot took, first message to swap-in.", {},
               [&sync] { return absl::ToDoubleSeconds(sync.stats().last_snapshot_duration); });
  r.AddGaugeFn("token_sidecar_sync_last_snapshot_tokens", "Tokens in the last snapshot.", {},
               [&sync] { return static_cast<double>(sync.stats().last_snapshot_tokens); });

  const MissResolver& resolver = s.resolver;
  r.AddCounterFn("token_sidecar_lookups_total", "Cache misses looked up with LookupToken.", {},
                 [&resolver] { return static_cast<double>(resolver.stats().lookups); });
  r.AddCounterFn("token_sidecar_lookup_failures_total",
                 "Lookups token-service did not answer (the check failed closed).", {},
                 [&resolver] { return static_cast<double>(resolver.stats().unavailable); });
  constexpr char kLimited[] = "token_sidecar_lookup_rate_limited_total";
  constexpr char kLimitedHelp[] =
      "Cache misses denied without a lookup, by the limit they hit: client "
      "(--lookup_rate_per_client) or global (--lookup_rate).";
  r.AddCounterFn(kLimited, kLimitedHelp, {{"limit", "client"}},
                 [&resolver] { return static_cast<double>(resolver.stats().client_rate_limited); });
  r.AddCounterFn(kLimited, kLimitedHelp, {{"limit", "global"}},
                 [&resolver] { return static_cast<double>(resolver.stats().rate_limited); });
  r.AddCounterFn("token_sidecar_lookup_negative_hits_total",
                 "Cache misses answered from remembered unknown/revoked answers.", {},
                 [&resolver] { return static_cast<double>(resolver.stats().negative_hits); });
  r.AddCounterFn("token_sidecar_lookup_shared_total",
                 "Cache misses that waited for a lookup of the same token already in flight.", {},
                 [&resolver] { return static_cast<double>(resolver.stats().shared); });
  const WorkerPool& lookups = s.lookups;
  r.AddGaugeFn("token_sidecar_lookup_queue_depth",
               "Cache misses waiting for a lookup thread (--lookup_threads).", {},
               [&lookups] { return static_cast<double>(lookups.stats().queued); });
  r.AddCounterFn("token_sidecar_lookup_queue_rejected_total",
                 "Cache misses denied because every lookup thread was busy and the queue full.", {},
                 [&lookups] { return static_cast<double>(lookups.stats().rejected); });

  const UsageFlusher& flusher = s.flusher;
  constexpr char kBatches[] = "token_sidecar_usage_batches_total";
  constexpr char kBatchesHelp[] =
      "ReportUsage batches: sent (acknowledged), failed (kept, sent again), dropped (refused).";
  r.AddCounterFn(kBatches, kBatchesHelp, {{"result", "sent"}},
                 [&flusher] { return static_cast<double>(flusher.stats().batches_sent); });
  r.AddCounterFn(kBatches, kBatchesHelp, {{"result", "failed"}},
                 [&flusher] { return static_cast<double>(flusher.stats().batches_failed); });
  r.AddCounterFn(kBatches, kBatchesHelp, {{"result", "dropped"}},
                 [&flusher] { return static_cast<double>(flusher.stats().batches_dropped); });
  r.AddCounterFn("token_sidecar_usage_records_sent_total",
                 "Per-token last-used records acknowledged by token-service.", {},
                 [&flusher] { return static_cast<double>(flusher.stats().records_sent); });
  r.AddGaugeFn("token_sidecar_usage_pending_tokens",
               "Tokens whose last use a failed flush left for the next one.", {},
               [&flusher] { return static_cast<double>(flusher.pending()); });
}

}  // namespace tokens::sidecar
