#pragma once

#include <map>
#include <string>

#include "absl/status/statusor.h"

namespace tokens::testing {

// A parsed Prometheus text exposition (format 0.0.4).
struct MetricsText {
  // "name{a=\"x\",b=\"y\"}" (labels as written) -> value.
  std::map<std::string, double> samples;
  // family name -> "counter" | "gauge" | "histogram" | ...
  std::map<std::string, std::string> types;

  // The value of `series` (as the key above), or -1 when absent.
  double Value(const std::string& series) const;
};

// Parses and checks the text: every sample line is `name[{labels}] value`
// with a valid name, properly quoted labels and a number; every sample
// belongs to a family with a # TYPE line before it; a family's TYPE appears
// once. INVALID_ARGUMENT naming the line otherwise.
absl::StatusOr<MetricsText> ParseMetricsText(const std::string& text);

// GET http://address/metrics; checks status 200 and the content type, then
// parses.
absl::StatusOr<MetricsText> ScrapeMetrics(const std::string& address);

}  // namespace tokens::testing
