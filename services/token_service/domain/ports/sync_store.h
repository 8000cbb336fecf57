#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/token/token_codec.h"
#include "services/token_service/domain/model.h"

// The persistence boundary of the change feed (tokens.v1.TokenSync): what
// sidecars cache, read by change version, and the usage they report.
// PgSyncStore implements it over PostgreSQL; unit tests use fakes.
//
// Every row that a sidecar caches carries the change version of its last
// change. Versions are unique and commit in order, so "every row with a
// version above V, as of the highest version S visible" is a complete
// account of what changed in (V, S].
namespace tokens::service {

// A token as a sidecar caches it; never the secret.
struct SyncedToken {
  TokenHash hash{};
  std::string token_id;
  std::string user_id;
  absl::CivilDay expires_on;
  bool revoked = false;
  int64_t version = 0;
  std::vector<std::string> scopes = {};  // TokenRecord::scopes
};

// What a sidecar needs of a token's owner.
struct SyncedUser {
  std::string user_id;
  Role role = Role::kUser;
  bool disabled = false;
  int64_t version = 0;
};

// Part of a snapshot: tokens, and those of their owners that no earlier
// chunk of the same snapshot carried.
struct SnapshotChunk {
  std::vector<SyncedToken> tokens;
  std::vector<SyncedUser> users;
};

// Every change in (after_version, version]: each token whose version is in
// that range, each user whose version is, and the owners of those tokens
// (whatever their version). Rows are their full current state, so applying
// one twice is harmless. Tokens and users are each in version order.
struct ChangeBatch {
  int64_t after_version = 0;
  int64_t version = 0;
  std::vector<SyncedToken> tokens;
  std::vector<SyncedUser> users;

  bool empty() const { return tokens.empty() && users.empty(); }
};

// A token and its owner, for a sidecar's cache miss.
struct SyncLookup {
  SyncedToken token;
  SyncedUser user;
};

// One entry of a ReportUsage batch, validated.
struct TokenUsage {
  std::string token_id;  // a UUID
  absl::Time last_used_at;
  std::string client_address;  // empty: unknown
};

class SyncStore {
 public:
  virtual ~SyncStore() = default;

  // Receives a snapshot chunk by chunk; a non-OK status stops the snapshot
  // and is returned by Snapshot().
  using ChunkSink = std::function<absl::Status(SnapshotChunk chunk)>;

  // Streams every token that can still authenticate on `today` (not
  // revoked, expires_on > today), with its owner, to `sink`, all read in one
  // consistent view; returns the version S of that view. Chunks are bounded
  // in size, so the whole set never sits in memory.
  virtual absl::StatusOr<int64_t> Snapshot(absl::CivilDay today, const ChunkSink& sink) = 0;

  // The changes after `after_version`, read in one consistent view whose
  // version becomes the batch's `version` (below `after_version` if the
  // database never issued that version). With `max_rows` > 0, OUT_OF_RANGE
  // if more rows than that changed: a snapshot is cheaper then.
  virtual absl::StatusOr<ChangeBatch> ChangesSince(int64_t after_version, size_t max_rows) = 0;

  // The highest change version committed.
  virtual absl::StatusOr<int64_t> CurrentVersion() = 0;

  // The token with this hash and its owner; nullopt if there is none.
  virtual absl::StatusOr<std::optional<SyncLookup>> LookupToken(const TokenHash& hash) = 0;

  // Writes a batch of uses with one statement: per token, the latest use,
  // if later than the stored last use (never backwards; a retried batch
  // changes nothing). Unknown token ids are ignored. Returns how many
  // tokens' last use moved forward.
  virtual absl::StatusOr<int> RecordUsage(const std::vector<TokenUsage>& usages) = 0;
};

// Wakes the change hub when another transaction may have committed a change
// (PostgreSQL LISTEN/NOTIFY in production).
class ChangeListener {
 public:
  virtual ~ChangeListener() = default;

  // Blocks until a change may have committed (true), or `timeout` passed or
  // Interrupt() was called (false). Also true once after a lost connection
  // is re-established, since notifications may have been missed meanwhile.
  virtual bool Wait(absl::Duration timeout) = 0;

  // Makes a pending Wait, and every later one, return false at once; for
  // shutdown.
  virtual void Interrupt() = 0;
};

}  // namespace tokens::service
