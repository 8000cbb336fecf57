#include "services/token_service/metrics.h"

#include <cstdint>

namespace tokens::service {

void RegisterServiceMetrics(metrics::Registry& r, const MetricSources& s) {
  const PgPool& pool = s.pool;
  constexpr char kErrors[] = "token_service_db_errors_total";
  constexpr char kErrorsHelp[] =
      "Database trouble by kind: connect (cannot connect), pool_timeout (no free connection), "
      "connection_lost, query (other errors) and conflict (serialization/deadlock, retried).";
  const auto error = [&](const char* kind, uint64_t PgPool::Stats::*field) {
    r.AddCounterFn(kErrors, kErrorsHelp, {{"kind", kind}},
                   [&pool, field] { return static_cast<double>(pool.stats().*field); });
  };
  error("connect", &PgPool::Stats::connect_failures);
  error("pool_timeout", &PgPool::Stats::pool_timeouts);
  error("connection_lost", &PgPool::Stats::connections_lost);
  error("query", &PgPool::Stats::query_errors);
  error("conflict", &PgPool::Stats::conflicts);
  r.AddGaugeFn("token_service_db_connections_open", "Pooled database connections open.", {},
               [&pool] { return static_cast<double>(pool.stats().open_connections); });
  const double pool_size = s.pool_size;
  r.AddGaugeFn("token_service_db_pool_size", "Database connections the pool may open.", {},
               [pool_size] { return pool_size; });

  const ChangeHub& hub = s.hub;
  r.AddGaugeFn("token_service_sync_head_version",
               "Newest change version this replica has read from the feed (0 before the first "
               "read). A sidecar's lag is this minus its token_sidecar_cache_version.",
               {}, [&hub] { return static_cast<double>(hub.version().value_or(0)); });
  r.AddGaugeFn("token_service_sync_streams", "Open SyncTokens streams following the change feed.",
               {}, [&hub] { return static_cast<double>(hub.subscriber_count()); });

  const TokenSyncManager& sync = s.sync;
  r.AddGaugeFn("token_service_sync_snapshots_running", "Snapshots being streamed now.", {},
               [&sync] { return static_cast<double>(sync.stats().snapshots_running); });
  r.AddGaugeFn("token_service_sync_snapshots_waiting",
               "Snapshots waiting for a free slot (--db_pool_size/4 run at once).", {},
               [&sync] { return static_cast<double>(sync.stats().snapshots_waiting); });
  r.AddCounterFn("token_service_sync_snapshots_total", "Snapshots started.", {},
                 [&sync] { return static_cast<double>(sync.stats().snapshots_started); });
}

}  // namespace tokens::service
