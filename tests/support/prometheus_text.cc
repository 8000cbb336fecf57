#include "tests/support/prometheus_text.h"

#include <cstdlib>
#include <regex>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "httplib.h"

namespace tokens::testing {

double MetricsText::Value(const std::string& series) const {
  auto it = samples.find(series);
  return it == samples.end() ? -1 : it->second;
}

absl::StatusOr<MetricsText> ParseMetricsText(const std::string& text) {
  static const std::regex kType(R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped))");
  static const std::regex kSample(
      R"(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*"(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*")*)?\})? (\S+))");
  MetricsText out;
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_no;
    if (line.empty() || absl::StartsWith(line, "# HELP ")) continue;
    const std::string l(line);
    std::smatch m;
    if (absl::StartsWith(line, "#")) {
      if (!std::regex_match(l, m, kType)) {
        return absl::InvalidArgumentError(absl::StrCat("line ", line_no, ": bad comment: ", l));
      }
      if (!out.types.emplace(m[1], m[2]).second) {
        return absl::InvalidArgumentError(absl::StrCat("line ", line_no, ": TYPE twice: ", l));
      }
      continue;
    }
    if (!std::regex_match(l, m, kSample)) {
      return absl::InvalidArgumentError(absl::StrCat("line ", line_no, ": bad sample: ", l));
    }
    std::string family = m[1];
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      if (out.types.count(family) == 0 && absl::EndsWith(family, suffix)) {
        family = family.substr(0, family.size() - std::char_traits<char>::length(suffix));
      }
    }
    if (out.types.count(family) == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", line_no, ": sample without a TYPE: ", l));
    }
    const std::string value = m[7];
    double v = 0;
    if (value == "+Inf") {
      v = HUGE_VAL;
    } else if (value == "-Inf") {
      v = -HUGE_VAL;
    } else if (!absl::SimpleAtod(value, &v)) {
      return absl::InvalidArgumentError(absl::StrCat("line ", line_no, ": bad value: ", l));
    }
    const std::string key = absl::StrCat(std::string(m[1]), std::string(m[2]));
    if (!out.samples.emplace(key, v).second) {
      return absl::InvalidArgumentError(absl::StrCat("line ", line_no, ": series twice: ", l));
    }
  }
  return out;
}

absl::StatusOr<MetricsText> ScrapeMetrics(const std::string& address) {
  httplib::Client client(absl::StrCat("http://", address));
  client.set_connection_timeout(5, 0);
  client.set_read_timeout(5, 0);
  httplib::Result res = client.Get("/metrics");
  if (!res) {
    return absl::UnavailableError(
        absl::StrCat("GET http://", address, "/metrics failed: ", httplib::to_string(res.error())));
  }
  if (res->status != 200) {
    return absl::InternalError(absl::StrCat("GET /metrics answered ", res->status));
  }
  const std::string type = res->get_header_value("Content-Type");
  if (!absl::StartsWith(type, "text/plain; version=0.0.4")) {
    return absl::InternalError(absl::StrCat("GET /metrics content type is ", type));
  }
  return ParseMetricsText(res->body);
}

}  // namespace tokens::testing
