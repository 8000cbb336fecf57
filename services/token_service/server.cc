#include "services/token_service/server.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <memory>

#include "absl/strings/str_join.h"
#include "common/grpc/server_runner.h"
#include "common/grpc/tls.h"
#include "common/log/json_logger.h"
#include "common/metrics/http_exporter.h"
#include "common/metrics/process_metrics.h"
#include "common/metrics/rpc_metrics.h"
#include "common/time/civil_date.h"
#include "common/time/clock.h"
#include "common/token/random.h"
#include "common/token/token_codec.h"
#include "grpcpp/server_builder.h"
#include "services/token_service/domain/authenticator.h"
#include "services/token_service/domain/bootstrap.h"
#include "services/token_service/domain/change_hub.h"
#include "services/token_service/domain/snapshot_images.h"
#include "services/token_service/domain/token_manager.h"
#include "services/token_service/domain/token_sync_manager.h"
#include "services/token_service/domain/user_manager.h"
#include "services/token_service/metrics.h"
#include "services/token_service/storage/change_listener.h"
#include "services/token_service/storage/migrations.h"
#include "services/token_service/storage/pg_pool.h"
#include "services/token_service/storage/pg_sync_store.h"
#include "services/token_service/storage/pg_token_store.h"
#include "services/token_service/transport/connect_http.h"
#include "services/token_service/transport/failed_auth_log.h"
#include "services/token_service/transport/grpc_services.h"
#include "services/token_service/transport/token_sync_service.h"

namespace tokens::service {
namespace {

AuthenticatorOptions AuthenticatorFor(const ServiceConfig& config) {
  AuthenticatorOptions options;
  options.failures_per_second_per_client = config.auth_failure_rate_per_client;
  options.failure_burst_per_client = config.auth_failure_burst_per_client;
  return options;
}

// The web console (web/console/), served by the HTTP face at /.
const ConnectHttpOptions::File kWebConsole[] = {
#include "web_console.inc"
};

// Everything a running token-service is made of, wired once.
struct Components {
  explicit Components(const ServiceConfig& config)
      : codec(config.token_prefix),
        pool(config.database_url, PgPool::Options{config.db_pool_size}),
        store(pool),
        auth(store, codec, clock, AuthenticatorFor(config)),
        tokens(store, codec, clock, random,
               {config.max_token_lifetime_days, config.max_live_tokens_per_user,
                static_cast<double>(config.token_create_rate),
                static_cast<double>(config.token_create_burst), config.page_token_key,
                config.token_scopes}),
        users(store, clock, config.page_token_key) {}

  SystemClock clock;
  SystemRandom random;
  TokenCodec codec;
  PgPool pool;
  PgTokenStore store;
  Authenticator auth;
  TokenManager tokens;
  UserManager users;
};

// Refuses to serve an outdated schema; tolerates an unreachable database,
// which the pool keeps retrying (calls answer UNAVAILABLE meanwhile).
bool SchemaIsServeable(const std::string& database_url) {
  const auto log = Logger("main");
  absl::StatusOr<int> version = SchemaVersion(database_url);
  const int latest = AllMigrations().back().version;
  if (!version.ok()) {
    log->warn(
        "database not reachable at start-up ({}); serving anyway, calls that need it "
        "answer UNAVAILABLE until it is back",
        version.status().ToString());
    return true;
  }
  if (*version < latest) {
    log->critical(
        "database schema is at version {}, this binary needs {}: run "
        "`token-service migrate` first",
        *version, latest);
    return false;
  }
  return true;
}

}  // namespace

int RunServer(const ServiceConfig& config) {
  BlockStopSignals();
  if (!SchemaIsServeable(config.database_url)) return 1;
  Components c(config);
  if (config.page_token_key.empty()) {
    // Harmless on one replica; behind a load balancer, paging would fail
    // whenever the next page went to another one.
    Logger("main")->info(
        "page tokens are sealed with a random key of this process: with several replicas, "
        "give them all one --page_token_key (TOKEN_SERVICE_PAGE_TOKEN_KEY)");
  }
  // The change feed: one hub per process reads it for every sidecar stream.
  PgSyncStore sync_store(c.pool);
  PgChangeListener listener(config.database_url);
  ChangeHubOptions hub_options;
  hub_options.poll_interval = config.sync_poll_interval;
  ChangeHub hub(sync_store, listener, hub_options);
  SnapshotImages images(sync_store, hub, c.clock, SyncTokensEncoding());
  TokenSyncOptions sync_options;
  sync_options.max_streams = config.sync_max_streams;
  sync_options.max_streams_per_caller = config.sync_max_streams_per_caller;
  TokenSyncManager sync(sync_store, hub, images, c.clock, sync_options);

  metrics::Registry registry;
  metrics::AddProcessMetrics(registry);
  metrics::RpcMetrics token_metrics(registry, "tokens.v1.TokenService");
  metrics::RpcMetrics user_metrics(registry, "tokens.v1.UserService");
  metrics::RpcMetrics sync_metrics(registry, "tokens.v1.TokenSync");

  FailedAuthLogOptions failed_auth_options;
  failed_auth_options.interval = config.auth_failure_log_interval;
  FailedAuthLog failed_auth(c.clock, failed_auth_options);
  failed_auth.StartFlushing();
  TokenServiceImpl token_service(c.auth, c.tokens, &token_metrics, &failed_auth);
  UserServiceImpl user_service(c.auth, c.users, &user_metrics, &failed_auth);
  TokenSyncServiceOptions sync_service_options;
  sync_service_options.stall_timeout = config.sync_stall_timeout;
  sync_service_options.max_waiting_opens = static_cast<size_t>(config.sync_max_streams);
  TokenSyncServiceImpl sync_service(c.auth, sync, images, c.clock, &sync_metrics, &failed_auth,
                                    sync_service_options);
  RegisterServiceMetrics(registry,
                         {c.pool, config.db_pool_size, hub, sync, images, sync_service, c.auth});
  metrics::HttpExporter exporter(registry);
  if (!metrics::StartMetricsExporter(exporter, config.metrics_listen)) return 1;

  grpc::ServerBuilder builder;
  builder.RegisterService(&token_service);
  builder.RegisterService(&user_service);
  // With --sync_listen, TokenSync has a server of its own, so that a network
  // policy can admit only sidecars to it.
  grpc::ServerBuilder sync_builder;
  grpc::ServerBuilder& feed_builder = config.sync_listen.empty() ? builder : sync_builder;
  feed_builder.RegisterService(&sync_service);
  for (grpc::ServerBuilder* b : {&builder, &sync_builder}) {
    // A SyncTokens stream can be quiet for hours. Sidecars ping it every 20 s
    // to notice a dead peer (see sidecar/sync/token_service_client.cc), which
    // ServeUntilStopped's keepalive enforcement allows (every 10 s at most);
    // ping back so that the stream of a vanished sidecar is closed too.
    b->AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 60000);
    b->AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20000);
    // Keep pinging a quiet stream (gRPC stops after two pings without data).
    b->AddChannelArgument(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  }
  hub.Start();

