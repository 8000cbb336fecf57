#pragma once

#include "common/metrics/registry.h"

namespace tokens::metrics {

// process_start_time_seconds, process_resident_memory_bytes (from
// /proc/self/statm) and process_cpu_seconds_total, as Prometheus' own
// client libraries name them.
void AddProcessMetrics(Registry& registry);

}  // namespace tokens::metrics
