#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "services/token_service/domain/token_sync_manager.h"
#include "services/token_service/domain/ports/sync_store.h"
#include "tokens/v1/sync.pb.h"

// Domain values <-> tokens.v1 TokenSync messages. Nothing here decides
// anything.
namespace tokens::service {

// At most this many tokens go into one SyncTokensResponse, so that no
// message comes near gRPC's default 4 MB limit.
inline constexpr size_t kMaxTokensPerMessage = 1000;

void ToProto(const SyncedToken& token, v1::SyncedToken* out);
void ToProto(const SyncedUser& user, v1::SyncedUser* out);
void ToProto(const SyncLookup& lookup, v1::LookupTokenResponse* out);

// A snapshot chunk as SNAPSHOT messages of at most `max_tokens` tokens (one
// empty message for an empty chunk); each carries those of its tokens'
// owners that the chunk has and no earlier message of the chunk carried.
std::vector<v1::SyncTokensResponse> SnapshotMessages(const SnapshotChunk& chunk,
                                                     size_t max_tokens = kMaxTokensPerMessage);
v1::SyncTokensResponse SnapshotEndMessage(int64_t version);

// A batch as DELTA messages, rows in version order, at most `max_rows` rows
// each plus the owners of their tokens. Each message's `version` is one a
// caller can resume from once it has applied the message: every change of
// the batch up to it is in that message or an earlier one; the last
// message's is the batch's version.
std::vector<v1::SyncTokensResponse> DeltaMessages(const ChangeBatch& batch,
                                                  size_t max_rows = kMaxTokensPerMessage);

// The entries of a ReportUsage request. An unset last_used_at is left for
// the domain to refuse; one outside Timestamp's range is a FieldError on
// usages[i].last_used_at.
absl::StatusOr<std::vector<TokenSyncManager::UsageReport>> UsagesFromProto(
    const v1::ReportUsageRequest& request);

}  // namespace tokens::service
