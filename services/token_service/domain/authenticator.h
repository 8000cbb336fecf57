#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/auth/deny_reason.h"
#include "common/time/clock.h"
#include "common/token/token_codec.h"
#include "services/token_service/domain/model.h"
#include "services/token_service/domain/ports/token_store.h"

namespace tokens::service {

struct AuthenticatorOptions {
  // How long a token that fails for good is remembered (no such token, or
  // revoked, or expired): presented again, it is answered the same without
  // a lookup. A token's secret is born with it, so no hash presented before
  // can become a valid token; a revocation or an expiry is never undone. A
  // disabled user's tokens are not remembered: the user may be enabled.
  absl::Duration remember_failures_for = absl::Seconds(10);
  size_t max_remembered = 100000;  // the oldest are forgotten first
  // Failed authentications one client may cause by lookups (an unknown,
  // revoked or expired token, a disabled user): a token bucket of this
  // sustained rate and burst. A client over it is answered
  // RESOURCE_EXHAUSTED, without a lookup, for any token not remembered.
  // 0: no limit.
  double failures_per_second_per_client = 5;
  double failure_burst_per_client = 50;
  // Bound on the clients tracked. Idle ones (bucket full again) are
  // forgotten first; while the table stays full, the clients it cannot
  // hold share one bucket, with the clients that have no IP address.
  size_t max_tracked_clients = 10000;
};

// Turns the `authorization` metadata of a management call into the calling
// Principal. Failures are UNAUTHENTICATED with the DenyReason's message
// (common/auth/deny_reason.h), which never echoes the presented token:
// "missing bearer token", "malformed token", "unknown token", "token
// revoked", "token expired", "user disabled"; or RESOURCE_EXHAUSTED when the
// client has caused too many failed lookups. A malformed token is rejected
// before any lookup. A token that exists is judged by Decide
// (common/auth/decide.h), as the sidecar judges it.
//
// The client is the caller's IP address as the server sees it; IPv6
// addresses count per /64, which one host usually holds whole. Behind a NAT
// or a proxy that terminates connections, every client behind it is one
// client here: one guesser there also slows the others down (they get
// RESOURCE_EXHAUSTED, never a wrong answer). TCP makes a spoofed source
// address useless for a call, but a guesser with many addresses gets a
// budget for each: the limit bounds what one address costs, not what a
// distributed guesser costs (at most the table's clients, each at the rate).
//
// Thread-safe.
class Authenticator {
 public:
  Authenticator(TokenStore& store, const TokenCodec& codec, const Clock& clock,
                AuthenticatorOptions options = {});
  ~Authenticator();

  // `client_address`: the caller's IP address as text; anything else
  // (empty: unknown) is a caller without one, and all of those share one
  // budget.
  absl::StatusOr<Principal> Authenticate(std::optional<absl::string_view> authorization,
                                         absl::string_view client_address = {}) const;

  // Counters for metrics and tests.
  struct Stats {
    uint64_t lookups = 0;        // tokens looked up in the store
    uint64_t missing = 0;        // no bearer token
    uint64_t malformed = 0;      // not a well-formed token: no lookup
    uint64_t unknown = 0;        // no such token (looked up or remembered)
    uint64_t revoked = 0;        // (looked up or remembered)
    uint64_t expired = 0;        // (looked up or remembered)
    uint64_t user_disabled = 0;  // (looked up)
    uint64_t remembered = 0;     // unknown, revoked, expired answered without a lookup
    uint64_t rate_limited = 0;   // RESOURCE_EXHAUSTED: no lookup
  };
  Stats stats() const;

 private:
  struct Limits;
  // Looks the token up and applies Decide; sets `denied` for a token that
  // authenticates no one (a store error is none of those).
  absl::StatusOr<Principal> Check(const TokenHash& hash, std::optional<DenyReason>* denied) const;

  TokenStore& store_;
  const TokenCodec& codec_;
  const Clock& clock_;
  const std::unique_ptr<Limits> limits_;
};

}  // namespace tokens::service
