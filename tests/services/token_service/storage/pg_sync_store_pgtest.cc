// PgSyncStore and PgChangeListener against a fresh, migrated database on a
// real PostgreSQL: change versions that commit in version order, snapshot
// and change reads, set-based usage writes, lookups by hash, and
// LISTEN/NOTIFY including a lost listener connection.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/time/civil_date.h"
#include "common/token/token_codec.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pqxx/pqxx"
#include "services/token_service/storage/change_listener.h"
#include "services/token_service/storage/pg_sync_store.h"
#include "tests/services/token_service/storage/store_fixture.h"

namespace tokens::service {
namespace {

using test_support::StoreTest;
using test_support::Today;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;
using ::tokens::testing::SqlColumn;

// Generous: only ever reached when something is broken.
constexpr absl::Duration kPatience = absl::Seconds(30);

// Polls `condition` until it holds or kPatience passes; returns whether it held.
template <typename Condition>
bool Eventually(Condition condition) {
  const absl::Time deadline = absl::Now() + kPatience;
  while (!condition()) {
    if (absl::Now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

std::vector<std::string> TokenIds(const std::vector<SyncedToken>& tokens) {
  std::vector<std::string> ids;
  for (const SyncedToken& t : tokens) ids.push_back(t.token_id);
  return ids;
}

std::vector<std::string> UserIds(const std::vector<SyncedUser>& users) {
  std::vector<std::string> ids;
  for (const SyncedUser& u : users) ids.push_back(u.user_id);
  return ids;
}

// Inserts a token of `user_id` with plain SQL on `txn`; returns its version.
int64_t InsertBySql(pqxx::transaction_base& txn, const std::string& user_id,
                    const std::string& name) {
  return txn
      .exec_params1(
          "INSERT INTO tokens (id, user_id, name, token_hash, hint, created_at, expires_on)"
          " VALUES (gen_random_uuid(), $1, $2::text, sha256(convert_to($2::text, 'UTF8')), 'h', "
          "now(),"
          " current_date + 30)"
          " RETURNING version",
          user_id, name)[0]
      .as<int64_t>();
}

class PgSyncStoreTest : public StoreTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(StoreTest::SetUp());
    sync_ = std::make_unique<PgSyncStore>(*pool_);
  }

  int64_t Version() {
    absl::StatusOr<int64_t> version = sync_->CurrentVersion();
    EXPECT_TRUE(version.ok()) << version.status();
    return version.value_or(-1);
  }

  int64_t RowVersion(const std::string& table, const std::string& key_column,
                     const std::string& key) {
    return std::stoll(SqlColumn(url_, absl::StrCat("SELECT version FROM ", table, " WHERE ",
                                                   key_column, " = '", key, "'"))[0]);
  }
  int64_t TokenVersion(const std::string& id) { return RowVersion("tokens", "id", id); }
  int64_t UserVersion(const std::string& id) { return RowVersion("users", "user_id", id); }

  TokenRecord MustInsert(const std::string& user_id, const std::string& name, int days = 30) {
    absl::StatusOr<TokenRecord> token = Insert(Token(user_id, name, absl::Now(), days));
    EXPECT_TRUE(token.ok()) << token.status();
    return token.value_or(TokenRecord{});
  }

  void MustUpdate(UserUpdate update) {
    const TokenEvent event{
        0, EventKind::kUserUpdated, absl::Now(), "admin", update.user_id, "", "", "", "test"};
    absl::StatusOr<User> user = store_->UpdateUser(update, event);
    ASSERT_TRUE(user.ok()) << user.status();
  }

  // Makes the token expired: its expiry date becomes today.
  void Expire(const std::string& id) {
    SqlColumn(url_, absl::StrCat("UPDATE tokens SET expires_on = (now() AT TIME ZONE 'UTC')::date"
                                 " WHERE id = '",
                                 id, "' RETURNING id"));
  }

  std::vector<SnapshotChunk> MustSnapshot(int64_t* version = nullptr) {
    std::vector<SnapshotChunk> chunks;
    absl::StatusOr<int64_t> end = sync_->Snapshot(Today(), [&](SnapshotChunk chunk) {
      chunks.push_back(std::move(chunk));
      return absl::OkStatus();
    });
    EXPECT_TRUE(end.ok()) << end.status();
    if (version != nullptr) *version = end.value_or(-1);
    return chunks;
  }

  std::unique_ptr<PgSyncStore> sync_;
};

// ---------------------------------------------------------------------------
// Versions

TEST_F(PgSyncStoreTest, EveryCachedChangeTakesANewVersionAndNothingElseDoes) {
  const int64_t start = Version();
  CreateUser("bob");
  const int64_t bob_created = UserVersion("bob");
  EXPECT_GT(bob_created, start);
  EXPECT_EQ(Version(), bob_created);

  const TokenRecord token = MustInsert("bob", "t");
  const int64_t inserted = TokenVersion(token.id);
  EXPECT_GT(inserted, bob_created);

  ASSERT_TRUE(Revoke(token).ok());
  const int64_t revoked = TokenVersion(token.id);
  EXPECT_GT(revoked, inserted);

  // Names and emails are not cached: no new version.
  UserUpdate rename;
  rename.user_id = "bob";
  rename.display_name = "Robert";
  rename.email = "robert@example.com";
  MustUpdate(rename);
  EXPECT_EQ(UserVersion("bob"), bob_created);
  SqlColumn(url_, absl::StrCat("UPDATE tokens SET name = 'renamed' WHERE id = '", token.id,
                               "' RETURNING id"));
  EXPECT_EQ(TokenVersion(token.id), revoked);
  // Setting a role or flag to the value it has is no change either.
  UserUpdate same;
  same.user_id = "bob";
  same.role = Role::kUser;
  same.disabled = false;
  MustUpdate(same);
  EXPECT_EQ(UserVersion("bob"), bob_created);
  EXPECT_EQ(Version(), revoked);

  UserUpdate promote;
  promote.user_id = "bob";
  promote.role = Role::kAdmin;
  MustUpdate(promote);
  const int64_t promoted = UserVersion("bob");
  EXPECT_GT(promoted, revoked);
  UserUpdate disable;
  disable.user_id = "bob";
  disable.disabled = true;
  MustUpdate(disable);
  EXPECT_GT(UserVersion("bob"), promoted);

  const TokenRecord other = MustInsert("alice", "other");
  const int64_t before_expiry = TokenVersion(other.id);
  Expire(other.id);
  EXPECT_GT(TokenVersion(other.id), before_expiry);

  // Usage is not cached by version either.
  const int64_t before_usage = Version();
  absl::StatusOr<int> used = sync_->RecordUsage({{other.id, absl::Now(), "10.0.0.1"}});
  ASSERT_TRUE(used.ok()) << used.status();
  EXPECT_EQ(*used, 1);
  EXPECT_EQ(Version(), before_usage);
}

TEST_F(PgSyncStoreTest, VersionedWritersCommitInVersionOrder) {
  const int64_t start = Version();
  pqxx::connection first_conn(url_);
  pqxx::work first(first_conn);
  const int64_t first_version = InsertBySql(first, "alice", "first");
  EXPECT_GT(first_version, start);

  // A second writer, started after the first took its version, must wait
  // for the first to commit before it can take one.
  std::atomic<bool> second_done{false};
  int64_t second_version = 0;
  std::thread second_writer([&] {
    pqxx::connection conn(url_);
    pqxx::work second(conn);
    second_version = InsertBySql(second, "alice", "second");
    second.commit();
    second_done = true;
  });
  const bool waiting = Eventually([&] {
    return SqlColumn(url_,
                     "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                     " AND wait_event_type = 'Lock' AND wait_event = 'advisory'")[0] == "1";
  });
  EXPECT_TRUE(waiting) << "the second writer never waited for the first";
  EXPECT_FALSE(second_done.load());

  // Meanwhile a reader sees neither change: the first is uncommitted, the
  // second has no version yet.
  absl::StatusOr<ChangeBatch> during = sync_->ChangesSince(start, 0);
  ASSERT_TRUE(during.ok()) << during.status();
  EXPECT_EQ(during->version, start);
  EXPECT_TRUE(during->empty());

  first.commit();
  second_writer.join();
  EXPECT_TRUE(second_done.load());
  EXPECT_GT(second_version, first_version);
  absl::StatusOr<ChangeBatch> after = sync_->ChangesSince(start, 0);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->version, second_version);
  ASSERT_EQ(after->tokens.size(), 2u);
  EXPECT_EQ(after->tokens[0].version, first_version);
  EXPECT_EQ(after->tokens[1].version, second_version);
}

// ---------------------------------------------------------------------------
// Snapshot

TEST_F(PgSyncStoreTest, SnapshotHasEveryTokenThatCanStillAuthenticateWithItsOwner) {
  const TokenRecord active = MustInsert("alice", "active");
  const TokenRecord tomorrow = MustInsert("alice", "expires tomorrow", 1);
  const TokenRecord revoked = MustInsert("alice", "revoked");
  ASSERT_TRUE(Revoke(revoked).ok());
  const TokenRecord expired = MustInsert("alice", "expired");
  Expire(expired.id);
  const TokenRecord rotated = MustInsert("alice", "rotated");
  const NewToken replacement = Token("alice", "rotated");
  ASSERT_TRUE(Rotate(rotated, replacement, absl::Now()).ok());
  // A disabled user's tokens are in: the user may be enabled again.
  CreateUser("bob");
  const TokenRecord bobs = MustInsert("bob", "bob's");
  UserUpdate disable;
  disable.user_id = "bob";
  disable.disabled = true;
  MustUpdate(disable);
  // A user without a live token is not.
  CreateUser("carol");
  const TokenRecord carols = MustInsert("carol", "carol's");
  ASSERT_TRUE(Revoke(carols).ok());

  int64_t version = 0;
  const std::vector<SnapshotChunk> chunks = MustSnapshot(&version);
  EXPECT_EQ(version, Version());
  ASSERT_EQ(chunks.size(), 1u);
  const SnapshotChunk& chunk = chunks[0];
  EXPECT_THAT(TokenIds(chunk.tokens),
              UnorderedElementsAre(active.id, tomorrow.id, replacement.id, bobs.id));
  EXPECT_THAT(UserIds(chunk.users), UnorderedElementsAre("alice", "bob"));
  for (const SyncedToken& t : chunk.tokens) {
    SCOPED_TRACE(t.token_id);
    EXPECT_EQ(t.hash, TokenCodec::Hash("secret of " + t.token_id));
    EXPECT_FALSE(t.revoked);
    EXPECT_EQ(t.version, TokenVersion(t.token_id));
    EXPECT_LE(t.version, version);
    EXPECT_EQ(t.user_id, t.token_id == bobs.id ? "bob" : "alice");
  }
  for (const SyncedUser& u : chunk.users) {
    EXPECT_EQ(u.disabled, u.user_id == "bob") << u.user_id;
    EXPECT_EQ(u.role, Role::kUser);
    EXPECT_EQ(u.version, UserVersion(u.user_id));
  }
  for (const SyncedToken& t : chunk.tokens) {
    if (t.token_id == tomorrow.id) {
      EXPECT_EQ(t.expires_on, Today() + 1);
    }
  }
}

TEST_F(PgSyncStoreTest, SnapshotStreamsInChunksWithEachOwnerOnce) {
  CreateUser("bob");
  CreateUser("carol");
  SqlColumn(url_,
            "INSERT INTO tokens (id, user_id, name, token_hash, hint, created_at, expires_on)"
            " SELECT gen_random_uuid(), (ARRAY['alice', 'bob', 'carol'])[1 + i % 3], 'bulk ' || i,"
            "        sha256(('bulk ' || i)::bytea), 'h', now(), current_date + 30"
            " FROM generate_series(1, 12001) i RETURNING 1");

  const std::vector<SnapshotChunk> chunks = MustSnapshot();
  std::vector<size_t> sizes;
  std::set<std::string> tokens;
  std::map<std::string, int> owner_sent_in;  // user -> chunk index
  for (size_t i = 0; i < chunks.size(); ++i) {
    sizes.push_back(chunks[i].tokens.size());
    for (const SyncedUser& u : chunks[i].users) {
      EXPECT_TRUE(owner_sent_in.emplace(u.user_id, i).second) << u.user_id << " sent twice";
    }
    for (const SyncedToken& t : chunks[i].tokens) {
      tokens.insert(t.token_id);
      auto owner = owner_sent_in.find(t.user_id);
      ASSERT_NE(owner, owner_sent_in.end()) << "token before its owner";
      EXPECT_LE(owner->second, static_cast<int>(i));
    }
  }
  EXPECT_THAT(sizes, ElementsAre(5000, 5000, 2001));
  EXPECT_EQ(tokens.size(), 12001u);
  EXPECT_EQ(owner_sent_in.size(), 3u);
}

TEST_F(PgSyncStoreTest, SnapshotStopsWhenTheSinkFails) {
  SqlColumn(url_,
            "INSERT INTO tokens (id, user_id, name, token_hash, hint, created_at, expires_on)"
            " SELECT gen_random_uuid(), 'alice', 'bulk ' || i, sha256(('bulk ' || i)::bytea), 'h',"
            "        now(), current_date + 30"
            " FROM generate_series(1, 6000) i RETURNING 1");
  int calls = 0;
  absl::StatusOr<int64_t> end = sync_->Snapshot(Today(), [&](SnapshotChunk) {
    ++calls;
    return absl::CancelledError("gone");
  });
  EXPECT_EQ(end.status().code(), absl::StatusCode::kCancelled) << end.status();
  EXPECT_EQ(calls, 1);
  // The pool is fine afterwards.
  EXPECT_GT(Version(), 0);
}

// ---------------------------------------------------------------------------
// Changes since a version

TEST_F(PgSyncStoreTest, ChangesSinceHaveRevokedAndExpiredTokensUserChangesAndOwners) {
  CreateUser("bob");
  const TokenRecord to_revoke = MustInsert("alice", "to revoke");
  const TokenRecord to_expire = MustInsert("alice", "to expire");
  const TokenRecord unchanged = MustInsert("alice", "unchanged");
  const int64_t start = Version();

  ASSERT_TRUE(Revoke(to_revoke).ok());
  Expire(to_expire.id);
  // bob's own row is older than `start`, but his new token needs him.
  const TokenRecord bobs = MustInsert("bob", "new");
  CreateUser("dave");
  UserUpdate promote;
  promote.user_id = "alice";
  promote.role = Role::kAdmin;
  MustUpdate(promote);

  absl::StatusOr<ChangeBatch> batch = sync_->ChangesSince(start, 0);
  ASSERT_TRUE(batch.ok()) << batch.status();
  EXPECT_EQ(batch->after_version, start);
  EXPECT_EQ(batch->version, Version());
  EXPECT_THAT(TokenIds(batch->tokens), ElementsAre(to_revoke.id, to_expire.id, bobs.id));
  EXPECT_TRUE(batch->tokens[0].revoked);
  EXPECT_FALSE(batch->tokens[1].revoked);
  EXPECT_EQ(batch->tokens[1].expires_on, Today());
  EXPECT_FALSE(batch->tokens[2].revoked);
  EXPECT_EQ(batch->tokens[2].hash, TokenCodec::Hash("secret of " + bobs.id));
  EXPECT_THAT(UserIds(batch->users), ElementsAre("bob", "dave", "alice"));
  EXPECT_EQ(batch->users[2].role, Role::kAdmin);
  EXPECT_LE(batch->users[0].version, start);
  for (const SyncedToken& t : batch->tokens) EXPECT_GT(t.version, start);
  EXPECT_NE(TokenIds(batch->tokens).back(), unchanged.id);

  // Nothing since the current version.
  absl::StatusOr<ChangeBatch> none = sync_->ChangesSince(Version(), 0);
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_TRUE(none->empty());
  EXPECT_EQ(none->version, Version());

  // A version this database never issued: the batch's version is lower.
  absl::StatusOr<ChangeBatch> future = sync_->ChangesSince(Version() + 100, 0);
  ASSERT_TRUE(future.ok()) << future.status();
  EXPECT_TRUE(future->empty());
  EXPECT_LT(future->version, future->after_version);

  // Too many changes for the limit.
  EXPECT_EQ(sync_->ChangesSince(start, 5).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(sync_->ChangesSince(start, 2).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_TRUE(sync_->ChangesSince(start, 6).ok());
}

// ---------------------------------------------------------------------------
// Usage

class PgSyncStoreUsageTest : public PgSyncStoreTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(PgSyncStoreTest::SetUp());
    // Counts UPDATE statements on tokens (not rows), to show that a batch
    // is one statement.
    SqlColumn(url_,
              "CREATE TABLE update_statements (n int NOT NULL);"
              "INSERT INTO update_statements VALUES (0);"
              "CREATE FUNCTION count_update_statement() RETURNS trigger LANGUAGE plpgsql AS"
              " $$ BEGIN UPDATE update_statements SET n = n + 1; RETURN NULL; END $$;"
              "CREATE TRIGGER count_update_statements AFTER UPDATE ON tokens"
              " FOR EACH STATEMENT EXECUTE FUNCTION count_update_statement();"
              "SELECT 1");
  }

  int UpdateStatements() {
    return std::stoi(SqlColumn(url_, "SELECT n FROM update_statements")[0]);
  }

  std::string LastUse(const std::string& id) {
    return SqlColumn(url_, absl::StrCat("SELECT concat_ws(' ', (extract(epoch FROM last_used_at)"
                                        " * 1000000)::bigint, coalesce(last_used_from, '-'))"
                                        " FROM tokens WHERE id = '",
                                        id, "'"))[0];
  }

  static std::string Use(absl::Time t, const std::string& from) {
    return absl::StrCat(absl::ToUnixMicros(t), " ", from.empty() ? "-" : from);
  }

  int MustRecord(const std::vector<TokenUsage>& usages) {
    absl::StatusOr<int> updated = sync_->RecordUsage(usages);
    EXPECT_TRUE(updated.ok()) << updated.status();
    return updated.value_or(-1);
  }
};

TEST_F(PgSyncStoreUsageTest, OneStatementPerBatchKeepingEachTokensLatestUse) {
  const TokenRecord t1 = MustInsert("alice", "one");
  const TokenRecord t2 = MustInsert("alice", "two");
  const int64_t version = Version();
  const absl::Time base = absl::FromUnixMicros(absl::ToUnixMicros(absl::Now()));
  const int statements = UpdateStatements();

  const std::vector<TokenUsage> batch = {
      {t1.id, base + absl::Seconds(10), "10.0.0.1"}, {t2.id, base + absl::Seconds(5), ""},
      {t1.id, base + absl::Seconds(20), "10.0.0.2"}, {t1.id, base + absl::Seconds(15), "10.0.0.3"},
      {test_support::NewUuid(), base, "10.0.0.4"},  // unknown: ignored
  };
  EXPECT_EQ(MustRecord(batch), 2);
  EXPECT_EQ(UpdateStatements(), statements + 1);
  EXPECT_EQ(LastUse(t1.id), Use(base + absl::Seconds(20), "10.0.0.2"));
  EXPECT_EQ(LastUse(t2.id), Use(base + absl::Seconds(5), ""));

  // The same batch again (a retry): nothing moves.
  EXPECT_EQ(MustRecord(batch), 0);
  EXPECT_EQ(LastUse(t1.id), Use(base + absl::Seconds(20), "10.0.0.2"));
  EXPECT_EQ(LastUse(t2.id), Use(base + absl::Seconds(5), ""));

  // An older use never moves last_used_at back.
  EXPECT_EQ(MustRecord({{t1.id, base + absl::Seconds(1), "10.9.9.9"}}), 0);
  EXPECT_EQ(LastUse(t1.id), Use(base + absl::Seconds(20), "10.0.0.2"));

  // A newer one does; an address with quotes is stored as sent.
  EXPECT_EQ(MustRecord({{t2.id, base + absl::Seconds(30), R"(a"b\c)"}}), 1);
  EXPECT_EQ(LastUse(t2.id), Use(base + absl::Seconds(30), R"(a"b\c)"));

  // No write at all for an empty batch, and none of this was a change.
  const int before_empty = UpdateStatements();
  EXPECT_EQ(MustRecord({}), 0);
  EXPECT_EQ(UpdateStatements(), before_empty);
  EXPECT_EQ(Version(), version);
}

// ---------------------------------------------------------------------------
// Lookup

TEST_F(PgSyncStoreTest, LookupFindsATokenAndItsOwnerByHash) {
  const TokenRecord active = MustInsert("alice", "active");
  const TokenRecord revoked = MustInsert("alice", "revoked");
  ASSERT_TRUE(Revoke(revoked).ok());
  const TokenRecord old = MustInsert("alice", "rotated");
  const NewToken replacement = Token("alice", "rotated");
  ASSERT_TRUE(Rotate(old, replacement, absl::Now()).ok());

  absl::StatusOr<std::optional<SyncLookup>> found =
      sync_->LookupToken(TokenCodec::Hash("secret of " + active.id));
  ASSERT_TRUE(found.ok()) << found.status();
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->token.token_id, active.id);
  EXPECT_EQ((*found)->token.user_id, "alice");
  EXPECT_EQ((*found)->token.expires_on, active.expires_on);
  EXPECT_FALSE((*found)->token.revoked);
  EXPECT_EQ((*found)->token.version, TokenVersion(active.id));
  EXPECT_EQ((*found)->user.user_id, "alice");
  EXPECT_EQ((*found)->user.role, Role::kUser);
  EXPECT_FALSE((*found)->user.disabled);
  EXPECT_EQ((*found)->user.version, UserVersion("alice"));

  found = sync_->LookupToken(TokenCodec::Hash("secret of " + revoked.id));
  ASSERT_TRUE(found.ok() && found->has_value()) << found.status();
  EXPECT_TRUE((*found)->token.revoked);

  found = sync_->LookupToken(TokenCodec::Hash("secret of " + replacement.id));
  ASSERT_TRUE(found.ok() && found->has_value()) << found.status();
  EXPECT_FALSE((*found)->token.revoked);

  found = sync_->LookupToken(TokenCodec::Hash("never issued"));
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_FALSE(found->has_value());
}

// ---------------------------------------------------------------------------
// LISTEN / NOTIFY

// Collects the payloads of token_changes notifications on its own connection.
class RawListener {
 public:
  explicit RawListener(const std::string& url) : conn_(url), receiver_(conn_, &payloads_) {}

  // Waits until a notification with `payload` arrives; returns every payload
  // received up to it.
  std::vector<std::string> Until(const std::string& payload) {
    const absl::Time deadline = absl::Now() + kPatience;
    while (std::find(payloads_.begin(), payloads_.end(), payload) == payloads_.end() &&
           absl::Now() < deadline) {
      conn_.await_notification(0, 100000);
    }
    return payloads_;
  }

 private:
  class Receiver final : public pqxx::notification_receiver {
   public:
    Receiver(pqxx::connection_base& conn, std::vector<std::string>* out)
        : pqxx::notification_receiver(conn, kChangeChannel), out_(out) {}
    void operator()(const std::string& payload, int) override { out_->push_back(payload); }

   private:
    std::vector<std::string>* out_;
  };

  pqxx::connection conn_;
  std::vector<std::string> payloads_;
  Receiver receiver_;
};

TEST_F(PgSyncStoreTest, ChangesNotifyAtCommitUsageAndRollbacksDoNot) {
  const TokenRecord token = MustInsert("alice", "used");
  RawListener listener(url_);

  ASSERT_EQ(MustInsert("alice", "after listen").name, "after listen");
  EXPECT_THAT(listener.Until(""), ElementsAre(""));

  absl::StatusOr<int> used = sync_->RecordUsage({{token.id, absl::Now(), ""}});
  ASSERT_TRUE(used.ok()) << used.status();
  {
    pqxx::connection conn(url_);
    pqxx::work rolled_back(conn);
    InsertBySql(rolled_back, "alice", "never committed");
    rolled_back.abort();
  }
  SqlColumn(url_, "NOTIFY token_changes, 'marker'");
  // Notifications arrive in commit order: nothing came between.
  EXPECT_THAT(listener.Until("marker"), ElementsAre("", "marker"));
}

class PgChangeListenerTest : public StoreTest {
 protected:
  // Calls Wait with short timeouts until it reports a change.
  static bool WaitForChange(PgChangeListener& listener) {
    const absl::Time deadline = absl::Now() + kPatience;
    while (absl::Now() < deadline) {
      if (listener.Wait(absl::Milliseconds(100))) return true;
    }
    return false;
  }

  std::vector<std::string> ListenerPids() {
    return SqlColumn(url_,
                     "SELECT pid::text FROM pg_stat_activity"
                     " WHERE datname = current_database() AND query LIKE 'LISTEN%'");
  }
};

TEST_F(PgChangeListenerTest, WakesOnCommittedChanges) {
  PgChangeListener listener(url_);
  // The first Wait connects, and reports a change: anything may have
  // happened before.
  EXPECT_TRUE(listener.Wait(absl::Milliseconds(1)));
  EXPECT_THAT(ListenerPids(), ::testing::SizeIs(1));
  CreateUser("bob");
  EXPECT_TRUE(WaitForChange(listener));
}

TEST_F(PgChangeListenerTest, ReconnectsAfterALostConnectionAndReportsAChange) {
  PgChangeListener listener(url_);
  ASSERT_TRUE(listener.Wait(absl::Milliseconds(1)));
  const std::vector<std::string> pids = ListenerPids();
  ASSERT_EQ(pids.size(), 1u);
  SqlColumn(url_, "SELECT pg_terminate_backend(" + pids[0] + ")");

  // No change committed, yet the listener reports one once it is back:
  // notifications may have been lost while it was away.
  EXPECT_TRUE(WaitForChange(listener));
  const std::vector<std::string> now = ListenerPids();
  ASSERT_EQ(now.size(), 1u);
  EXPECT_NE(now[0], pids[0]);
  // And it listens again.
  CreateUser("bob");
  EXPECT_TRUE(WaitForChange(listener));
}

TEST_F(PgChangeListenerTest, AWaitThatFindsTheDatabaseDownReportsAChangeOnceItIsBack) {
  PgChangeListener listener(url_);
  ASSERT_TRUE(listener.Wait(absl::Milliseconds(1)));
  ASSERT_TRUE(testing::SharedPostgres().Stop().ok());
  // One long wait spans the whole outage. It must not give up on its first
  // failed reconnection and sleep out its timeout: it keeps trying, and
  // reports a change (notifications may have been missed) once it is back.
  std::optional<bool> result;
  std::thread waiter([&] { result = listener.Wait(absl::Seconds(60)); });
  absl::SleepFor(absl::Milliseconds(300));  // a few failed attempts
  const absl::Status restarted = testing::SharedPostgres().Restart();
  waiter.join();
  ASSERT_TRUE(restarted.ok()) << restarted;
  EXPECT_EQ(result, std::optional<bool>(true));
  CreateUser("bob");
  EXPECT_TRUE(WaitForChange(listener));
}

TEST_F(PgChangeListenerTest, InterruptEndsAWaitAndEveryLaterOne) {
  PgChangeListener listener(url_);
  ASSERT_TRUE(listener.Wait(absl::Milliseconds(1)));
  std::optional<bool> result;
  std::thread waiter([&] { result = listener.Wait(absl::Hours(1)); });
  listener.Interrupt();
  waiter.join();
  EXPECT_EQ(result, std::optional<bool>(false));
  CreateUser("bob");
  EXPECT_FALSE(listener.Wait(absl::Hours(1)));
}

}  // namespace
}  // namespace tokens::service
