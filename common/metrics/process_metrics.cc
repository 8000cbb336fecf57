#include "common/metrics/process_metrics.h"

#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <fstream>

namespace tokens::metrics {
namespace {

// When the process started, to the microsecond: read while the program is
// loaded, before main() and whatever it waits for (a database, a snapshot).
// /proc/self/stat's start time, which Prometheus' Go client reads, is only
// good to the second (the boot time is whole seconds). clock_gettime needs
// no other static object, so the order of static initialisation is no risk.
double NowUnixSeconds() {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec / 1000) / 1e6;
}
const double kProcessStart = NowUnixSeconds();

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
  registry.AddGaugeFn("process_start_time_seconds",
                      "Start time of the process since the Unix epoch, in seconds.", {},
                      [] { return kProcessStart; });
  registry.AddGaugeFn("process_resident_memory_bytes", "Resident memory size in bytes.", {},
                      ResidentBytes);
  registry.AddCounterFn("process_cpu_seconds_total", "User and system CPU time spent, in seconds.",
                        {}, CpuSeconds);
}

}  // namespace tokens::metrics