  ServeOptions options;
  options.listen = config.listen;
  options.shutdown_timeout = config.shutdown_timeout;
  options.limits = config.limits;
  // Both listeners serve the same certificate, re-read while serving.
  std::unique_ptr<TlsReloader> tls;
  if (!config.tls.files.cert.empty()) {
    absl::StatusOr<std::unique_ptr<TlsReloader>> started =
        TlsReloader::Start(config.tls.files, config.tls.reload_interval);
    if (!started.ok()) {
      Logger("main")->critical("{}", started.status().message());
      return 1;
    }
    tls = *std::move(started);
    options.credentials = tls->ServerCredentials();
    options.transport = tls->Describe();
  }
  if (!config.sync_listen.empty()) {
    options.extra.push_back({&sync_builder, config.sync_listen, "TokenSync", "sync"});
  }
  ReadyFile ready(config.ready_file);
  if (!config.metrics_listen.empty()) ready.SetAddress("metrics", exporter.address());
  options.ready_file = &ready;
  // The HTTP face calls the services through the server's in-process
  // channel, so it starts once the server is built (before the ready file is
  // written) and stops first, its calls finishing before the server drains.
  std::unique_ptr<ConnectHttpFace> http;
  bool http_failed = false;
  if (!config.http_listen.empty()) {
    options.on_built = [&](grpc::Server& server) {
      ConnectHttpOptions http_options;
      http_options.services = {"tokens.v1.TokenService", "tokens.v1.UserService"};
      http_options.files.assign(std::begin(kWebConsole), std::end(kWebConsole));
      http_options.trusted_proxies = config.http_trusted_proxies;
      http = std::make_unique<ConnectHttpFace>(server.InProcessChannel(grpc::ChannelArguments()),
                                               http_options, &registry);
      if (absl::Status started = http->Start(config.http_listen); !started.ok()) {
        Logger("main")->critical("HTTP face: {}", started.message());
        // The runner has no way out of on_built: stop as on SIGTERM, and
        // never announce readiness (below).
        http_failed = true;
        kill(getpid(), SIGTERM);
        return;
      }
      ready.SetAddress("http", http->address());
      Logger("server")->info("HTTP face (Connect JSON) at http://{}", http->address());
    };
  }
  options.announce_ready_later = true;
  options.on_started = [&](int) {
    if (!http_failed) AnnounceReady(ready);
  };
  // SyncTokens streams last until the caller leaves; ending them first lets
  // the drain finish without waiting out the timeout.
  options.on_stopping = [&hub, &http] {
    // Its in-process channel goes before the server it belongs to.
    if (http != nullptr) {
      http->Stop();
      http.reset();
    }
    hub.Stop();
  };
  const int code = ServeUntilStopped(builder, options);
  return http_failed ? 1 : code;
}

int RunMigrate(const ServiceConfig& config) {
  const auto log = Logger("main");
  absl::StatusOr<std::vector<int>> applied = Migrate(config.database_url);
  if (!applied.ok()) {
    log->error("migration failed: {}", applied.status().ToString());
    return 1;
  }
  log->info("schema is current (version {}); applied now: [{}]", AllMigrations().back().version,
            absl::StrJoin(*applied, ","));
  return 0;
}

int RunBootstrap(const ServiceConfig& config, Role role) {
  const auto log = Logger("main");
  if (absl::StatusOr<std::vector<int>> applied = Migrate(config.database_url); !applied.ok()) {
    log->error("cannot prepare the schema: {}", applied.status().ToString());
    return 1;
  }
  Components c(config);
  const std::string command = role == Role::kAdmin ? "bootstrap-admin" : "bootstrap-service";
  Bootstrap bootstrap(c.tokens, c.users, c.clock);
  absl::StatusOr<Bootstrap::Result> done =
      bootstrap.Run({role, config.bootstrap_user, config.bootstrap_expires_on});
  if (!done.ok()) {
    log->error("{}: {}", command, done.status().ToString());
    return 1;
  }
  const TokenRecord& token = done->issued.token;
  log->info("issued {} token {} ({}) for {}, expires on {}", RoleName(role), token.id, token.hint,
            done->user.user_id, FormatIsoDate(token.expires_on));
  std::printf("%s\n", done->issued.secret.c_str());
  std::fflush(stdout);
  return 0;
}

}  // namespace tokens::service
