#include "services/token_service/metrics.h"

#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>

#include "common/version/build_info.h"

namespace tokens::service {
namespace {

// One counter family `name` with a series per value of `label`, each read
// at scrape time from a field of `source.stats()`.
template <typename Source, typename Stats>
void AddCounterFamily(metrics::Registry& r, const char* name, const char* help, const char* label,
                      const Source& source,
                      std::initializer_list<std::pair<const char*, uint64_t Stats::*>> series) {
  for (const auto& [value, field] : series) {
    r.AddCounterFn(name, help, {{label, value}},
                   [&source, field = field] { return static_cast<double>(source.stats().*field); });
  }
}

// The expiry warnings' metrics: exported at 0 when --expiry_webhook_url is
// empty (`expiry` null), so that dashboards and alerts see every series.
void RegisterExpiryMetrics(metrics::Registry& r, const ExpiryWarner* expiry) {
  using Stats = ExpiryWarner::Stats;
  const auto read = [expiry](auto field) {
    return [expiry, field] {
      return expiry == nullptr ? 0.0 : static_cast<double>(expiry->stats().*field);
    };
  };
  constexpr char kRecorded[] = "token_service_expiry_warnings_recorded_total";
  constexpr char kRecordedHelp[] =
      "Expiry warnings recorded by this replica, by event: expiring (a threshold of "
      "--expiry_warning_days crossed), expired.";
  r.AddCounterFn(kRecorded, kRecordedHelp, {{"event", "expiring"}},
                 read(&Stats::recorded_expiring));
  r.AddCounterFn(kRecorded, kRecordedHelp, {{"event", "expired"}}, read(&Stats::recorded_expired));
  constexpr char kAttempts[] = "token_service_expiry_webhook_attempts_total";
  constexpr char kAttemptsHelp[] =
      "Expiry webhook requests made by this replica, by outcome: delivered (answered 2xx), "
      "rejected (another status; retried), failed (no answer: refused, timed out, TLS; "
      "retried).";
  r.AddCounterFn(kAttempts, kAttemptsHelp, {{"outcome", "delivered"}}, read(&Stats::delivered));
  r.AddCounterFn(kAttempts, kAttemptsHelp, {{"outcome", "rejected"}}, read(&Stats::rejected));
  r.AddCounterFn(kAttempts, kAttemptsHelp, {{"outcome", "failed"}}, read(&Stats::failed));
  r.AddCounterFn("token_service_expiry_warnings_dropped_total",
                 "Expiry warnings not sent because their token was revoked, or its owner "
                 "disabled, before delivery.",
                 {}, read(&Stats::dropped));
  r.AddCounterFn("token_service_expiry_scans_total",
                 "Scans for tokens that crossed an expiry warning threshold, completed by this "
                 "replica (only the sender scans).",
                 {}, read(&Stats::scans));
  r.AddGaugeFn("token_service_expiry_warnings_pending",
               "Expiry warnings recorded and not yet delivered, all replicas' together, as "
               "counted at this replica's last round as the sender (0 if it never was one).",
               {}, read(&Stats::pending));
  r.AddGaugeFn("token_service_expiry_sender",
               "1 while this replica holds the lock that makes it the one sender of expiry "
               "warnings, else 0.",
               {}, read(&Stats::sender));
}

}  // namespace

void RegisterServiceMetrics(metrics::Registry& r, const MetricSources& s) {
  r.AddGaugeFn("token_service_build_info",
               "Always 1; its labels say what is running: the project version and git commit.",
               {{"version", std::string(BuildVersion())}, {"commit", std::string(BuildCommit())}},
               [] { return 1.0; });

  const PgPool& pool = s.pool;
  AddCounterFamily<PgPool, PgPool::Stats>(
      r, "token_service_db_errors_total",
      "Database trouble by kind: connect (cannot connect), pool_timeout (no free connection), "
      "connection_lost, query (other errors) and conflict (serialization/deadlock, retried).",
      "kind", pool,
      {{"connect", &PgPool::Stats::connect_failures},
       {"pool_timeout", &PgPool::Stats::pool_timeouts},
       {"connection_lost", &PgPool::Stats::connections_lost},
       {"query", &PgPool::Stats::query_errors},
       {"conflict", &PgPool::Stats::conflicts}});
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
  const TokenSyncManager& sync = s.sync;
  r.AddGaugeFn("token_service_sync_streams",
               "Open SyncTokens streams (a snapshot being sent, or following the change feed).", {},
               [&sync] { return static_cast<double>(sync.stats().streams_open); });
  constexpr char kRefused[] = "token_service_sync_streams_refused_total";
  constexpr char kRefusedHelp[] =
      "SyncTokens streams refused RESOURCE_EXHAUSTED, by limit: caller "
      "(--sync_max_streams_per_caller), total (--sync_max_streams).";
  r.AddCounterFn(kRefused, kRefusedHelp, {{"limit", "caller"}},
                 [&sync] { return static_cast<double>(sync.stats().refused_caller); });
  r.AddCounterFn(kRefused, kRefusedHelp, {{"limit", "total"}},
                 [&sync] { return static_cast<double>(sync.stats().refused_total); });
  r.AddCounterFn("token_service_sync_snapshots_total",
                 "SyncTokens streams that started with a snapshot.", {},
                 [&sync] { return static_cast<double>(sync.stats().snapshots_sent); });

  const TokenSyncServiceImpl& service = s.sync_service;
  r.AddCounterFn("token_service_sync_streams_stalled_total",
                 "SyncTokens streams dropped because their caller took no message for "
                 "--sync_stall_timeout.",
                 {}, [&service] { return static_cast<double>(service.stats().stalled); });
  r.AddGaugeFn("token_service_sync_opens_waiting",
               "SyncTokens streams waiting for a thread to authenticate them and read where "
               "they start.",
               {}, [&service] { return static_cast<double>(service.stats().opens_waiting); });

  const Authenticator& auth = s.auth;
  r.AddCounterFn("token_service_auth_lookups_total",
                 "Tokens looked up in the database to authenticate a call.", {},
                 [&auth] { return static_cast<double>(auth.stats().lookups); });
  using AuthStats = Authenticator::Stats;
  AddCounterFamily<Authenticator, AuthStats>(
      r, "token_service_auth_failures_total",
      "Calls refused for failed authentication, by reason: missing, malformed, unknown, "
      "revoked, expired, user_disabled, rate_limited (RESOURCE_EXHAUSTED: the client caused "
      "too many failed lookups; no lookup was made).",
      "reason", auth,
      {{"missing", &AuthStats::missing},
       {"malformed", &AuthStats::malformed},
       {"unknown", &AuthStats::unknown},
       {"revoked", &AuthStats::revoked},
       {"expired", &AuthStats::expired},
       {"user_disabled", &AuthStats::user_disabled},
       {"rate_limited", &AuthStats::rate_limited}});
  r.AddCounterFn("token_service_auth_failures_remembered_total",
                 "Unknown, revoked or expired tokens answered from memory, without a lookup "
                 "(counted in token_service_auth_failures_total as well).",
                 {}, [&auth] { return static_cast<double>(auth.stats().remembered); });

  const SnapshotImages& images = s.images;
  constexpr char kReads[] = "token_service_sync_snapshot_reads_total";
  constexpr char kReadsHelp[] =
      "Snapshots read from the database (each shared by every stream that starts from it), "
      "by result.";
  r.AddCounterFn(kReads, kReadsHelp, {{"result", "ok"}},
                 [&images] { return static_cast<double>(images.stats().reads); });
  r.AddCounterFn(kReads, kReadsHelp, {{"result", "error"}},
                 [&images] { return static_cast<double>(images.stats().read_failures); });
  r.AddGaugeFn("token_service_sync_snapshot_reading", "1 while a snapshot is being read.", {},
               [&images] { return images.stats().reading ? 1.0 : 0.0; });
  r.AddGaugeFn("token_service_sync_snapshot_bytes",
               "Encoded size of the snapshot kept in memory for new streams (0: none kept).", {},
               [&images] { return static_cast<double>(images.stats().kept_bytes); });

  RegisterExpiryMetrics(r, s.expiry);
}

}  // namespace tokens::service
