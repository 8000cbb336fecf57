// The SyncStore contract against FakeSyncStore: what the domain tests rely
// on is what PgSyncStore does (sync_store_contract_pgtest.cc).
#include "tests/services/token_service/storage/sync_store_contract.h"

#include <string>

#include "absl/status/status.h"
#include "tests/services/token_service/domain/fake_sync_store.h"

namespace tokens::service::test_support {
namespace {

struct FakeSyncStoreEnv {
  absl::Status SetUp() { return absl::OkStatus(); }
  SyncStore& store() { return fake; }
  void PutUser(const std::string& user_id, Role role, bool disabled) {
    fake.PutUser(user_id, role, disabled);
  }
  void PutToken(const std::string& token_id, const std::string& user_id, absl::CivilDay expires_on,
                std::vector<std::string> scopes = {}) {
    fake.PutToken(token_id, user_id, expires_on, std::move(scopes));
  }
  void Revoke(const std::string& token_id) { fake.Revoke(token_id); }

  // Chunks of two, so that owners are seen across chunks.
  FakeSyncStore fake{2};
};

INSTANTIATE_TYPED_TEST_SUITE_P(Fake, SyncStoreContract, ::testing::Types<FakeSyncStoreEnv>);

}  // namespace
}  // namespace tokens::service::test_support
