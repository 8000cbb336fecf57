#pragma once

#include "common/metrics/registry.h"
#include "services/token_service/domain/authenticator.h"
#include "services/token_service/domain/change_hub.h"
#include "services/token_service/domain/expiry_warnings.h"
#include "services/token_service/domain/snapshot_images.h"
#include "services/token_service/domain/token_sync_manager.h"
#include "services/token_service/storage/pg_pool.h"
#include "services/token_service/transport/token_sync_service.h"

namespace tokens::service {

// The parts of a running token-service whose statistics are exported.
struct MetricSources {
  const PgPool& pool;
  int pool_size;
  const ChangeHub& hub;
  const TokenSyncManager& sync;
  const SnapshotImages& images;
  const TokenSyncServiceImpl& sync_service;
  const Authenticator& auth;
  // The expiry warning sender; null when --expiry_webhook_url is empty (its
  // metrics are exported at 0 then).
  const ExpiryWarner* expiry = nullptr;
};

// Registers token_service_* metrics read from `sources` at scrape time (see
// docs/operations.md). `sources` must outlive the registry's scrapes.
void RegisterServiceMetrics(metrics::Registry& registry, const MetricSources& sources);

}  // namespace tokens::service
