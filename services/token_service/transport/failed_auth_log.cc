#include "services/token_service/transport/failed_auth_log.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/log/json_logger.h"
#include "common/metrics/rpc_metrics.h"

namespace tokens::service {
namespace {

constexpr char kOtherReasons[] = "other";

// "a 3, b 2" from the largest counts of `counts`, at most `limit` of them.
std::string Largest(const absl::flat_hash_map<std::string, uint64_t>& counts, size_t limit) {
  std::vector<std::pair<std::string, uint64_t>> sorted(counts.begin(), counts.end());
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  if (sorted.size() > limit) sorted.resize(limit);
  return absl::StrJoin(sorted, ", ", [](std::string* out, const auto& entry) {
    absl::StrAppend(out, entry.first.empty() ? "(no address)" : entry.first, " ", entry.second);
  });
}

}  // namespace

LogFields CallFields(const CallRecord& call) {
  LogFields fields{
      {"method", call.method},
      {"code", metrics::GrpcCodeName(static_cast<grpc::StatusCode>(call.status.code()))}};
  if (!call.user_id.empty()) fields.Add("user_id", call.user_id);
  if (!call.token_id.empty()) fields.Add("token_id", call.token_id);
  fields.Add("duration_ms", absl::ToDoubleMilliseconds(call.elapsed));
  if (!call.peer.empty()) fields.Add("peer", call.peer);
  if (!call.status.ok()) fields.Add("error", call.status.message());
  return fields;
}

void LogCall(const CallRecord& call) {
  static const auto log = Logger("rpc");
  LogEvent(*log, spdlog::level::info, call.method, CallFields(call));
}

FailedAuthLog::FailedAuthLog(const Clock& clock, FailedAuthLogOptions options, Writer writer)
    : clock_(clock),
      options_(options),
      writer_(writer ? std::move(writer)
                     : [](absl::string_view msg, const LogFields& fields) {
                         static const auto log = Logger("rpc");
                         LogEvent(*log, spdlog::level::info, msg, fields);
                       }),
      interval_start_(clock.Now()) {}

FailedAuthLog::~FailedAuthLog() {
  stop_.Notify();
  if (flusher_.joinable()) flusher_.join();
  absl::MutexLock lock(&mu_);
  WriteSummary(clock_.Now());
}

void FailedAuthLog::StartFlushing() {
  flusher_ = std::thread([this] {
    // Twice an interval: a summary is written at most half an interval late.
    while (!stop_.WaitForNotificationWithTimeout(options_.interval / 2)) Flush();
  });
}

void FailedAuthLog::Record(absl::string_view method, absl::string_view client,
                           const absl::Status& status, absl::Duration elapsed) {
  absl::MutexLock lock(&mu_);
  EndIntervalIfOver(clock_.Now());
  if (written_ < options_.detailed_per_interval) {
    ++written_;
    const CallRecord call{method, /*user_id=*/{}, /*token_id=*/{}, client, status, elapsed};
    writer_(method, CallFields(call));
    return;
  }
  ++summed_;
  std::string reason(status.message());
  if (!by_reason_.contains(reason) && by_reason_.size() >= options_.max_reasons) {
    reason = kOtherReasons;
  }
  ++by_reason_[reason];
  auto it = by_client_.find(client);
  if (it != by_client_.end()) {
    ++it->second;
  } else if (by_client_.size() < options_.max_clients) {
    by_client_.emplace(std::string(client), 1);
  } else {
    ++other_clients_;
  }
}

void FailedAuthLog::Flush() {
  absl::MutexLock lock(&mu_);
  EndIntervalIfOver(clock_.Now());
}

void FailedAuthLog::EndIntervalIfOver(absl::Time now) {
  if (now - interval_start_ < options_.interval) return;
  WriteSummary(now);
  interval_start_ = now;
  written_ = 0;
  summed_ = 0;
  by_reason_.clear();
  by_client_.clear();
  other_clients_ = 0;
}

void FailedAuthLog::WriteSummary(absl::Time now) {
  if (summed_ == 0) return;
  std::string line =
      absl::StrCat(summed_, " more failed authentications in the last ",
                   absl::FormatDuration(absl::Trunc(now - interval_start_, absl::Milliseconds(1))),
                   " not logged one by one: ", Largest(by_reason_, by_reason_.size()),
                   "; busiest clients: ", Largest(by_client_, options_.clients_named), " (of ",
                   by_client_.size(), " in all");
  if (other_clients_ > 0) absl::StrAppend(&line, ", and ", other_clients_, " calls from more");
  absl::StrAppend(&line, ")");
  writer_(line, LogFields{{"failed_calls", summed_}});
}

}  // namespace tokens::service
