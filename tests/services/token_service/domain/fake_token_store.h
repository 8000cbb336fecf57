#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "common/status/field_error.h"
#include "common/time/civil_date.h"
#include "common/token/random.h"
#include "common/token/token_codec.h"
#include "gmock/gmock.h"
#include "services/token_service/domain/model.h"
#include "services/token_service/domain/ports/token_store.h"
#include "services/token_service/domain/validation.h"
#include "tests/support/seeded_random.h"

namespace tokens::service::test_support {

using ::tokens::test_support::SeededRandom;

// An in-memory TokenStore that keeps the contract documented in
// token_store.h. The contract test (storage/token_store_contract.h) runs the
// same cases against it and against PgTokenStore, so where the
// interface leaves room (the order of checks, which rows a filter keeps) it
// answers as PostgreSQL does. Returned TokenRecords carry the default status
// (the domain sets it).
// Each change and its event apply together or not at all.
//
// Test controls: FailAllCallsWith() makes every call return a status (e.g.
// UNAVAILABLE, as when the database is down); calls() counts interface calls;
// AddUser() seeds a user without an audit event.
//
// The status matchers HasCode / IsFieldError below (and SeededRandom) are
// shared by the domain tests as well.
class FakeTokenStore final : public TokenStore {
 public:
  // What the store keeps of a token beyond its record.
  struct StoredToken {
    TokenRecord record;
    TokenHash hash;
    std::optional<std::string> rotated_from;
  };

  // --- Test controls -------------------------------------------------------

  User AddUser(const std::string& user_id, Role role = Role::kUser, bool disabled = false) {
    absl::MutexLock lock(&mu_);
    User user{user_id,
              "Name of " + user_id,
              user_id + "@example.com",
              role,
              disabled,
              absl::FromUnixSeconds(1700000000)};
    users_[user_id] = user;
    return user;
  }

  // Every interface call returns `status` until called again with OkStatus().
  void FailAllCallsWith(absl::Status status) {
    absl::MutexLock lock(&mu_);
    fail_with_ = std::move(status);
  }

  // Runs once at the start of the next CreateUser call, outside the lock: a
  // stand-in for another process that commits first.
  void BeforeNextCreateUser(std::function<void()> hook) {
    absl::MutexLock lock(&mu_);
    before_create_user_ = std::move(hook);
  }

  // Interface calls so far, failed ones included.
  int calls() const {
    absl::MutexLock lock(&mu_);
    return calls_;
  }

  // Every event recorded, oldest first.
  std::vector<TokenEvent> events() const {
    absl::MutexLock lock(&mu_);
    std::vector<TokenEvent> out;
    for (const auto& [id, event] : events_) out.push_back(event);
    return out;
  }

  std::optional<StoredToken> Stored(const std::string& token_id) const {
    absl::MutexLock lock(&mu_);
    auto it = tokens_.find(token_id);
    if (it == tokens_.end()) return std::nullopt;
    return it->second;
  }

  size_t token_count() const {
    absl::MutexLock lock(&mu_);
    return tokens_.size();
  }

  // --- TokenStore ----------------------------------------------------------

  absl::StatusOr<TokenAuthRecord> FindTokenForAuth(const TokenHash& hash) override {
    absl::MutexLock lock(&mu_);
    if (absl::Status s = Enter(); !s.ok()) return s;
    for (const auto& [id, stored] : tokens_) {
      if (stored.hash != hash) continue;
      return TokenAuthRecord{id, stored.record.expires_on, stored.record.revoked_at.has_value(),
                             users_.at(stored.record.user_id), stored.record.scopes};
    }
    return absl::NotFoundError("no such token");
  }

  absl::StatusOr<User> GetUser(const std::string& user_id) override {
    absl::MutexLock lock(&mu_);
    if (absl::Status s = Enter(); !s.ok()) return s;
    auto it = users_.find(user_id);
    if (it == users_.end()) return absl::NotFoundError("no such user");
    return it->second;
  }

  absl::StatusOr<User> CreateUser(const User& user, const TokenEvent& event) override {
    std::function<void()> hook;
    {
      absl::MutexLock lock(&mu_);
      hook = std::exchange(before_create_user_, nullptr);
    }
    if (hook) hook();
    absl::MutexLock lock(&mu_);
    if (absl::Status s = Enter(); !s.ok()) return s;
    if (users_.count(user.user_id) > 0) {
      return FieldError("user_id", "a user with this id already exists",
                        absl::StatusCode::kAlreadyExists);
    }
    User& stored = users_[user.user_id];
    stored = user;
    stored.created_at = Truncated(user.created_at);
    Record(event);
    return stored;
  }

