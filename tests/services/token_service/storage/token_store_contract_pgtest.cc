// The TokenStore contract against PgTokenStore, each test on a fresh,
// migrated database of the shared PostgreSQL.
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "services/token_service/storage/migrations.h"
#include "services/token_service/storage/pg_pool.h"
#include "services/token_service/storage/pg_token_store.h"
#include "tests/services/token_service/storage/store_fixture.h"
#include "tests/services/token_service/storage/token_store_contract.h"

namespace tokens::service::test_support {
namespace {

struct PgTokenStoreEnv {
  absl::Status SetUp() {
    absl::StatusOr<std::string> url = MigratedDatabase();
    if (!url.ok()) return url.status();
    pool = std::make_unique<PgPool>(*url, PgPool::Options{4});
    pg = std::make_unique<PgTokenStore>(*pool);
    return absl::OkStatus();
  }
  TokenStore& store() { return *pg; }

  std::unique_ptr<PgPool> pool;
  std::unique_ptr<PgTokenStore> pg;
};

INSTANTIATE_TYPED_TEST_SUITE_P(Pg, TokenStoreContract, ::testing::Types<PgTokenStoreEnv>);

}  // namespace
}  // namespace tokens::service::test_support
