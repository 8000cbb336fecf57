// The SyncStore contract against PgSyncStore, each test on a fresh, migrated
// database of the shared PostgreSQL, written to through PgTokenStore.
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "common/token/token_codec.h"
#include "services/token_service/storage/migrations.h"
#include "services/token_service/storage/pg_pool.h"
#include "services/token_service/storage/pg_sync_store.h"
#include "services/token_service/storage/pg_token_store.h"
#include "tests/services/token_service/storage/store_fixture.h"
#include "tests/services/token_service/storage/sync_store_contract.h"

namespace tokens::service::test_support {
namespace {

struct PgSyncStoreEnv {
  absl::Status SetUp() {
    absl::StatusOr<std::string> url = MigratedDatabase();
    if (!url.ok()) return url.status();
    pool = std::make_unique<PgPool>(*url, PgPool::Options{4});
    tokens = std::make_unique<PgTokenStore>(*pool);
    sync = std::make_unique<PgSyncStore>(*pool);
    return absl::OkStatus();
  }
  SyncStore& store() { return *sync; }

  void PutUser(const std::string& user_id, Role role, bool disabled) {
    const TokenEvent event{0, EventKind::kUserCreated, absl::Now(), "admin", user_id, "", "", "",
                           ""};
    if (tokens->GetUser(user_id).ok()) {
      UserUpdate update{user_id, std::nullopt, std::nullopt, role, disabled};
      ASSERT_TRUE(tokens->UpdateUser(update, event).ok());
      return;
    }
    ASSERT_TRUE(
        tokens->CreateUser(User{user_id, user_id, "", role, false, absl::Now()}, event).ok());
    if (disabled) PutUser(user_id, role, disabled);
  }
  void PutToken(const std::string& token_id, const std::string& user_id, absl::CivilDay expires_on,
                std::vector<std::string> scopes = {}) {
    const NewToken t{
        token_id, user_id,     "token " + token_id, TokenCodec::Hash("secret of " + token_id),
        "utk_…",  absl::Now(), expires_on,          std::move(scopes)};
    const TokenEvent event{
        0, EventKind::kTokenCreated, t.created_at, user_id, user_id, token_id, t.name, "", ""};
    absl::StatusOr<TokenRecord> inserted = tokens->InsertToken(t, event, std::nullopt);
    ASSERT_TRUE(inserted.ok()) << inserted.status();
  }
  void Revoke(const std::string& token_id) {
    const TokenEvent event{0, EventKind::kTokenRevoked, absl::Now(), "admin", "", token_id, "", "",
                           ""};
    ASSERT_TRUE(tokens->RevokeToken(token_id, absl::Now(), event).ok());
  }

  std::unique_ptr<PgPool> pool;
  std::unique_ptr<PgTokenStore> tokens;
  std::unique_ptr<PgSyncStore> sync;
};

INSTANTIATE_TYPED_TEST_SUITE_P(Pg, SyncStoreContract, ::testing::Types<PgSyncStoreEnv>);

}  // namespace
}  // namespace tokens::service::test_support
