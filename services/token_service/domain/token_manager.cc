#include "services/token_service/domain/token_manager.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/auth/scopes.h"
#include "common/auth/token_id.h"
#include "common/status/field_error.h"
#include "common/time/civil_date.h"
#include "services/token_service/domain/page_token.h"
#include "services/token_service/domain/validation.h"

namespace tokens::service {
namespace {

constexpr size_t kMaxFilterChars = 100;

// The audit event's detail for a token issued with `scopes`.
std::string ScopesDetail(const std::vector<std::string>& scopes) {
  if (scopes.empty()) return "";
  return absl::StrCat("scopes: ", JoinScopes(scopes));
}

}  // namespace

TokenManager::TokenManager(TokenStore& store, const TokenCodec& codec, const Clock& clock,
                           RandomSource& random, TokenManagerOptions options)
    : store_(store),
      codec_(codec),
      clock_(clock),
      random_(random),
      options_(options),
      issue_rate_(clock, options.token_create_rate, options.token_create_burst) {}

std::pair<std::string, NewToken> TokenManager::Mint(const std::string& user_id,
                                                    const std::string& name,
                                                    absl::CivilDay expires_on,
                                                    const std::vector<std::string>& scopes,
                                                    absl::Time now) {
  std::string secret = codec_.Generate(random_);
  NewToken row{TokenId::Random(random_).ToString(),
               user_id,
               name,
               TokenCodec::Hash(secret),
               codec_.Hint(secret),
               now,
               expires_on,
               scopes};
  return {std::move(secret), std::move(row)};
}

TokenRecord TokenManager::WithStatus(TokenRecord token, absl::Time now) const {
  token.status = StatusAt(token, now);
  return token;
}

absl::StatusOr<TokenManager::CallerBound> TokenManager::BoundOf(const Principal& caller) const {
  // Every API caller is authenticated by a token; a Principal without one
  // here is a wiring mistake, and must not pass unbounded.
  if (!caller.token_expires_on.has_value()) {
    return absl::InternalError("a token is issued only on behalf of a caller's token");
  }
  return CallerBound{caller.user_id, *caller.token_expires_on, caller.token_scopes};
}

absl::Status TokenManager::CheckScopesWithin(const CallerBound& bound,
                                             const std::vector<std::string>& scopes) {
  if (bound.token_scopes.empty()) return absl::OkStatus();
  const std::string held = JoinScopes(bound.token_scopes);
  if (scopes.empty()) {
    return absl::PermissionDeniedError(absl::StrCat(
        "the token making this request has scopes (", held,
        "); it cannot issue a token without scopes, which would have the user's full access"));
  }
  std::vector<std::string> missing = MissingScopes(bound.token_scopes, scopes);
  if (!missing.empty()) {
    return absl::PermissionDeniedError(absl::StrCat("the token making this request lacks ",
                                                    JoinScopes(missing), " (it has ", held, ")"));
  }
  return absl::OkStatus();
}

absl::StatusOr<TokenManager::IssuedToken> TokenManager::CreateToken(const Principal& caller,
                                                                    const CreateRequest& request) {
  std::string owner = request.user_id.empty() ? caller.user_id : request.user_id;
  if (absl::Status s = AccessPolicy::Check(caller, Action::kCreateToken, owner); !s.ok()) return s;
  absl::StatusOr<CallerBound> bound = BoundOf(caller);
  if (!bound.ok()) return bound.status();
  if (owner != caller.user_id) {
    if (absl::Status s = ValidateUserId("user_id", owner); !s.ok()) return s;
    absl::StatusOr<User> user = store_.GetUser(owner);
    if (absl::IsNotFound(user.status())) return FieldError("user_id", "no such user");
    if (!user.ok()) return user.status();
    if (user->disabled) return FieldError("user_id", "the user is disabled");
  }
  return Issue(caller.user_id, owner, request.name, request.expires_on, request.scopes, *bound);
}

absl::StatusOr<TokenManager::IssuedToken> TokenManager::Issue(
    const std::string& actor, const std::string& owner, const std::string& name_in,
    const std::string& expires_in, const std::vector<std::string>& scopes_in,
    const std::optional<CallerBound>& bound) {
  absl::StatusOr<std::string> name = NormalizeName("name", name_in);
  if (!name.ok()) return name.status();
  absl::StatusOr<std::vector<std::string>> scopes =
      ValidateScopes("scopes", scopes_in, options_.scope_catalogue);
  if (!scopes.ok()) return scopes.status();
  const absl::Time now = clock_.Now();
  std::optional<absl::CivilDay> latest;
  if (bound.has_value()) latest = bound->token_expires_on;
  absl::StatusOr<absl::CivilDay> expires_on = ValidateExpiry(
      "expires_on", expires_in, UtcDay(now), options_.max_token_lifetime_days, latest);
  if (!expires_on.ok()) return expires_on.status();
  std::optional<int> cap;
  if (bound.has_value()) {
    if (absl::Status s = CheckScopesWithin(*bound, *scopes); !s.ok()) return s;
    if (absl::Status s = issue_rate_.Take(bound->user_id); !s.ok()) return s;
    cap = options_.max_live_tokens_per_user;
  }

  auto [secret, row] = Mint(owner, *name, *expires_on, *scopes, now);
  TokenEvent event{0,  EventKind::kTokenCreated, now, actor, owner, row.id, *name,
                   "", ScopesDetail(*scopes)};
  absl::StatusOr<TokenRecord> stored = store_.InsertToken(row, event, cap);
  if (!stored.ok()) return stored.status();
  return IssuedToken{WithStatus(*std::move(stored), now), std::move(secret)};
}

absl::StatusOr<TokenManager::TokenPage> TokenManager::ListTokens(const Principal& caller,
                                                                 const ListRequest& request) {
  absl::Status allowed;
  if (!request.user_id.empty()) {
    allowed = AccessPolicy::Check(caller, Action::kListTokens, request.user_id);
  } else {
    allowed = AccessPolicy::Check(caller, Action::kListTokens,
                                  request.all_users ? Scope::kAll : Scope::kOwn);
  }
  if (!allowed.ok()) return allowed;
  absl::StatusOr<int> page_size = ValidatePageSize("page_size", request.page_size);
  if (!page_size.ok()) return page_size.status();

  TokenQuery query;
  if (!request.user_id.empty()) {
    if (request.all_users) return FieldError("user_id", "cannot be combined with all_users");
    if (absl::Status s = ValidateUserId("user_id", request.user_id); !s.ok()) return s;
    query.user_id = request.user_id;
  } else if (!request.all_users) {
    query.user_id = caller.user_id;
  }
  if (request.name_contains.size() > kMaxFilterChars * 4) {
    return FieldError("name_contains", "is longer than any token name");
  }
  // Names hold no control or invisible characters, so a filter with one
  // could match nothing; and a NUL would end the filter early.
  absl::StatusOr<std::string> fragment =
      NormalizeNameFilter("name_contains", request.name_contains);
  if (!fragment.ok()) return fragment.status();
  query.name_contains = *std::move(fragment);
  if (!request.expires_before.empty()) {
    absl::StatusOr<absl::CivilDay> before = ValidateDate("expires_before", request.expires_before);
    if (!before.ok()) return before.status();
    query.expires_before = *before;
  }
  query.status = request.status;
  const absl::Time now = clock_.Now();
  query.today = UtcDay(now);

  const PageTokenCodec pages(options_.page_token_key);
  const uint64_t fingerprint = PageTokenCodec::Fingerprint(
      {query.user_id.value_or("*"), query.status ? TokenStatusName(*query.status) : "",
       query.name_contains, request.expires_before});
  if (!request.page_token.empty()) {
    absl::StatusOr<std::vector<std::string>> keys =
        pages.Decode("page_token", request.page_token, "tokens", fingerprint, 2);
    if (!keys.ok()) return keys.status();
    absl::StatusOr<absl::Time> created_at = ReadPageKeyTime("page_token", (*keys)[0]);
    if (!created_at.ok()) return created_at.status();
    if (!ValidateTokenId("page_token", (*keys)[1]).ok()) {
      return FieldError("page_token", "is not a page token from this list");
    }
    query.after = TokenCursor{*created_at, (*keys)[1]};
  }
  query.limit = *page_size + 1;  // one more tells whether another page exists

  absl::StatusOr<std::vector<TokenRecord>> rows = store_.ListTokens(query);
  if (!rows.ok()) return rows.status();
  TokenPage page;
  page.next_page_token =
      pages.TrimToPage(*rows, *page_size, "tokens", fingerprint, [](const TokenRecord& last) {
        return std::vector<std::string>{absl::StrCat(absl::ToUnixMicros(last.created_at)), last.id};
      });
  page.tokens.reserve(rows->size());
  for (TokenRecord& row : *rows) page.tokens.push_back(WithStatus(std::move(row), now));
  return page;
}

absl::StatusOr<TokenRecord> TokenManager::VisibleToken(const Principal& caller, Action action,
                                                       const std::string& id) {
  if (absl::Status s = AccessPolicy::CheckMethod(caller, action); !s.ok()) return s;
  if (absl::Status s = ValidateTokenId("id", id); !s.ok()) return s;
  absl::StatusOr<TokenRecord> token = store_.GetToken(id);
  if (!token.ok()) return token.status();
  if (absl::Status s = AccessPolicy::Check(caller, action, token->user_id); !s.ok()) return s;
  return token;
}

absl::StatusOr<TokenRecord> TokenManager::GetToken(const Principal& caller, const std::string& id) {
  absl::StatusOr<TokenRecord> token = VisibleToken(caller, Action::kGetToken, id);
  if (!token.ok()) return token.status();
  return WithStatus(*std::move(token), clock_.Now());
}

absl::StatusOr<TokenRecord> TokenManager::RevokeToken(const Principal& caller,
                                                      const std::string& id) {
  absl::StatusOr<TokenRecord> token = VisibleToken(caller, Action::kRevokeToken, id);
  if (!token.ok()) return token.status();
  const absl::Time now = clock_.Now();
  if (token->revoked_at.has_value()) return WithStatus(*std::move(token), now);
  TokenEvent event{
      0, EventKind::kTokenRevoked, now, caller.user_id, token->user_id, token->id, token->name, "",
      ""};
  absl::StatusOr<TokenRecord> revoked = store_.RevokeToken(id, now, event);
  if (!revoked.ok()) return revoked.status();
  return WithStatus(*std::move(revoked), now);
}

absl::StatusOr<TokenManager::IssuedToken> TokenManager::RotateToken(const Principal& caller,
                                                                    const std::string& id) {
  absl::StatusOr<TokenRecord> old = VisibleToken(caller, Action::kRotateToken, id);
  if (!old.ok()) return old.status();
  const absl::Time now = clock_.Now();
  if (StatusAt(*old, now) != TokenStatus::kActive) {
    return absl::FailedPreconditionError("only an ACTIVE token can be rotated");
  }
  absl::StatusOr<CallerBound> bound = BoundOf(caller);
  if (!bound.ok()) return bound.status();
  // The new token keeps the expiry: a shorter-lived caller would get a
  // secret that outlives its own token, which CreateToken refuses too.
  if (old->expires_on > bound->token_expires_on) {
    return absl::FailedPreconditionError(absl::StrCat(
        "this token expires on ", FormatIsoDate(old->expires_on),
        ", after the token making this request (", FormatIsoDate(bound->token_expires_on),
        "); rotate it with a token that expires on that date or later"));
  }
  // As CreateToken: no new secret for a disabled user (only an admin gets
  // here; the user's own tokens do not authenticate).
  absl::StatusOr<User> owner = store_.GetUser(old->user_id);
  if (!owner.ok()) return owner.status();
  if (owner->disabled) {
    return absl::FailedPreconditionError(
        "the token's owner is disabled; enable the user before rotating their tokens");
  }
  // A scoped token rotates only what it could have created: else a token
  // limited to things:read could turn a full-access token into a new secret.
  if (absl::Status s = CheckScopesWithin(*bound, old->scopes); !s.ok()) return s;
  if (absl::Status s = issue_rate_.Take(bound->user_id); !s.ok()) return s;
  auto [secret, row] = Mint(old->user_id, old->name, old->expires_on, old->scopes, now);
  TokenEvent event{
      0,       EventKind::kTokenRotated, now, caller.user_id, old->user_id, row.id, old->name,
      old->id, ScopesDetail(old->scopes)};
  absl::StatusOr<TokenRecord> stored = store_.RotateToken(old->id, row, now, event);
  if (!stored.ok()) return stored.status();
  return IssuedToken{WithStatus(*std::move(stored), now), std::move(secret)};
}

absl::StatusOr<User> TokenManager::GetProfile(const Principal& caller) {
  if (absl::Status s = AccessPolicy::Check(caller, Action::kGetProfile, Scope::kOwn); !s.ok()) {
    return s;
  }
  return store_.GetUser(caller.user_id);
}

absl::CivilDay TokenManager::LatestExpiryFor(const Principal& caller) const {
  const absl::CivilDay last = UtcDay(clock_.Now()) + options_.max_token_lifetime_days;
  if (caller.token_expires_on.has_value() && *caller.token_expires_on < last) {
    return *caller.token_expires_on;
  }
  return last;
}

absl::StatusOr<std::vector<std::string>> TokenManager::ListScopes(const Principal& caller) const {
  if (absl::Status s = AccessPolicy::Check(caller, Action::kListScopes, Scope::kOwn); !s.ok()) {
    return s;
  }
  return options_.scope_catalogue;
}

absl::StatusOr<TokenManager::EventPage> TokenManager::ListEvents(const Principal& caller,
                                                                 const EventListRequest& request) {
  // Without a user filter: every user's events for whoever may see them,
  // else the caller's own.
  Scope scope = Scope::kOwn;
  if (request.user_id.empty()) {
    if (AccessPolicy::Allows(caller, Action::kListTokenEvents, Scope::kAll)) scope = Scope::kAll;
  } else if (request.user_id != caller.user_id) {
    scope = Scope::kOther;
  }
  if (absl::Status s = AccessPolicy::Check(caller, Action::kListTokenEvents, scope); !s.ok()) {
    return s;
  }
  absl::StatusOr<int> page_size = ValidatePageSize("page_size", request.page_size);
  if (!page_size.ok()) return page_size.status();
  EventQuery query;
  if (!request.user_id.empty()) {
    if (absl::Status s = ValidateUserId("user_id", request.user_id); !s.ok()) return s;
    query.subject_user_id = request.user_id;
  } else if (scope == Scope::kOwn) {
    query.subject_user_id = caller.user_id;
  }
  if (!request.token_id.empty()) {
    if (absl::Status s = ValidateTokenId("token_id", request.token_id); !s.ok()) return s;
    query.token_id = request.token_id;
  }
  const PageTokenCodec pages(options_.page_token_key);
  const uint64_t fingerprint = PageTokenCodec::Fingerprint(
      {query.subject_user_id.value_or("*"), query.token_id.value_or("")});
  if (!request.page_token.empty()) {
    absl::StatusOr<std::vector<std::string>> keys =
        pages.Decode("page_token", request.page_token, "events", fingerprint, 1);
    if (!keys.ok()) return keys.status();
    absl::StatusOr<int64_t> before = ReadPageKeyRowId("page_token", (*keys)[0]);
    if (!before.ok()) return before.status();
    query.before_id = *before;
  }
  query.limit = *page_size + 1;
  absl::StatusOr<std::vector<TokenEvent>> rows = store_.ListEvents(query);
  if (!rows.ok()) return rows.status();
  EventPage page;
  page.next_page_token = pages.TrimToPage(
      *rows, *page_size, "events", fingerprint,
      [](const TokenEvent& last) { return std::vector<std::string>{absl::StrCat(last.id)}; });
  page.events = *std::move(rows);
  return page;
}

}  // namespace tokens::service
