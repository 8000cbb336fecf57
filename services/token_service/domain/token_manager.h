#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/time/clock.h"
#include "common/token/random.h"
#include "common/token/token_codec.h"
#include "services/token_service/domain/access_policy.h"
#include "services/token_service/domain/issue_rate_limiter.h"
#include "services/token_service/domain/model.h"
#include "services/token_service/domain/ports/token_store.h"

namespace tokens::service {

struct TokenManagerOptions {
  // How far ahead an expiry date may be.
  int max_token_lifetime_days = 365;
  // Live (ACTIVE) tokens one user may hold; see TokenStore::InsertToken.
  int max_live_tokens_per_user = 100;
  // Tokens issued (created or rotated) per caller: a minute's rate after a
  // burst; see IssueRateLimiter.
  double token_create_rate = 30;
  double token_create_burst = 60;
  // The key that seals page tokens (see PageTokenCodec); empty: this
  // process's random key.
  std::string page_token_key = "";
  // The scopes a token may have (--token_scopes), in the operator's order;
  // empty: tokens have no scopes.
  std::vector<std::string> scope_catalogue = {};
};

// The token use cases behind TokenService: input rules, secrets generated
// and hashed, audit events written. Knows nothing of gRPC or SQL.
//
// Who may call what on whose tokens is AccessPolicy's (a USER sees only own
// tokens and events, and another user's token is NOT_FOUND; an ADMIN sees
// all; a SERVICE caller has only GetProfile here). Each method asks it once
// it knows the request's scope, before anything else is checked or read.
//
// Issuing (CreateToken, RotateToken) is bound by the caller's own token: a
// token never issues one that expires after itself, for anyone (so revoking
// a token, or letting it expire, leaves nothing it made that lives on); no
// new secret is issued for a disabled user; each user holds at most
// max_live_tokens_per_user ACTIVE tokens; and each caller is rate-limited.
// A token that has scopes issues only tokens with scopes it holds itself
// (never one without scopes, which would have the user's full access), and
// rotates only such tokens.
class TokenManager {
 public:
  TokenManager(TokenStore& store, const TokenCodec& codec, const Clock& clock, RandomSource& random,
               TokenManagerOptions options);

  struct CreateRequest {
    std::string name;
    std::string expires_on;
    std::string user_id;                   // admins only; empty: the caller
    std::vector<std::string> scopes = {};  // from the catalogue; empty: full access
  };
  // A new token and its secret, the only time the secret exists.
  struct IssuedToken {
    TokenRecord token;
    std::string secret;
  };
  absl::StatusOr<IssuedToken> CreateToken(const Principal& caller, const CreateRequest& request);

  struct ListRequest {
    int page_size = 0;
    std::string page_token;
    bool all_users = false;
    std::string user_id;
    std::optional<TokenStatus> status;
    std::string name_contains;
    std::string expires_before;
  };
  struct TokenPage {
    std::vector<TokenRecord> tokens;
    std::string next_page_token;
  };
  absl::StatusOr<TokenPage> ListTokens(const Principal& caller, const ListRequest& request);

  absl::StatusOr<TokenRecord> GetToken(const Principal& caller, const std::string& id);
  absl::StatusOr<TokenRecord> RevokeToken(const Principal& caller, const std::string& id);
  absl::StatusOr<IssuedToken> RotateToken(const Principal& caller, const std::string& id);

  absl::StatusOr<User> GetProfile(const Principal& caller);
  // The latest expiry date a token the caller creates now may have: the
  // lifetime limit, and no later than the caller's own token's expiry.
  absl::CivilDay LatestExpiryFor(const Principal& caller) const;
  // The scope catalogue, for any caller with a token.
  absl::StatusOr<std::vector<std::string>> ListScopes(const Principal& caller) const;

  struct EventListRequest {
    int page_size = 0;
    std::string page_token;
    std::string user_id;
    std::string token_id;
  };
  struct EventPage {
    std::vector<TokenEvent> events;
    std::string next_page_token;
  };
  absl::StatusOr<EventPage> ListEvents(const Principal& caller, const EventListRequest& request);

 private:
  // Issues the operator's token through Issue(), unbound, within the
  // configured lifetime.
  friend class Bootstrap;

  // What binds a token issued on behalf of a caller's token.
  struct CallerBound {
    std::string user_id;  // whose rate it counts against
    absl::CivilDay token_expires_on;
    std::vector<std::string> token_scopes;  // empty: the user's full access
  };
  // Validates the name and expiry, then stores a new token of `owner`;
  // without a bound (the bootstrap commands), the input rules apply and the
  // caller-bound ones (expiry, cap, rate) do not.
  absl::StatusOr<IssuedToken> Issue(const std::string& actor, const std::string& owner,
                                    const std::string& name, const std::string& expires_on,
                                    const std::vector<std::string>& scopes,
                                    const std::optional<CallerBound>& bound);
  // OK if a token with `scopes` may be issued on behalf of `bound`'s token:
  // a token without scopes issues anything; one with scopes only tokens
  // whose (non-empty) scopes it holds.
  static absl::Status CheckScopesWithin(const CallerBound& bound,
                                        const std::vector<std::string>& scopes);
  // The caller's bound; INTERNAL for a Principal not made from a token.
  absl::StatusOr<CallerBound> BoundOf(const Principal& caller) const;
  // The token `id` if the policy lets `caller` do `action` to it.
  absl::StatusOr<TokenRecord> VisibleToken(const Principal& caller, Action action,
                                           const std::string& id);
  // A fresh secret and the row that stores it (without the secret).
  std::pair<std::string, NewToken> Mint(const std::string& user_id, const std::string& name,
                                        absl::CivilDay expires_on,
                                        const std::vector<std::string>& scopes, absl::Time now);
  TokenRecord WithStatus(TokenRecord token, absl::Time now) const;

  TokenStore& store_;
  const TokenCodec& codec_;
  const Clock& clock_;
  RandomSource& random_;
  const TokenManagerOptions options_;
  IssueRateLimiter issue_rate_;
};

}  // namespace tokens::service
