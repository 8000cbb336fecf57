#pragma once

#include <optional>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/time/clock.h"
#include "common/token/token_codec.h"
#include "services/token_service/domain/model.h"
#include "services/token_service/storage/token_store.h"

namespace tokens::service {

// Turns the `authorization` metadata of a management call into the calling
// Principal. Failures are UNAUTHENTICATED with a short reason that never
// echoes the presented token: "missing bearer token", "malformed token",
// "unknown token", "token expired", "token revoked", "user disabled".
// A malformed token is rejected before any lookup.
class Authenticator {
 public:
  Authenticator(TokenStore& store, const TokenCodec& codec, const Clock& clock)
      : store_(store), codec_(codec), clock_(clock) {}

  absl::StatusOr<Principal> Authenticate(std::optional<absl::string_view> authorization) const;

 private:
  TokenStore& store_;
  const TokenCodec& codec_;
  const Clock& clock_;
};

}  // namespace tokens::service
