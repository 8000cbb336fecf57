#include "common/metrics/registry.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/log/json_logger.h"

namespace tokens::metrics {
namespace {

constexpr double kNanos = 1e9;

bool ValidName(absl::string_view name, bool allow_colon) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool ok = absl::ascii_isalpha(static_cast<unsigned char>(c)) || c == '_' ||
                    (allow_colon && c == ':') ||
                    (i > 0 && absl::ascii_isdigit(static_cast<unsigned char>(c)));
    if (!ok) return false;
  }
  return true;
}

[[noreturn]] void Misuse(const std::string& what) {
  Logger("metrics")->critical("metrics registry misuse: {}", what);
  std::abort();
}

void AppendLabels(std::string& out, const Labels& labels, absl::string_view extra_name = {},
                  absl::string_view extra_value = {}) {
  if (labels.empty() && extra_name.empty()) return;
  out += '{';
  bool first = true;
  for (const auto& [name, value] : labels) {
    if (!first) out += ',';
    first = false;
    absl::StrAppend(&out, name, "=\"", EscapeLabelValue(value), "\"");
  }
  if (!extra_name.empty()) {
    if (!first) out += ',';
    absl::StrAppend(&out, extra_name, "=\"", extra_value, "\"");
  }
  out += '}';
}

// Help text escapes backslashes and newlines; label values also quotes.
std::string Escape(absl::string_view text, bool quotes) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quotes) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

std::string EscapeHelp(absl::string_view help) { return Escape(help, /*quotes=*/false); }

}  // namespace

std::string EscapeLabelValue(absl::string_view value) { return Escape(value, /*quotes=*/true); }

std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  // Every integer below 2^63 is written out in full; "-0" is just 0.
  if (v == std::floor(v) && std::fabs(v) < 0x1p63) {
    return absl::StrFormat("%.0f", v == 0 ? 0.0 : v);
  }
  // The fewest digits that read back as the same double: a Unix time in
  // seconds keeps its microseconds. Written out, except, as Go's client does,
  // below 1e-4 ("5e-05"), and from 2^63 on ("1e+300").
  const bool scientific = std::fabs(v) < 1e-4 || std::fabs(v) >= 0x1p63;
  char buffer[64];  // fixed: below 2^63, at most 19 digits before the point and 17 after
  const std::to_chars_result written =
      std::to_chars(buffer, buffer + sizeof(buffer), v,
                    scientific ? std::chars_format::scientific : std::chars_format::fixed);
  return std::string(buffer, written.ptr);
}

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      buckets_(std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1)) {
  if (bounds_.empty() || !std::is_sorted(bounds_.begin(), bounds_.end()) ||
      std::adjacent_find(bounds_.begin(), bounds_.end()) != bounds_.end()) {
    Misuse("histogram bounds must be non-empty and strictly ascending");
  }
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0, std::memory_order_relaxed);
}

void Histogram::Observe(double value) {
  const size_t bucket = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_nanos_.fetch_add(static_cast<int64_t>(std::llround(value * kNanos)),
                       std::memory_order_relaxed);
}

uint64_t Histogram::count() const {
  uint64_t total = 0;
  for (uint64_t c : BucketCounts()) total += c;
  return total;
}

std::vector<uint64_t> Histogram::BucketCounts() const {
  std::vector<uint64_t> counts(bounds_.size() + 1);
  for (size_t i = 0; i < counts.size(); ++i) {
    counts[i] = buckets_[i].load(std::memory_order_relaxed);
  }
  return counts;
}

double Histogram::sum() const {
  return static_cast<double>(sum_nanos_.load(std::memory_order_relaxed)) / kNanos;
}

std::vector<double> LatencyBuckets() {
  return {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,    0.1,    0.25,    0.5,    1,     2.5,    5,     10};
}

