#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/time/clock.h"
#include "common/token/random.h"
#include "common/token/token_codec.h"
#include "services/token_service/domain/model.h"
#include "services/token_service/storage/token_store.h"

namespace tokens::service {

struct TokenManagerOptions {
  // How far ahead an expiry date may be.
  int max_token_lifetime_days = 365;
};

// The token use cases behind TokenService: who may do what to which token,
// input rules, secrets generated and hashed, audit events written. Knows
// nothing of gRPC or SQL.
//
// Visibility: a USER sees only own tokens and events, and another user's
// token is NOT_FOUND; an ADMIN sees all; a SERVICE caller may not use these
// methods (PERMISSION_DENIED) except GetProfile: its API is TokenSync (see
// TokenSyncManager).
class TokenManager {
 public:
  TokenManager(TokenStore& store, const TokenCodec& codec, const Clock& clock, RandomSource& random,
               TokenManagerOptions options);

  struct CreateRequest {
    std::string name;
    std::string expires_on;
    std::string user_id;  // admins only; empty: the caller
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
  // The token `id` if `caller` may see it, else NOT_FOUND.
  absl::StatusOr<TokenRecord> VisibleToken(const Principal& caller, const std::string& id);
  // A fresh secret and the row that stores it (without the secret).
  std::pair<std::string, NewToken> Mint(const std::string& user_id, const std::string& name,
                                        absl::CivilDay expires_on, absl::Time now);
  std::string NewUuid();
  TokenRecord WithStatus(TokenRecord token, absl::Time now) const;

  TokenStore& store_;
  const TokenCodec& codec_;
  const Clock& clock_;
  RandomSource& random_;
  const TokenManagerOptions options_;
};

// Refuses SERVICE callers: that role exists for the sidecar's sync calls.
absl::Status RequireHuman(const Principal& caller);
// Refuses anyone but ADMIN.
absl::Status RequireAdmin(const Principal& caller);
// Refuses anyone but SERVICE: the TokenSync API is the sidecars'.
absl::Status RequireService(const Principal& caller);

}  // namespace tokens::service
