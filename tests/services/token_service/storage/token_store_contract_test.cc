// The TokenStore contract against FakeTokenStore: what the domain tests rely
// on is what PgTokenStore does (token_store_contract_pgtest.cc).
#include "tests/services/token_service/storage/token_store_contract.h"

#include "absl/status/status.h"
#include "tests/services/token_service/domain/fake_token_store.h"

namespace tokens::service::test_support {
namespace {

struct FakeTokenStoreEnv {
  absl::Status SetUp() { return absl::OkStatus(); }
  TokenStore& store() { return fake; }
  FakeTokenStore fake;
};

INSTANTIATE_TYPED_TEST_SUITE_P(Fake, TokenStoreContract, ::testing::Types<FakeTokenStoreEnv>);

}  // namespace
}  // namespace tokens::service::test_support
