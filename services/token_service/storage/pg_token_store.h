#pragma once

#include "services/token_service/storage/pg_pool.h"
#include "services/token_service/domain/ports/token_store.h"

namespace tokens::service {

// TokenStore over PostgreSQL (schema: migrations/), through a PgPool.
class PgTokenStore final : public TokenStore {
 public:
  explicit PgTokenStore(PgPool& pool) : pool_(pool) {}

  absl::StatusOr<TokenAuthRecord> FindTokenForAuth(const TokenHash& hash) override;
  absl::StatusOr<User> GetUser(const std::string& user_id) override;
  absl::StatusOr<User> CreateUser(const User& user, const TokenEvent& event) override;
  absl::StatusOr<User> UpdateUser(const UserUpdate& update, const TokenEvent& event) override;
  absl::StatusOr<std::vector<User>> ListUsers(const UserQuery& query) override;
  absl::StatusOr<TokenRecord> InsertToken(const NewToken& token, const TokenEvent& event,
                                          std::optional<int> max_live_tokens) override;
  absl::StatusOr<TokenRecord> GetToken(const std::string& id) override;
  absl::StatusOr<TokenRecord> RevokeToken(const std::string& id, absl::Time now,
                                          const TokenEvent& event) override;
  absl::StatusOr<TokenRecord> RotateToken(const std::string& old_id, const NewToken& replacement,
                                          absl::Time now, const TokenEvent& event) override;
  absl::StatusOr<std::vector<TokenRecord>> ListTokens(const TokenQuery& query) override;
  absl::StatusOr<std::vector<TokenEvent>> ListEvents(const EventQuery& query) override;

 private:
  PgPool& pool_;
};

}  // namespace tokens::service
