#include "sidecar/server.h"

#include <memory>
#include <thread>

#include "absl/synchronization/notification.h"
#include "common/grpc/server_runner.h"
#include "common/grpc/tls.h"
#include "common/log/json_logger.h"
#include "common/metrics/http_exporter.h"
#include "common/metrics/process_metrics.h"
#include "common/metrics/rpc_metrics.h"
#include "common/thread/worker_pool.h"
#include "common/time/clock.h"
#include "common/token/token_codec.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/server_builder.h"
#include "sidecar/domain/miss_resolver.h"
#include "sidecar/domain/token_cache.h"
#include "sidecar/domain/usage.h"
#include "sidecar/domain/verifier.h"
#include "sidecar/metrics.h"
#include "sidecar/sync/grpc_feed_source.h"
#include "sidecar/sync/sync_client.h"
#include "sidecar/sync/token_service_client.h"
#include "sidecar/transport/authenticator_service.h"
#include "sidecar/transport/ext_authz_service.h"

namespace tokens::sidecar {
namespace {

// Misses beyond this many per lookup thread are denied at once (fail closed)
// rather than queued behind a slow token-service.
constexpr size_t kQueuedLookupsPerThread = 64;

// Sends recorded usage every `interval` until stopped, then once more.
class PeriodicFlush {
 public:
  PeriodicFlush(UsageFlusher& flusher, absl::Duration interval)
      : flusher_(flusher), interval_(interval), thread_([this] { Run(); }) {}
  ~PeriodicFlush() { Stop(); }

  // Stops the timer and makes the final attempt.
  void Stop() {
    if (!thread_.joinable()) return;
    stop_.Notify();
    thread_.join();
    FlushOnce(/*final=*/true);
  }

 private:
  void Run() {
    while (!stop_.WaitForNotificationWithTimeout(interval_)) FlushOnce(/*final=*/false);
  }

  void FlushOnce(bool final) {
    const absl::Status status = flusher_.Flush();
    const auto log = Logger("usage");
    if (status.ok()) {
      if (final) log->info("final usage flush done");
    } else if (final) {
      log->warn("final usage flush failed ({}); usage of {} tokens is not delivered",
                status.ToString(), flusher_.pending());
    } else {
      log->warn("periodic usage flush failed ({}); usage of {} tokens kept for the next try",
                status.ToString(), flusher_.pending());
    }
  }

  UsageFlusher& flusher_;
  const absl::Duration interval_;
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace

int RunSidecar(const SidecarConfig& config) {
  BlockStopSignals();
  const auto log = Logger("main");

  SystemClock clock;
  const TokenCodec codec(config.token_prefix);
  TokenCache cache;
  UsageRecorder recorder;
  // TLS of the listener and of the link to token-service: each set of files
  // is re-read while serving.
  std::unique_ptr<TlsReloader> serving_tls;
  std::unique_ptr<TlsReloader> link_tls;
  for (auto [files, reloader] : {std::pair{&config.tls.files, &serving_tls},
                                 std::pair{&config.token_service_tls, &link_tls}}) {
    if (files->cert.empty() && files->ca.empty()) continue;
    absl::StatusOr<std::unique_ptr<TlsReloader>> started =
        TlsReloader::Start(*files, config.tls.reload_interval);
    if (!started.ok()) {
      log->critical("{}", started.status().message());
      return 1;
    }
    *reloader = *std::move(started);
  }
  if (link_tls == nullptr) {
    log->info("link to token-service: plaintext");
  } else {
    log->info("link to token-service: TLS, its certificate checked against {}{}",
              config.token_service_tls.ca,
              config.token_service_tls.cert.empty() ? "" : ", with a client certificate");
  }
  TokenServiceClient client(
      NewTokenServiceChannel(config.token_service,
                             link_tls == nullptr ? nullptr : link_tls->ChannelCredentials()),
      config.service_token, {config.lookup_timeout});
  GrpcFeedSource feed(client);
  MissResolverOptions miss_options;
  miss_options.negative_ttl = config.negative_cache_ttl;
  miss_options.lookups_per_second = config.lookup_rate;
  miss_options.lookup_burst = config.lookup_burst;
  miss_options.lookups_per_second_per_client = config.lookup_rate_per_client;
  miss_options.lookup_burst_per_client = config.lookup_burst_per_client;
  MissResolver resolver(client, clock, miss_options, [&cache](const LookupResult& found) {
    return cache.InsertLookedUp(found.user, found.token);
  });
  Verifier verifier(codec, cache, resolver, recorder, clock);
  UsageFlusher flusher(recorder, client);
  std::unique_ptr<PeriodicFlush> periodic_flush;
  // Not ready until the first snapshot: a load balancer or Envoy health
  // check keeps traffic away, and checks meanwhile fail closed.
  grpc::HealthCheckServiceInterface* health = nullptr;  // set before sync starts
  ReadyFile ready(config.ready_file);
  SyncClient sync(feed, cache, clock,
                  SyncClient::Options{absl::Milliseconds(100), config.max_reconnect_backoff, {}},
                  [&health, &ready] {
                    health->SetServingStatus(true);
                    Logger("main")->info("ready: health is SERVING");
                    AnnounceReady(ready);
                  });

  // Cache misses wait on token-service here, never on gRPC's threads. Declared
  // before the services and destroyed after the server, so every queued
  // lookup still gets its answer.
  WorkerPool lookups(config.lookup_threads,
                     kQueuedLookupsPerThread * static_cast<size_t>(config.lookup_threads));

  metrics::Registry registry;
  metrics::AddProcessMetrics(registry);
  RegisterSidecarMetrics(registry, {verifier, cache, resolver, lookups, flusher, sync});
  metrics::RpcMetrics ext_authz_metrics(registry, "envoy.service.auth.v3.Authorization");
  metrics::RpcMetrics authenticator_metrics(registry, "tokens.v1.Authenticator");
  metrics::HttpExporter exporter(registry);
  if (!metrics::StartMetricsExporter(exporter, config.metrics_listen)) return 1;
  if (!config.metrics_listen.empty()) ready.SetAddress("metrics", exporter.address());

  ExtAuthzService ext_authz(verifier, lookups, ExtAuthzOptions{config.remove_authorization},
                            &ext_authz_metrics);
  AuthenticatorService authenticator(verifier, lookups, &authenticator_metrics);
  grpc::ServerBuilder builder;
  builder.RegisterService(&ext_authz);
  builder.RegisterService(&authenticator);

  ServeOptions options;
  options.listen = config.listen;
  options.shutdown_timeout = config.shutdown_timeout;
  options.limits = config.limits;
  if (serving_tls != nullptr) {
    options.credentials = serving_tls->ServerCredentials();
    options.transport = serving_tls->Describe();
  }
  options.ready_file = &ready;
  options.announce_ready_later = true;
  options.on_built = [&](grpc::Server& server) {
    health = server.GetHealthCheckService();
    health->SetServingStatus(false);
    sync.Start();
    periodic_flush = std::make_unique<PeriodicFlush>(flusher, config.usage_flush_interval);
  };
  options.on_stopping = [&] { sync.Stop(); };
  options.on_stopped = [&] {
    // In-flight checks have drained: nothing records usage any more.
    if (periodic_flush != nullptr) periodic_flush->Stop();
  };
  return ServeUntilStopped(builder, options);
}

}  // namespace tokens::sidecar