Registry::Series& Registry::AddSeries(absl::string_view name, absl::string_view help, Type type,
                                      Labels labels) {
  if (!ValidName(name, /*allow_colon=*/true)) Misuse(absl::StrCat("bad metric name ", name));
  for (const auto& label : labels) {
    if (!ValidName(label.first, /*allow_colon=*/false) || label.first == "le" ||
        absl::StartsWith(label.first, "__")) {
      Misuse(absl::StrCat("bad label name ", label.first, " on ", name));
    }
  }
  absl::MutexLock lock(&mu_);
  Family* family = nullptr;
  for (auto& f : families_) {
    if (f->name == name) family = f.get();
  }
  if (family == nullptr) {
    families_.push_back(
        std::make_unique<Family>(Family{std::string(name), std::string(help), type, {}}));
    family = families_.back().get();
  } else if (family->type != type || family->help != help) {
    Misuse(absl::StrCat("metric ", name, " registered again with another type or help"));
  }
  for (const Series& s : family->series) {
    if (s.labels == labels) Misuse(absl::StrCat("metric ", name, " has the same labels twice"));
  }
  family->series.push_back(Series{std::move(labels), nullptr, nullptr, nullptr, false});
  return family->series.back();
}

Counter& Registry::AddCounter(absl::string_view name, absl::string_view help, Labels labels) {
  Series& s = AddSeries(name, help, Type::kCounter, std::move(labels));
  s.counter = std::make_unique<Counter>();
  return *s.counter;
}

Histogram& Registry::AddHistogram(absl::string_view name, absl::string_view help, Labels labels,
                                  std::vector<double> bounds, bool hide_when_empty) {
  Series& s = AddSeries(name, help, Type::kHistogram, std::move(labels));
  s.histogram = std::make_unique<Histogram>(std::move(bounds));
  s.hide_when_empty = hide_when_empty;
  return *s.histogram;
}

void Registry::AddCounterFn(absl::string_view name, absl::string_view help, Labels labels,
                            std::function<double()> read) {
  AddSeries(name, help, Type::kCounter, std::move(labels)).read = std::move(read);
}

void Registry::AddGaugeFn(absl::string_view name, absl::string_view help, Labels labels,
                          std::function<double()> read) {
  AddSeries(name, help, Type::kGauge, std::move(labels)).read = std::move(read);
}

std::string Registry::Render() const {
  std::string out;
  absl::MutexLock lock(&mu_);
  for (const auto& family : families_) {
    const char* type = family->type == Type::kCounter ? "counter"
                       : family->type == Type::kGauge ? "gauge"
                                                      : "histogram";
    absl::StrAppend(&out, "# HELP ", family->name, " ", EscapeHelp(family->help), "\n");
    absl::StrAppend(&out, "# TYPE ", family->name, " ", type, "\n");
    for (const Series& s : family->series) {
      if (s.histogram != nullptr) {
        const Histogram& h = *s.histogram;
        // _count is the sum of the buckets read here, so the two always
        // agree even while Observe() runs concurrently.
        const std::vector<uint64_t> counts = h.BucketCounts();
        uint64_t cumulative = 0;
        for (uint64_t c : counts) cumulative += c;
        if (s.hide_when_empty && cumulative == 0) continue;
        cumulative = 0;
        for (size_t i = 0; i < counts.size(); ++i) {
          cumulative += counts[i];
          const std::string le = i < h.bounds().size() ? FormatValue(h.bounds()[i]) : "+Inf";
          absl::StrAppend(&out, family->name, "_bucket");
          AppendLabels(out, s.labels, "le", le);
          absl::StrAppend(&out, " ", cumulative, "\n");
        }
        absl::StrAppend(&out, family->name, "_sum");
        AppendLabels(out, s.labels);
        absl::StrAppend(&out, " ", FormatValue(h.sum()), "\n");
        absl::StrAppend(&out, family->name, "_count");
        AppendLabels(out, s.labels);
        absl::StrAppend(&out, " ", cumulative, "\n");
        continue;
      }
      absl::StrAppend(&out, family->name);
      AppendLabels(out, s.labels);
      // A counter's integer as it is, past 2^53 too.
      absl::StrAppend(
          &out, " ",
          s.counter != nullptr ? absl::StrCat(s.counter->value()) : FormatValue(s.read()), "\n");
    }
  }
  return out;
}

}  // namespace tokens::metrics
