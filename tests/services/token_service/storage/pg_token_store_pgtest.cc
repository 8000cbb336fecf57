// PgTokenStore and PgPool on their own (no gRPC, no domain) against a fresh,
// migrated database on a real PostgreSQL: races that only the database can
// arbitrate, values it cannot decode, and reconnecting after a restart. The
// cases every TokenStore must pass are in token_store_contract.h.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/status/field_error.h"
#include "common/time/civil_date.h"
#include "common/token/token_codec.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pqxx/pqxx"
#include "services/token_service/storage/migrations.h"
#include "services/token_service/storage/pg_pool.h"
#include "services/token_service/storage/pg_sync_store.h"
#include "services/token_service/storage/pg_token_store.h"
#include "tests/services/token_service/storage/store_fixture.h"
#include "tests/support/postgres_instance.h"

namespace tokens::service {
namespace {

using test_support::MigratedDatabase;
using test_support::NewUuid;
using test_support::RunConcurrently;
using test_support::StoreTest;
using test_support::Today;
using ::testing::ElementsAreArray;
using ::tokens::testing::PostgresInstance;
using ::tokens::testing::SqlColumn;

class PgTokenStoreTest : public StoreTest {};

TEST_F(PgTokenStoreTest, ConcurrentInsertsOfOneNameAdmitExactlyOne) {
  constexpr int kThreads = 32;
  std::vector<absl::Status> results(kThreads);
  std::vector<NewToken> tokens;
  for (int i = 0; i < kThreads; ++i) tokens.push_back(Token("alice", "ci-deploy"));
  RunConcurrently(kThreads, [&](int i) { results[i] = Insert(tokens[i]).status(); });

  int ok = 0;
  for (const absl::Status& s : results) {
    if (s.ok()) {
      ++ok;
      continue;
    }
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
    EXPECT_EQ(FieldOf(s), std::optional<std::string>("name")) << s;
  }
  EXPECT_EQ(ok, 1);
  EXPECT_THAT(SqlColumn(url_, "SELECT count(*) FROM tokens WHERE name = 'ci-deploy'"),
              ElementsAreArray({"1"}));
  // The losers' events rolled back with their rows.
  EXPECT_THAT(SqlColumn(url_, "SELECT count(*) FROM token_events WHERE kind = 'TOKEN_CREATED'"),
              ElementsAreArray({"1"}));

  // Another user may use the name; so may alice once the holder is revoked.
  CreateUser("bob");
  EXPECT_TRUE(Insert(Token("bob", "ci-deploy")).ok());
  const std::string winner = SqlColumn(
      url_, "SELECT id::text FROM tokens WHERE user_id = 'alice' AND name = 'ci-deploy'")[0];
  absl::StatusOr<TokenRecord> holder = store_->GetToken(winner);
  ASSERT_TRUE(holder.ok()) << holder.status();
  ASSERT_TRUE(Revoke(*holder).ok());
  EXPECT_TRUE(Insert(Token("alice", "ci-deploy")).ok());
}

TEST_F(PgTokenStoreTest, ConcurrentRevokesRecordOneEvent) {
  absl::StatusOr<TokenRecord> token = Insert(Token("alice", "revoke-me"));
  ASSERT_TRUE(token.ok()) << token.status();
  constexpr int kThreads = 16;
  std::vector<absl::StatusOr<TokenRecord>> results(kThreads);
  const absl::Time base = absl::Now();
  RunConcurrently(kThreads, [&](int i) { results[i] = Revoke(*token, base + absl::Seconds(i)); });

  std::set<int64_t> revoked_at;
  for (const auto& r : results) {
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_TRUE(r->revoked_at.has_value());
    revoked_at.insert(absl::ToUnixMicros(*r->revoked_at));
  }
  // Every caller sees the one revocation that won.
  EXPECT_EQ(revoked_at.size(), 1u);
  EXPECT_EQ(CountEvents("TOKEN_REVOKED", "token_id", token->id), 1);

  absl::StatusOr<TokenRecord> again = Revoke(*token);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(absl::ToUnixMicros(*again->revoked_at), *revoked_at.begin());
  EXPECT_EQ(CountEvents("TOKEN_REVOKED", "token_id", token->id), 1);

  EXPECT_EQ(Revoke(TokenRecord{NewUuid(), "x", "", "alice", "", base, std::nullopt, "", Today(),
                               std::nullopt})
                .status()
                .code(),
            absl::StatusCode::kNotFound);
}

TEST_F(PgTokenStoreTest, RotateRacingRevokeIsConsistent) {
  int rotated_first = 0;
  int revoked_first = 0;
  for (int round = 0; round < 30; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    const std::string name = absl::StrCat("race-", round);
    absl::StatusOr<TokenRecord> old = Insert(Token("alice", name));
    ASSERT_TRUE(old.ok()) << old.status();
    const NewToken replacement = Token("alice", name, absl::Now(), 30);

    absl::StatusOr<TokenRecord> rotate_result;
    absl::StatusOr<TokenRecord> revoke_result;
    RunConcurrently(2, [&](int i) {
      // Alternate who gets the head start of the scheduler.
      if ((i + round) % 2 == 0) {
        rotate_result = Rotate(*old, replacement, absl::Now());
      } else {
        revoke_result = Revoke(*old);
      }
    });

    ASSERT_TRUE(revoke_result.ok()) << revoke_result.status();
    EXPECT_TRUE(revoke_result->revoked_at.has_value());
    absl::StatusOr<TokenRecord> old_now = store_->GetToken(old->id);
    ASSERT_TRUE(old_now.ok()) << old_now.status();
    EXPECT_TRUE(old_now->revoked_at.has_value()) << "the old token is still live";
    absl::StatusOr<TokenRecord> fresh = store_->GetToken(replacement.id);
    const int rotations = CountEvents("TOKEN_ROTATED", "previous_token_id", old->id);
    const int revocations = CountEvents("TOKEN_REVOKED", "token_id", old->id);

    if (rotate_result.ok()) {
      // Rotated, then the revoke found nothing left to do.
      ++rotated_first;
      ASSERT_TRUE(fresh.ok()) << fresh.status();
      EXPECT_FALSE(fresh->revoked_at.has_value());
      EXPECT_EQ(fresh->name, name);
      EXPECT_EQ(fresh->expires_on, old->expires_on);
      EXPECT_EQ(rotations, 1);
      EXPECT_EQ(revocations, 0);
      EXPECT_EQ(revoke_result->revoked_at, old_now->revoked_at);
    } else {
      // Revoked, then the rotation refused a token that is no longer ACTIVE.
      ++revoked_first;
      EXPECT_EQ(rotate_result.status().code(), absl::StatusCode::kFailedPrecondition)
          << rotate_result.status();
      EXPECT_EQ(fresh.status().code(), absl::StatusCode::kNotFound) << "half a rotation";
      EXPECT_EQ(rotations, 0);
      EXPECT_EQ(revocations, 1);
    }
    EXPECT_THAT(SqlColumn(url_, absl::StrCat("SELECT count(*) FROM tokens WHERE name = '", name,
                                             "' AND revoked_at IS NULL")),
                ElementsAreArray({rotate_result.ok() ? "1" : "0"}));
  }
  // Both orders are legal; which ones occurred is up to the scheduler.
  EXPECT_EQ(rotated_first + revoked_first, 30);
}

// Values the code cannot decode, written past the schema's own checks (as
// a broken migration or a newer writer could): INTERNAL, never a default.
class PgTokenStoreDecodingTest : public StoreTest {
 protected:
  void Sql(const std::string& statement) {
    pqxx::connection conn(url_);
    pqxx::work txn(conn);
    txn.exec0(statement);
    txn.commit();
  }
};

TEST_F(PgTokenStoreDecodingTest, UnknownRoleIsInternal) {
  const NewToken row = Token("alice", "ci");
  ASSERT_TRUE(Insert(row).ok());
  Sql("ALTER TABLE users DROP CONSTRAINT users_role_check");
  Sql("UPDATE users SET role = 'OWNER' WHERE user_id = 'alice'");
  EXPECT_EQ(store_->GetUser("alice").status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(store_->FindTokenForAuth(row.hash).status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(store_->ListUsers(UserQuery{}).status().code(), absl::StatusCode::kInternal);
  PgSyncStore sync(*pool_);
  EXPECT_EQ(sync.LookupToken(row.hash).status().code(), absl::StatusCode::kInternal);
}

TEST_F(PgTokenStoreDecodingTest, UnknownEventKindIsInternal) {
  Sql("UPDATE token_events SET kind = 'USER_EXPLODED'");
  EXPECT_EQ(store_->ListEvents(EventQuery{}).status().code(), absl::StatusCode::kInternal);
}

TEST_F(PgTokenStoreDecodingTest, HashOfTheWrongLengthIsInternal) {
  const NewToken row = Token("alice", "ci");
  ASSERT_TRUE(Insert(row).ok());
  Sql("ALTER TABLE tokens DROP CONSTRAINT tokens_token_hash_check");
  Sql("UPDATE tokens SET token_hash = '\\x0102'");
  PgSyncStore sync(*pool_);
  EXPECT_EQ(sync.ChangesSince(0, 0).status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(sync.Snapshot(Today(), [](SnapshotChunk) { return absl::OkStatus(); }).status().code(),
            absl::StatusCode::kInternal);
}

TEST_F(PgTokenStoreDecodingTest, DateWithoutADayIsInternal) {
  const NewToken row = Token("alice", "ci");
  ASSERT_TRUE(Insert(row).ok());
  Sql("UPDATE tokens SET expires_on = 'infinity'");
  EXPECT_EQ(store_->GetToken(row.id).status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(store_->FindTokenForAuth(row.hash).status().code(), absl::StatusCode::kInternal);
}

// A PgPool on a server of its own, which the test stops and restarts.
class PgPoolRestartTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<PostgresInstance>> pg = PostgresInstance::Start();
    ASSERT_TRUE(pg.ok()) << pg.status();
    pg_ = *std::move(pg);
    absl::StatusOr<std::string> url = MigratedDatabase(*pg_);
    ASSERT_TRUE(url.ok()) << url.status();
    url_ = *url;
  }

  absl::Status Select1(PgPool& pool) {
    return pool.Transact("test select", [](pqxx::work& txn) {
      txn.exec1("SELECT 1");
      return absl::OkStatus();
    });
  }

  // Opens `n` connections of `pool` at once (each held by a transaction
  // that sleeps a little), so that all of them go stale on a restart.
  void OpenConnections(PgPool& pool, int n) {
    std::vector<absl::Status> results(n);
    RunConcurrently(n, [&](int i) {
      results[i] = pool.Transact("hold", [](pqxx::work& txn) {
        txn.exec1("SELECT pg_sleep(0.2)");
        return absl::OkStatus();
      });
    });
    for (const absl::Status& s : results) ASSERT_TRUE(s.ok()) << s;
    ASSERT_THAT(SqlColumn(url_, "SELECT count(*) >= " + std::to_string(n) +
                                    " FROM pg_stat_activity WHERE datname = current_database()"),
                ElementsAreArray({"t"}));
  }

  std::unique_ptr<PostgresInstance> pg_;
  std::string url_;
};

TEST_F(PgPoolRestartTest, FirstCallAfterARestartSucceedsOnStaleConnections) {
  for (int size : {1, 4}) {
    SCOPED_TRACE(absl::StrCat("pool size ", size));
    PgPool pool(url_, PgPool::Options{size});
    PgTokenStore store(pool);
    ASSERT_NO_FATAL_FAILURE(OpenConnections(pool, size));

    ASSERT_TRUE(pg_->Stop().ok());
    ASSERT_TRUE(pg_->Restart().ok());

    // Every pooled connection is stale now; each must be replaced
    // transparently, starting with the very first call, and including the
    // ones only concurrent calls reach.
    absl::Status first = Select1(pool);
    EXPECT_TRUE(first.ok()) << first;
    ASSERT_NO_FATAL_FAILURE(OpenConnections(pool, size));
    absl::StatusOr<User> user = store.GetUser("nobody");
    EXPECT_EQ(user.status().code(), absl::StatusCode::kNotFound) << user.status();
  }
}

TEST_F(PgPoolRestartTest, CallsDuringAnOutageAreUnavailableThenRecover) {
  PgPool pool(url_, PgPool::Options{2});
  PgTokenStore store(pool);
  ASSERT_NO_FATAL_FAILURE(OpenConnections(pool, 2));

  ASSERT_TRUE(pg_->Stop().ok());
  for (int i = 0; i < 3; ++i) {
    absl::Status down = Select1(pool);
    EXPECT_EQ(down.code(), absl::StatusCode::kUnavailable) << down;
    EXPECT_EQ(store.GetUser("x").status().code(), absl::StatusCode::kUnavailable);
  }
  ASSERT_TRUE(pg_->Restart().ok());
  absl::Status first = Select1(pool);
  EXPECT_TRUE(first.ok()) << first;
  EXPECT_EQ(store.GetUser("x").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace tokens::service