  absl::StatusOr<User> UpdateUser(const UserUpdate& update, const TokenEvent& event) override {
    absl::MutexLock lock(&mu_);
    if (absl::Status s = Enter(); !s.ok()) return s;
    auto it = users_.find(update.user_id);
    if (it == users_.end()) return absl::NotFoundError("no such user");
    User& user = it->second;
    if (update.display_name.has_value()) user.display_name = *update.display_name;
    if (update.email.has_value()) user.email = *update.email;
    if (update.role.has_value()) user.role = *update.role;
    if (update.disabled.has_value()) user.disabled = *update.disabled;
    Record(event);
    return user;
  }

  absl::StatusOr<std::vector<User>> ListUsers(const UserQuery& query) override {
    absl::MutexLock lock(&mu_);
    if (absl::Status s = Enter(); !s.ok()) return s;
    std::vector<User> out;
    auto it =
        query.after_user_id.has_value() ? users_.upper_bound(*query.after_user_id) : users_.begin();
    for (; it != users_.end() && out.size() < static_cast<size_t>(query.limit); ++it) {
      out.push_back(it->second);
    }
    return out;
  }

  absl::StatusOr<TokenRecord> InsertToken(const NewToken& token, const TokenEvent& event,
                                          std::optional<int> max_live_tokens) override {
    absl::MutexLock lock(&mu_);
    if (absl::Status s = Enter(); !s.ok()) return s;
    if (max_live_tokens.has_value()) {
      if (users_.count(token.user_id) == 0) return absl::NotFoundError("no such user");
      const int64_t live = std::count_if(tokens_.begin(), tokens_.end(), [&](const auto& entry) {
        const TokenRecord& t = entry.second.record;
        return t.user_id == token.user_id && StatusAt(t, token.created_at) == TokenStatus::kActive;
      });
      if (live >= *max_live_tokens) {
        return absl::FailedPreconditionError(absl::StrCat(
            "user ", token.user_id, " already has ", live, " active tokens, the most allowed"));
      }
    }
    if (absl::Status s = CheckInsertable(token); !s.ok()) return s;
    const TokenRecord& record = Insert(token, std::nullopt);
    Record(event);
    return record;
  }

  absl::StatusOr<TokenRecord> GetToken(const std::string& id) override {
    absl::MutexLock lock(&mu_);
    if (absl::Status s = Enter(); !s.ok()) return s;
    auto it = tokens_.find(id);
    if (it == tokens_.end()) return absl::NotFoundError("no such token");
    return it->second.record;
  }

  absl::StatusOr<TokenRecord> RevokeToken(const std::string& id, absl::Time now,
                                          const TokenEvent& event) override {
    absl::MutexLock lock(&mu_);
    if (absl::Status s = Enter(); !s.ok()) return s;
    auto it = tokens_.find(id);
    if (it == tokens_.end()) return absl::NotFoundError("no such token");
    TokenRecord& record = it->second.record;
    if (!record.revoked_at.has_value()) {
      record.revoked_at = Truncated(now);
      Record(event);
    }
    return record;
  }

  absl::StatusOr<TokenRecord> RotateToken(const std::string& old_id, const NewToken& replacement,
                                          absl::Time now, const TokenEvent& event) override {
    absl::MutexLock lock(&mu_);
    if (absl::Status s = Enter(); !s.ok()) return s;
    auto it = tokens_.find(old_id);
    if (it == tokens_.end()) return absl::NotFoundError("no such token");
    TokenRecord& old = it->second.record;
    if (StatusAt(old, now) != TokenStatus::kActive) {
      return absl::FailedPreconditionError("only an ACTIVE token can be rotated");
    }
    // The old token is revoked first, so its name is free for the
    // replacement; nothing changes unless the insert is possible.
    old.revoked_at = Truncated(now);
    if (absl::Status s = CheckInsertable(replacement); !s.ok()) {
      old.revoked_at.reset();
      return s;
    }
    const TokenRecord& record = Insert(replacement, old_id);
    Record(event);
    return record;
  }

  absl::StatusOr<std::vector<TokenRecord>> ListTokens(const TokenQuery& query) override {
    absl::MutexLock lock(&mu_);
    if (absl::Status s = Enter(); !s.ok()) return s;
    std::vector<const TokenRecord*> matches;
    for (const auto& [id, stored] : tokens_) {
      if (Matches(stored.record, query)) matches.push_back(&stored.record);
    }
    std::sort(matches.begin(), matches.end(),
              [](const TokenRecord* a, const TokenRecord* b) { return SortKey(*a) > SortKey(*b); });
    std::vector<TokenRecord> out;
    for (const TokenRecord* record : matches) {
      if (out.size() >= static_cast<size_t>(query.limit)) break;
      out.push_back(*record);
    }
    return out;
  }

  absl::StatusOr<std::vector<TokenEvent>> ListEvents(const EventQuery& query) override {
    absl::MutexLock lock(&mu_);
    if (absl::Status s = Enter(); !s.ok()) return s;
    std::vector<TokenEvent> out;
    for (auto it = events_.rbegin(); it != events_.rend(); ++it) {
      const TokenEvent& e = it->second;
      if (out.size() >= static_cast<size_t>(query.limit)) break;
      if (query.before_id.has_value() && e.id >= *query.before_id) continue;
      if (query.subject_user_id.has_value() && e.subject_user_id != *query.subject_user_id) {
        continue;
      }
      if (query.token_id.has_value() && e.token_id != *query.token_id &&
          e.previous_token_id != *query.token_id) {
        continue;
      }
      out.push_back(e);
    }
    return out;
  }

