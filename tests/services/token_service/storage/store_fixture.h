#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "common/time/civil_date.h"
#include "common/token/token_codec.h"
#include "gtest/gtest.h"
#include "services/token_service/storage/migrations.h"
#include "services/token_service/storage/pg_pool.h"
#include "services/token_service/storage/pg_token_store.h"
#include "tests/support/postgres_instance.h"

// Shared by the storage tests that run against a real PostgreSQL.
namespace tokens::service::test_support {

using ::tokens::testing::SharedPostgres;

inline std::string NewUuid() {
  static std::mutex mu;
  static std::mt19937_64 rng{std::random_device{}()};
  std::lock_guard<std::mutex> lock(mu);
  const uint64_t hi = (rng() & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;
  const uint64_t lo = (rng() & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
  return absl::StrFormat("%08x-%04x-%04x-%04x-%012x", hi >> 32, (hi >> 16) & 0xffff, hi & 0xffff,
                         lo >> 48, lo & 0xffffffffffffULL);
}

// Releases every waiting thread at once, so that racing calls really race.
class StartLine {
 public:
  explicit StartLine(int parties) : waiting_(parties) {}
  void ArriveAndWait() {
    std::unique_lock<std::mutex> lock(mu_);
    if (--waiting_ == 0) {
      cv_.notify_all();
      return;
    }
    cv_.wait(lock, [this] { return waiting_ == 0; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int waiting_;
};

// Runs fn(i) on `n` threads released together; joins them.
inline void RunConcurrently(int n, const std::function<void(int)>& fn) {
  StartLine start(n);
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      start.ArriveAndWait();
      fn(i);
    });
  }
  for (std::thread& t : threads) t.join();
}

inline absl::CivilDay Today() { return UtcDay(absl::Now()); }

// A fresh database on `server` with every migration applied: its URL.
inline absl::StatusOr<std::string> MigratedDatabase(
    ::tokens::testing::PostgresInstance& server = SharedPostgres()) {
  absl::StatusOr<std::string> url = server.CreateDatabase();
  if (!url.ok()) return url.status();
  if (absl::StatusOr<std::vector<int>> applied = Migrate(*url); !applied.ok()) {
    return applied.status();
  }
  return url;
}

// A fresh, migrated database on the shared PostgreSQL, a pool and a
// PgTokenStore on it, user "alice", and helpers that write through the store.
class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::string> url = MigratedDatabase();
    ASSERT_TRUE(url.ok()) << url.status();
    url_ = *url;
    pool_ = std::make_unique<PgPool>(url_, PgPool::Options{32});
    store_ = std::make_unique<PgTokenStore>(*pool_);
    CreateUser("alice");
  }

  void CreateUser(const std::string& user_id) {
    const absl::Time now = absl::Now();
    User user{user_id, "User " + user_id, user_id + "@example.com", Role::kUser, false, now};
    TokenEvent event{0, EventKind::kUserCreated, now, "admin", user_id, "", "", "", "role=USER"};
    absl::StatusOr<User> created = store_->CreateUser(user, event);
    ASSERT_TRUE(created.ok()) << created.status();
  }

  static NewToken Token(const std::string& user_id, const std::string& name,
                        absl::Time created_at = absl::Now(), int days_ahead = 30) {
    const std::string id = NewUuid();
    return NewToken{id,
                    user_id,
                    name,
                    TokenCodec::Hash("secret of " + id),
                    "utk_test…" + id.substr(0, 4),
                    created_at,
                    Today() + days_ahead};
  }

  static TokenEvent CreatedEvent(const NewToken& t) {
    return TokenEvent{
        0, EventKind::kTokenCreated, t.created_at, t.user_id, t.user_id, t.id, t.name, "", ""};
  }

  absl::StatusOr<TokenRecord> Insert(const NewToken& t) {
    return store_->InsertToken(t, CreatedEvent(t), std::nullopt);
  }

  absl::StatusOr<TokenRecord> Revoke(const TokenRecord& t, absl::Time now = absl::Now()) {
    return store_->RevokeToken(
        t.id, now,
        TokenEvent{0, EventKind::kTokenRevoked, now, t.user_id, t.user_id, t.id, t.name, "", ""});
  }

  absl::StatusOr<TokenRecord> Rotate(const TokenRecord& old, const NewToken& replacement,
                                     absl::Time now) {
    return store_->RotateToken(old.id, replacement, now,
                               TokenEvent{0, EventKind::kTokenRotated, now, old.user_id,
                                          old.user_id, replacement.id, old.name, old.id, ""});
  }

  int CountEvents(const std::string& kind, const std::string& token_column,
                  const std::string& token_id) {
    return std::stoi(::tokens::testing::SqlColumn(
        url_, absl::StrCat("SELECT count(*) FROM token_events WHERE kind = '", kind, "' AND ",
                           token_column, " = '", token_id, "'"))[0]);
  }

  std::string url_;
  std::unique_ptr<PgPool> pool_;
  std::unique_ptr<PgTokenStore> store_;
};

}  // namespace tokens::service::test_support
