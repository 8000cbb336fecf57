#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

// A small Prometheus metrics registry: counters and histograms updated with
// relaxed atomics on the hot path, gauges and counters read from callbacks
// at scrape time (so domain classes keep plain counters and know nothing of
// Prometheus), rendered in the text exposition format 0.0.4.
//
// Register everything at start-up; updates never allocate or lock. Render()
// may run concurrently with updates and sees each value at some point during
// the scrape.
namespace tokens::metrics {

// label name -> value, in the order they are rendered.
using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void Increment(uint64_t by = 1) { value_.fetch_add(by, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  // Counters of one family are updated by different threads: keep each on
  // its own cache line.
  alignas(64) std::atomic<uint64_t> value_{0};
};

class Histogram {
 public:
  // `bounds`: the upper bounds of the buckets, ascending; +Inf is implied.
  explicit Histogram(std::vector<double> bounds);

  void Observe(double value);

  const std::vector<double>& bounds() const { return bounds_; }
  // Per bucket (not cumulative), then the +Inf bucket.
  std::vector<uint64_t> BucketCounts() const;
  uint64_t count() const;
  double sum() const;

 private:
  const std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // bounds_.size() + 1
  // The sum in nanounits, so that it can be a lock-free integer add.
  std::atomic<int64_t> sum_nanos_{0};
};

// Bucket bounds in seconds for RPC latencies: 50 µs to 10 s.
std::vector<double> LatencyBuckets();

class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Each Add* returns a metric owned by the registry, alive as long as it
  // is. A family (one name) must keep one type and help text; every series of
  // a family must have distinct labels. Names and labels are checked against
  // Prometheus' rules; a bad one is a programming error and aborts.
  Counter& AddCounter(absl::string_view name, absl::string_view help, Labels labels = {});
  Histogram& AddHistogram(absl::string_view name, absl::string_view help, Labels labels,
                          std::vector<double> bounds, bool hide_when_empty = false);
  // A counter whose value is read at scrape time (e.g. a domain class's
  // statistics). `read` must be thread-safe and non-decreasing.
  void AddCounterFn(absl::string_view name, absl::string_view help, Labels labels,
                    std::function<double()> read);
  // A gauge read at scrape time; `read` must be thread-safe.
  void AddGaugeFn(absl::string_view name, absl::string_view help, Labels labels,
                  std::function<double()> read);

  // The text exposition format, families in registration order.
  std::string Render() const;

 private:
  enum class Type { kCounter, kGauge, kHistogram };
  struct Series {
    Labels labels;
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Histogram> histogram;
    std::function<double()> read;
    bool hide_when_empty = false;
  };
  struct Family {
    std::string name;
    std::string help;
    Type type;
    std::vector<Series> series;
  };
  Series& AddSeries(absl::string_view name, absl::string_view help, Type type, Labels labels);

  mutable absl::Mutex mu_;
  std::vector<std::unique_ptr<Family>> families_ ABSL_GUARDED_BY(mu_);
};

// A sample value as Prometheus' text format writes it: an integer in full
// ("1796610650", never "1.79661065e+09"), any other number in the shortest
// form that reads back as the same double ("1796610650.123", "0.00025"),
// and "+Inf", "-Inf", "NaN".
std::string FormatValue(double value);

// Escapes a label value for the exposition format (\\, \" and \n).
std::string EscapeLabelValue(absl::string_view value);

}  // namespace tokens::metrics