 private:
  static std::tuple<absl::Time, std::string> SortKey(const TokenRecord& t) {
    return {t.created_at, t.id};
  }

  static bool Matches(const TokenRecord& t, const TokenQuery& q) {
    if (q.user_id.has_value() && t.user_id != *q.user_id) return false;
    if (q.status.has_value()) {
      const bool revoked = t.revoked_at.has_value();
      const bool expired = !revoked && t.expires_on <= q.today;
      switch (*q.status) {
        case TokenStatus::kRevoked:
          if (!revoked) return false;
          break;
        case TokenStatus::kExpired:
          if (!expired) return false;
          break;
        case TokenStatus::kActive:
          if (revoked || expired) return false;
          break;
      }
    }
    if (!q.name_contains.empty() &&
        !absl::StrContains(FoldForSearch(t.name), FoldForSearch(q.name_contains))) {
      return false;
    }
    if (q.expires_before.has_value() && !(t.expires_on < *q.expires_before)) return false;
    if (q.after.has_value() && !(SortKey(t) < std::make_tuple(q.after->created_at, q.after->id))) {
      return false;
    }
    return true;
  }

  // Counts the call and applies FailAllCallsWith.
  absl::Status Enter() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    ++calls_;
    return fail_with_;
  }

  absl::Status CheckInsertable(const NewToken& token) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (users_.count(token.user_id) == 0) return absl::NotFoundError("no such user");
    for (const auto& [id, stored] : tokens_) {
      if (id == token.id || stored.hash == token.hash) {
        return absl::InternalError("token id or hash collision");
      }
      if (stored.record.user_id == token.user_id && stored.record.name == token.name &&
          !stored.record.revoked_at.has_value()) {
        return FieldError("name", "you already have a token with this name");
      }
    }
    return absl::OkStatus();
  }

  const TokenRecord& Insert(const NewToken& token, std::optional<std::string> rotated_from)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    TokenRecord record;
    record.id = token.id;
    record.name = token.name;
    record.hint = token.hint;
    record.user_id = token.user_id;
    record.user_display_name = users_.at(token.user_id).display_name;
    record.created_at = Truncated(token.created_at);
    record.expires_on = token.expires_on;
    record.scopes = token.scopes;
    StoredToken& stored = tokens_[token.id];
    stored = StoredToken{std::move(record), token.hash, std::move(rotated_from)};
    return stored.record;
  }

  // PostgreSQL keeps instants to the microsecond (and PgTokenStore sends
  // them truncated), so the fake does too.
  static absl::Time Truncated(absl::Time t) { return absl::FromUnixMicros(absl::ToUnixMicros(t)); }

  void Record(TokenEvent event) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    event.id = next_event_id_++;
    event.occurred_at = Truncated(event.occurred_at);
    events_[event.id] = std::move(event);
  }

  mutable absl::Mutex mu_;
  std::map<std::string, User> users_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, StoredToken> tokens_ ABSL_GUARDED_BY(mu_);
  std::map<int64_t, TokenEvent> events_ ABSL_GUARDED_BY(mu_);
  int64_t next_event_id_ ABSL_GUARDED_BY(mu_) = 1;
  absl::Status fail_with_ ABSL_GUARDED_BY(mu_);
  std::function<void()> before_create_user_ ABSL_GUARDED_BY(mu_);
  int calls_ ABSL_GUARDED_BY(mu_) = 0;
};

// --- Status matchers shared by the domain tests -----------------------------

inline const absl::Status& StatusOf(const absl::Status& status) { return status; }
template <typename T>
const absl::Status& StatusOf(const absl::StatusOr<T>& result) {
  return result.status();
}

// The Status or StatusOr has this code.
MATCHER_P(HasCode, code, "has status code " + absl::StatusCodeToString(code)) {
  const absl::Status& status = StatusOf(arg);
  *result_listener << "status is " << status;
  return status.code() == code;
}

// An INVALID_ARGUMENT FieldError naming `field`.
MATCHER_P(IsFieldError, field, std::string("is a FieldError on ") + field) {
  const absl::Status& status = StatusOf(arg);
  *result_listener << "status is " << status;
  return status.code() == absl::StatusCode::kInvalidArgument && FieldOf(status) == field;
}

// An ALREADY_EXISTS FieldError naming `field`.
MATCHER_P(IsTakenField, field, std::string("is an ALREADY_EXISTS FieldError on ") + field) {
  const absl::Status& status = StatusOf(arg);
  *result_listener << "status is " << status;
  return status.code() == absl::StatusCode::kAlreadyExists && FieldOf(status) == field;
}

}  // namespace tokens::service::test_support
