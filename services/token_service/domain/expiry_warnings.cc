#include "services/token_service/domain/expiry_warnings.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cstdint>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/log/json_logger.h"
#include "common/time/civil_date.h"

namespace tokens::service {

absl::StatusOr<std::vector<int>> ParseWarningDays(absl::string_view text) {
  std::vector<int> days;
  if (absl::StripAsciiWhitespace(text).empty()) {
    return absl::InvalidArgumentError(
        "must list at least one number of days, e.g. 7,1 (comma-separated whole days)");
  }
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    part = absl::StripAsciiWhitespace(part);
    int d = 0;
    if (part.empty() || !std::all_of(part.begin(), part.end(), absl::ascii_isdigit) ||
        !absl::SimpleAtoi(part, &d) || d < 1 || d > kMaxWarningDays) {
      return absl::InvalidArgumentError(absl::StrCat(
          "\"", absl::CHexEscape(part), "\" is not a whole number of days between 1 and ",
          kMaxWarningDays, " (expected comma-separated days, e.g. 7,1)"));
    }
    if (std::find(days.begin(), days.end(), d) != days.end()) {
      return absl::InvalidArgumentError(absl::StrCat(d, " is listed twice"));
    }
    days.push_back(d);
  }
  std::sort(days.rbegin(), days.rend());
  return days;
}

std::vector<int> ThresholdsCrossed(const std::vector<int>& warning_days, int days_left) {
  std::vector<int> crossed;
  if (days_left <= 0) {
    if (days_left >= -kExpiredLookbackDays) crossed.push_back(kExpiredThreshold);
    return crossed;
  }
  for (int d : warning_days) {
    if (days_left <= d) crossed.push_back(d);
  }
  std::sort(crossed.rbegin(), crossed.rend());
  return crossed;
}

absl::string_view WarningEvent(int threshold_days) {
  return threshold_days == kExpiredThreshold ? "token.expired" : "token.expiring";
}

std::string WebhookBody(const PendingWarning& warning, absl::CivilDay today) {
  const auto quoted = [](absl::string_view s) { return absl::StrCat("\"", JsonEscape(s), "\""); };
  const int64_t days_left = warning.expires_on - today;
  return absl::StrCat(
      "{\"id\":", quoted(warning.id), ",\"event\":", quoted(WarningEvent(warning.threshold_days)),
      ",\"token_id\":", quoted(warning.token_id), ",\"name\":", quoted(warning.token_name),
      ",\"hint\":", quoted(warning.hint), ",\"user_id\":", quoted(warning.user_id),
      ",\"email\":", quoted(warning.email),
      ",\"expires_on\":", quoted(FormatIsoDate(warning.expires_on)), ",\"days_left\":", days_left,
      ",\"threshold_days\":", warning.threshold_days, "}");
}

std::string WebhookSignature(absl::string_view secret, absl::string_view body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_size = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &mac_size);
  return absl::StrCat("sha256=", absl::BytesToHexString(absl::string_view(
                                     reinterpret_cast<const char*>(mac), mac_size)));
}

absl::Duration RetryDelay(int attempts, absl::Duration initial, absl::Duration cap,
                          RandomSource& random) {
  absl::Duration delay = initial;
  for (int i = 1; i < attempts && delay < cap; ++i) delay *= 2;
  delay = std::min(delay, cap);
  uint8_t bytes[4];
  random.Fill(absl::MakeSpan(bytes));
  const uint32_t r = (uint32_t{bytes[0]} << 24) | (uint32_t{bytes[1]} << 16) |
                     (uint32_t{bytes[2]} << 8) | uint32_t{bytes[3]};
  // Uniform in [delay/2, delay].
  const double fraction = static_cast<double>(r) / 4294967295.0;
  return delay / 2 + (delay / 2) * fraction;
}

ExpiryWarner::ExpiryWarner(ExpiryWarningStore& store, SenderLock& lock, WebhookSender& sender,
                           const Clock& clock, RandomSource& random, std::string secret,
                           ExpiryWarnerOptions options)
    : store_(store),
      lock_(lock),
      sender_(sender),
      clock_(clock),
      random_(random),
      secret_(std::move(secret)),
      options_(std::move(options)) {}

ExpiryWarner::~ExpiryWarner() { Stop(); }

absl::Time ExpiryWarner::RunRound() {
  const absl::Time now = clock_.Now();
  if (!lock_.TryHold()) {
    if (holds_lock_.exchange(false)) {
      Logger("expiry")->warn("no longer the expiry warning sender (its database session ended)");
    }
    // Scan at once when the lock comes: the previous holder's schedule is
    // not known here.
    next_scan_ = absl::InfinitePast();
    return now + options_.scan_interval;
  }
  if (!holds_lock_.exchange(true)) {
    Logger("expiry")->info("this replica sends the expiry warnings now");
  }
  if (now >= next_scan_) {
    next_scan_ = now + options_.scan_interval;
    if (absl::Status s = Scan(now); !s.ok()) {
      Logger("expiry")->warn("expiry warning scan failed: {}", s.ToString());
    } else {
      scans_.fetch_add(1);
    }
  }
  if (absl::Status s = Deliver(); !s.ok()) {
    Logger("expiry")->warn("expiry warning delivery stopped: {}", s.ToString());
  }
  absl::Time next = next_scan_;
  absl::StatusOr<PendingSummary> pending = store_.Pending();
  if (pending.ok()) {
    pending_.store(pending->count);
    if (pending->next_attempt_at.has_value()) next = std::min(next, *pending->next_attempt_at);
  }
  return next;
}

