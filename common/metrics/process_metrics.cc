#include "common/metrics/process_metrics.h"

#include <sys/resource.h>
#include <unistd.h>

#include <fstream>

#include "absl/time/clock.h"

namespace tokens::metrics {
namespace {

double ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  long pages_total = 0;
  long pages_resident = 0;
  if (!(statm >> pages_total >> pages_resident)) return 0;
  return static_cast<double>(pages_resident) * static_cast<double>(sysconf(_SC_PAGESIZE));
}

double CpuSeconds() {
  rusage usage{};
  if (getrusage(RUSAGE_SELF, &usage) != 0) return 0;
  auto seconds = [](const timeval& tv) { return tv.tv_sec + tv.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

}  // namespace

void AddProcessMetrics(Registry& registry) {
  const double start = absl::ToUnixMicros(absl::Now()) / 1e6;
  registry.AddGaugeFn("process_start_time_seconds",
                      "Start time of the process since the Unix epoch, in seconds.", {},
                      [start] { return start; });
  registry.AddGaugeFn("process_resident_memory_bytes", "Resident memory size in bytes.", {},
                      ResidentBytes);
  registry.AddCounterFn("process_cpu_seconds_total", "User and system CPU time spent, in seconds.",
                        {}, CpuSeconds);
}

}  // namespace tokens::metrics
