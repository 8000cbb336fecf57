#pragma once

#include <optional>
#include <utility>

#include "common/thread/worker_pool.h"
#include "sidecar/domain/verifier.h"

namespace tokens::sidecar {

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
