#include "services/token_service/domain/model.h"

#include <array>
#include <utility>

#include "common/auth/decide.h"

namespace tokens::service {
namespace {

constexpr std::array<std::pair<TokenStatus, absl::string_view>, 3> kTokenStatuses{
    {{TokenStatus::kActive, "ACTIVE"},
     {TokenStatus::kExpired, "EXPIRED"},
     {TokenStatus::kRevoked, "REVOKED"}}};

constexpr std::array<std::pair<EventKind, absl::string_view>, 5> kEventKinds{
    {{EventKind::kTokenCreated, "TOKEN_CREATED"},
     {EventKind::kTokenRevoked, "TOKEN_REVOKED"},
     {EventKind::kTokenRotated, "TOKEN_ROTATED"},
     {EventKind::kUserCreated, "USER_CREATED"},
     {EventKind::kUserUpdated, "USER_UPDATED"}}};

template <typename E, size_t N>
absl::string_view NameOf(const std::array<std::pair<E, absl::string_view>, N>& table, E value) {
  for (const auto& [v, name] : table) {
    if (v == value) return name;
  }
  return "UNKNOWN";
}

template <typename E, size_t N>
std::optional<E> ValueOf(const std::array<std::pair<E, absl::string_view>, N>& table,
                         absl::string_view name) {
  for (const auto& [v, n] : table) {
    if (n == name) return v;
  }
  return std::nullopt;
}

}  // namespace

absl::string_view TokenStatusName(TokenStatus status) { return NameOf(kTokenStatuses, status); }
absl::string_view EventKindName(EventKind kind) { return NameOf(kEventKinds, kind); }
std::optional<EventKind> EventKindFromName(absl::string_view name) {
  return ValueOf(kEventKinds, name);
}

TokenStatus StatusAt(const TokenRecord& token, absl::Time now) {
  if (token.revoked_at.has_value()) return TokenStatus::kRevoked;
  if (IsExpired(token.expires_on, now)) return TokenStatus::kExpired;
  return TokenStatus::kActive;
}

TokenFacts FactsOf(const TokenAuthRecord& record) {
  TokenFacts facts;
  // A uuid column's text always parses; Decide never reads the id anyway.
  facts.token_id = TokenId::Parse(record.token_id).value_or(TokenId());
  facts.user_id = record.user.user_id;
  facts.role = record.user.role;
  facts.user_disabled = record.user.disabled;
  facts.revoked = record.revoked;
  facts.expires_on = record.expires_on;
  return facts;
}

}  // namespace tokens::service
