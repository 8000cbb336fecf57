#pragma once

#include "common/metrics/registry.h"
#include "common/thread/worker_pool.h"
#include "sidecar/domain/miss_resolver.h"
#include "sidecar/domain/token_cache.h"
#include "sidecar/domain/usage.h"
#include "sidecar/domain/verifier.h"
#include "sidecar/sync/sync_client.h"

namespace tokens::sidecar {

// The parts of a running sidecar whose statistics are exported.
struct MetricSources {
  const Verifier& verifier;
  const TokenCache& cache;
  const MissResolver& resolver;
  const WorkerPool& lookups;
  const UsageFlusher& flusher;
  const SyncClient& sync;
};

// Registers token_sidecar_* metrics read from `sources` at scrape time (see
// docs/operations.md for the list). `sources` must outlive `registry`'s
// scrapes.
void RegisterSidecarMetrics(metrics::Registry& registry, const MetricSources& sources);

}  // namespace tokens::sidecar
