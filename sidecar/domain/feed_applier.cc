#include "sidecar/domain/feed_applier.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace tokens::sidecar {

FeedApplier::FeedApplier(TokenCache& cache) : cache_(cache) {}

FeedApplier::~FeedApplier() { StreamEnded(); }

absl::StatusOr<FeedApplier::Outcome> FeedApplier::Apply(const FeedMessage& message) {
  if (refused_) {
    return absl::FailedPreconditionError("the stream was refused before; open another one");
  }
  Outcome outcome;
  switch (message.kind) {
    case FeedMessage::Kind::kSnapshot:
    case FeedMessage::Kind::kSnapshotEnd: {
      if (message.kind == FeedMessage::Kind::kSnapshotEnd) {
        if (absl::Status behind = CheckNotBehind("SNAPSHOT_END", message.version); !behind.ok()) {
          return Refuse(std::move(behind));
        }
      }
      if (snapshot_ == nullptr) {
        snapshot_ = cache_.StartSnapshot();
        snapshot_tokens_ = 0;
        outcome.started_snapshot = true;
      }
      for (const SyncedUser& user : message.users) snapshot_->AddUser(user);
      for (const SyncedToken& token : message.tokens) snapshot_->AddToken(token);
      snapshot_tokens_ += message.tokens.size();
      if (message.kind == FeedMessage::Kind::kSnapshot) {
        outcome.kind = Outcome::Kind::kSnapshotPart;
        return outcome;
      }
      cache_.Publish(std::move(snapshot_), message.version);
      reached_ = message.version;
      outcome.kind = Outcome::Kind::kSnapshotPublished;
      outcome.snapshot_tokens = snapshot_tokens_;
      return outcome;
    }
    case FeedMessage::Kind::kDelta:
      if (snapshot_ != nullptr) {
        return Refuse(absl::FailedPreconditionError(
            absl::StrCat("DELTA at version ", message.version, " inside a snapshot")));
      }
      if (absl::Status behind = CheckNotBehind("DELTA", message.version); !behind.ok()) {
        return Refuse(std::move(behind));
      }
      cache_.ApplyDelta(message.users, message.tokens, message.version);
      reached_ = message.version;
      outcome.kind = Outcome::Kind::kDeltaApplied;
      return outcome;
    case FeedMessage::Kind::kUnknown:
      break;
  }
  return Refuse(absl::InternalError("a message of unknown kind"));
}

bool FeedApplier::StreamEnded() {
  const bool dropped = snapshot_ != nullptr;
  snapshot_.reset();
  snapshot_tokens_ = 0;
  return dropped;
}

absl::Status FeedApplier::Refuse(absl::Status status) {
  refused_ = true;
  StreamEnded();
  return status;
}

absl::Status FeedApplier::CheckNotBehind(const char* kind, int64_t version) const {
  // Equal is allowed: token-service splits one change batch into several
  // messages that may end at the same version.
  if (reached_.has_value() && version < *reached_) {
    return absl::FailedPreconditionError(absl::StrCat(kind, " at version ", version,
                                                      " after version ", *reached_,
                                                      " on the same stream: versions went back"));
  }
  return absl::OkStatus();
}

}  // namespace tokens::sidecar