absl::Status ExpiryWarner::Scan(absl::Time now) {
  const absl::CivilDay today = UtcDay(now);
  const auto log = Logger("expiry");
  absl::StatusOr<std::vector<ExpiryCandidate>> candidates =
      store_.ListCandidates(today, options_.warning_days.front(), kExpiredLookbackDays);
  if (!candidates.ok()) return candidates.status();
  int recorded_now = 0;
  for (const ExpiryCandidate& candidate : *candidates) {
    for (int d : ThresholdsCrossed(options_.warning_days, candidate.days_left)) {
      if (std::find(candidate.recorded.begin(), candidate.recorded.end(), d) !=
          candidate.recorded.end()) {
        continue;
      }
      absl::StatusOr<bool> recorded = store_.RecordWarning(candidate.token_id, d, now);
      if (!recorded.ok()) return recorded.status();
      if (!*recorded) continue;
      ++recorded_now;
      (d == kExpiredThreshold ? recorded_expired_ : recorded_expiring_).fetch_add(1);
      // One line per warning at debug only: a first scan over a large
      // database records thousands.
      LogEvent(*log, spdlog::level::debug, "expiry warning recorded",
               {{"token_id", candidate.token_id},
                {"event", WarningEvent(d)},
                {"threshold_days", d},
                {"days_left", candidate.days_left}});
    }
  }
  if (recorded_now > 0) {
    LogEvent(*log, spdlog::level::info, "expiry warnings recorded",
             {{"recorded", recorded_now},
              {"tokens_near_expiry", candidates->size()},
              {"scan_ms", absl::ToDoubleMilliseconds(clock_.Now() - now)}});
  }
  return absl::OkStatus();
}

absl::Status ExpiryWarner::Deliver() {
  for (;;) {
    absl::StatusOr<std::vector<PendingWarning>> due =
        store_.DueWarnings(clock_.Now(), options_.batch);
    if (!due.ok()) return due.status();
    for (const PendingWarning& warning : *due) {
      {
        absl::MutexLock lock(&mu_);
        if (stopping_) return absl::OkStatus();
      }
      // A warning whose attempt could not be recorded is still due: stop
      // here rather than post it again at once.
      if (absl::Status s = Attempt(warning); !s.ok()) return s;
    }
    if (due->size() < static_cast<size_t>(options_.batch)) return absl::OkStatus();
  }
}

absl::Status ExpiryWarner::Attempt(const PendingWarning& warning) {
  const auto log = Logger("expiry");
  if (warning.token_gone) {
    absl::Status s = store_.MarkDropped(warning.id);
    if (s.ok()) dropped_.fetch_add(1);
    return s;
  }
  const absl::Time now = clock_.Now();
  WebhookRequest request;
  request.id = warning.id;
  request.body = WebhookBody(warning, UtcDay(now));
  request.signature = WebhookSignature(secret_, request.body);
  const WebhookResult result = sender_.Post(request);
  const int attempt = warning.attempts + 1;
  const absl::string_view event = WarningEvent(warning.threshold_days);
  if (result.outcome == WebhookResult::Outcome::kDelivered) {
    delivered_.fetch_add(1);
    LogEvent(*log, spdlog::level::info, "expiry warning delivered",
             {{"warning_id", warning.id},
              {"token_id", warning.token_id},
              {"event", event},
              {"threshold_days", warning.threshold_days},
              {"attempt", attempt},
              {"status", result.http_status}});
    // If this fails the warning is sent again later, under the same id: at
    // least once, never lost.
    return store_.MarkDelivered(warning.id, clock_.Now());
  }
  (result.outcome == WebhookResult::Outcome::kRejected ? rejected_ : failed_).fetch_add(1);
  const absl::Duration delay =
      RetryDelay(attempt, options_.initial_backoff, options_.max_backoff, random_);
  const std::string error = result.outcome == WebhookResult::Outcome::kRejected
                                ? absl::StrCat("HTTP ", result.http_status)
                                : result.error;
  LogEvent(*log, spdlog::level::warn, "expiry webhook attempt failed",
           {{"warning_id", warning.id},
            {"token_id", warning.token_id},
            {"event", event},
            {"attempt", attempt},
            {"status", result.http_status},
            {"error", error},
            {"retry_in_ms", absl::ToInt64Milliseconds(delay)}});
  return store_.MarkFailed(warning.id, clock_.Now() + delay, error);
}

void ExpiryWarner::Start() {
  thread_ = std::thread([this] {
    for (;;) {
      const absl::Time next = RunRound();
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithDeadline(absl::Condition(&stopping_), next);
      if (stopping_) return;
    }
  });
}

void ExpiryWarner::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

ExpiryWarner::Stats ExpiryWarner::stats() const {
  Stats s;
  s.scans = scans_.load();
  s.recorded_expiring = recorded_expiring_.load();
  s.recorded_expired = recorded_expired_.load();
  s.delivered = delivered_.load();
  s.rejected = rejected_.load();
  s.failed = failed_.load();
  s.dropped = dropped_.load();
  s.pending = pending_.load();
  s.sender = holds_lock_.load();
  return s;
}

}  // namespace tokens::service
