#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/civil_time.h"
#include "common/token/token_codec.h"
#include "sidecar/domain/model.h"

// Every live token's hash in memory, fed by the TokenSync stream.
//
// Readers (every Check / Authenticate) never block and never wait for the
// writer: lookups are lock-free. Writers (the sync stream, and cache-miss
// lookups) are serialized among themselves by an internal mutex. A hit costs
// one hash-table probe plus reading the owner's state; no I/O.
namespace tokens::sidecar {

// A cached token: Decide's facts and its interned scopes.
struct CachedToken : TokenFacts {
  const ScopeSet* scopes = &ScopeSet::None();  // never null; lives as long as the cache
};

class TokenCache {
 public:
  // Accumulates a full snapshot off to the side while the current contents
  // keep serving; Publish() swaps it in at once.
  class SnapshotBuilder {
   public:
    virtual ~SnapshotBuilder() = default;
    virtual void AddUser(const SyncedUser& user) = 0;
    // Revoked tokens are ignored.
    virtual void AddToken(const SyncedToken& token) = 0;
  };

  TokenCache();
  ~TokenCache();
  TokenCache(const TokenCache&) = delete;
  TokenCache& operator=(const TokenCache&) = delete;

  // Reader side ------------------------------------------------------------

  // The token with this hash, if cached, joined with its owner's current
  // state (never revoked: revoked tokens are not kept). Does not look at
  // expiry or the owner: the caller decides (Decide) with its clock.
  std::optional<CachedToken> Find(const TokenHash& hash) const;

  // The interned set of `names` (in any order, repeats allowed): the one
  // every cached token with these scopes points at. It lives as long as the
  // cache. Takes a mutex of its own (not the writer's): for scopes that did
  // not come through the cache, such as a LookupToken answer.
  const ScopeSet* InternScopes(const std::vector<std::string>& names) const;

  // Writer side ------------------------------------------------------------

  std::unique_ptr<SnapshotBuilder> StartSnapshot() const;
  // Replaces everything with the builder's contents, as of `version`.
  void Publish(std::unique_ptr<SnapshotBuilder> snapshot, int64_t version);

  // Applies changes up to `version`: users are upserted; tokens are upserted,
  // or removed when revoked. A user or token whose version is older than the
  // one cached is ignored.
  void ApplyDelta(const std::vector<SyncedUser>& users, const std::vector<SyncedToken>& tokens,
                  int64_t version);

  // Adds a token learned from LookupToken, unless the feed has already
  // reached its version (then the feed knows better: the token may have been
  // revoked since). The user is applied if newer than the cached one.
  // Returns whether the token was added.
  bool InsertLookedUp(const SyncedUser& user, const SyncedToken& token);

  // The change version the cache reflects; 0 until the first Publish().
  int64_t version() const;
  // True once a snapshot has been published.
  bool loaded() const;
  size_t size() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tokens::sidecar
