#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/auth/scopes.h"
#include "common/log/json_logger.h"
#include "common/thread/worker_pool.h"
#include "sidecar/domain/verifier.h"

namespace tokens::sidecar {

// Why a valid token was refused where scopes are required, in both
// transports' words: "insufficient_scope: token lacks a b".
inline std::string InsufficientScopeMessage(const std::vector<std::string>& missing) {
  return absl::StrCat("insufficient_scope: token lacks ", JoinScopes(missing));
}

// The debug line of one decided check (`method`: "Check" or "Authenticate")
// begun at `start`: the decision, and the user and token, or the reason of a
// denial, as keys of the JSON line. `refused`: why a valid token was refused
// all the same ("insufficient_scope"), or empty. Formats nothing unless `log`
// writes debug lines.
inline void LogVerdict(spdlog::logger& log, absl::string_view method, const CheckResult& verdict,
                       absl::Time start, absl::string_view refused = {}) {
  if (!log.should_log(spdlog::level::debug)) return;
  const bool allowed = verdict.allowed && refused.empty();
  LogFields fields{{"method", method}, {"decision", allowed ? "allow" : "deny"}};
  std::string token_id;
  if (verdict.allowed) {
    token_id = verdict.principal.token_id.ToString();
    fields.Add("user_id", verdict.principal.user_id).Add("token_id", token_id);
    if (!refused.empty()) fields.Add("reason", refused);
  } else {
    fields.Add("reason", DenyReasonCode(verdict.reason));
  }
  fields.Add("duration_ms", absl::ToDoubleMilliseconds(absl::Now() - start));
  LogEvent(log, spdlog::level::debug, method, fields);
}

// How both transports answer from gRPC's callback threads, which must never
// wait: with `now` when the verifier decided without waiting (the cache
// knew the token, or its format was wrong); otherwise on a `lookups` worker
// with what `wait()` returns (it asks token-service), or, when every worker
// is busy and the queue full, with verifier.DenyUnresolved(): fail closed.
// `wait` and `answer(CheckResult)` are copied into the worker's job, so
// they capture only what outlives the call (its request and response, the
// reactor, the service).
template <class Wait, class Answer>
void AnswerWhenDecided(std::optional<CheckResult> now, TokenVerifier& verifier, WorkerPool& lookups,
                       Wait wait, Answer answer) {
  if (!now.has_value()) {
    if (lookups.TrySchedule([wait, answer]() mutable { answer(wait()); })) return;
    now = verifier.DenyUnresolved();
  }
  answer(*std::move(now));
}

}  // namespace tokens::sidecar
