#pragma once

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "services/token_service/storage/rows.h"

// Every SQL statement of the token-service, in one place. Parameters are
// always bound ($1...), never spliced into the text. Instants travel as
// microseconds since the Unix epoch (exact both ways, unlike float seconds),
// dates as 'YYYY-MM-DD' text, hashes as hex text. SELECT lists come from
// rows.h, next to the code that reads them.
namespace tokens::service::sql {

// A statement and, when it is prepared, its name. PgPool declares the named
// ones (kPrepared below) on every connection it opens, so each is parsed and
// planned once per connection instead of once per call. Statements whose
// best plan depends on their parameter values (the "$1 IS NULL OR ..."
// filters of the list queries, whose NULL branches fold away only when the
// values are known) are left unnamed and planned with their values each
// time; docs/benchmarks.md has the EXPLAIN output behind that choice.
struct Statement {
  std::string name;  // empty: not prepared
  std::string text;
};

// $n (bigint micros) -> timestamptz.
inline std::string MicrosToTs(absl::string_view param) {
  return absl::StrCat("('epoch'::timestamptz + (", param, ")::bigint * interval '1 microsecond')");
}

// The expiry rule, the one place SQL states it: a token expires on its
// expires_on day, i.e. it is no longer valid from 00:00 UTC of that day, so
// on UTC day `today` (a date parameter) it is live while expires_on > today.
// The same rule as IsExpired in common/auth/decide.h. A bare comparison on
// the column, so that the planner can still use it in an index condition.
inline std::string TokenExpired(absl::string_view today) {
  return absl::StrCat("t.expires_on <= ", today, "::date");
}
inline std::string TokenLive(absl::string_view today) {
  return absl::StrCat("(t.revoked_at IS NULL AND t.expires_on > ", today, "::date)");
}

inline const Statement kFindTokenForAuth{
    "find_token_for_auth", absl::StrCat("SELECT ", pg::kTokenAuthColumns, ", ", pg::kUserColumns,
                                        " FROM tokens t JOIN users u USING (user_id)"
                                        " WHERE t.token_hash = decode($1, 'hex')")};

inline const Statement kGetUser{
    "get_user", absl::StrCat("SELECT ", pg::kUserColumns, " FROM users u WHERE u.user_id = $1")};

// No row: the user_id is taken (the only conflict this insert can meet; the
// primary key is the arbiter when two creates race).
inline const Statement kInsertUser{
    "insert_user",
    absl::StrCat("INSERT INTO users AS u (user_id, display_name, email, role, created_at,"
                 "                        updated_at)"
                 " VALUES ($1, $2, $3, $4, ",
                 MicrosToTs("$5"), ", ", MicrosToTs("$5"),
                 ")"
                 " ON CONFLICT (user_id) DO NOTHING"
                 " RETURNING ",
                 pg::kUserColumns)};

// NULL parameters leave a column as it is. The change version moves (by
// trigger, see migrations/0002_change_feed.sql) only when something a
// sidecar caches (role, disabled) changes.
inline const Statement kUpdateUser{
    "update_user",
    absl::StrCat("UPDATE users u SET"
                 "   display_name = coalesce($2, u.display_name),"
                 "   email = coalesce($3, u.email),"
                 "   role = coalesce($4, u.role),"
                 "   disabled = coalesce($5::boolean, u.disabled),"
                 "   updated_at = ",
                 MicrosToTs("$6"), " WHERE u.user_id = $1 RETURNING ", pg::kUserColumns)};

// $1 the last user_id of the previous page (NULL: first page).
inline const Statement kListUsers{
    "", absl::StrCat("SELECT ", pg::kUserColumns,
                     " FROM users u WHERE ($1::text IS NULL OR u.user_id > $1)"
                     " ORDER BY u.user_id LIMIT $2")};

// $9: the name's search form (FoldForSearch), see migrations/0003_name_search.sql.
// $10: the scopes, space-separated ('' for none: string_to_array gives '{}').
// No row: the owner already has a live token of that name; the partial
// unique index tokens_live_name_key is the arbiter when two inserts race.
// Any other unique violation (id, hash) is a collision nobody expects, and
// stays an exception.
inline const Statement kInsertToken{
    "insert_token",
    absl::StrCat("INSERT INTO tokens (id, user_id, name, token_hash, hint, created_at, expires_on,"
                 "                    rotated_from, name_folded, scopes)"
                 " VALUES ($1::uuid, $2, $3, decode($4, 'hex'), $5, ",
                 MicrosToTs("$6"),
                 ", $7::date, $8::uuid, $9, string_to_array($10, ' '))"
                 " ON CONFLICT (user_id, name) WHERE revoked_at IS NULL DO NOTHING"
                 " RETURNING id")};

// Serializes the inserts for one owner ($1) until commit, so that the cap on
// live tokens is counted by one of them at a time. FOR NO KEY UPDATE rather
// than FOR UPDATE: the foreign-key checks of other writes (FOR KEY SHARE)
// need not wait for it. No row: no such user.
inline const Statement kLockTokenOwner{"lock_token_owner",
                                       "SELECT 1 FROM users WHERE user_id = $1 FOR NO KEY UPDATE"};

// Live tokens of owner $1 on UTC day $2. The partial index
// tokens_live_name_key (user_id, name) WHERE revoked_at IS NULL finds them.
inline const Statement kCountLiveTokens{
    "count_live_tokens",
    absl::StrCat("SELECT count(*) FROM tokens t WHERE t.user_id = $1 AND ", TokenLive("$2"))};

inline const Statement kGetToken{
    "get_token", absl::StrCat("SELECT ", pg::kTokenColumns,
                              " FROM tokens t JOIN users u USING (user_id) WHERE t.id = $1::uuid")};

// The token, row-locked so that a concurrent revoke or rotate waits for this
// one.
inline const Statement kLockToken{"lock_token",
                                  absl::StrCat("SELECT ", pg::kTokenColumns,
                                               " FROM tokens t JOIN users u USING (user_id)"
                                               " WHERE t.id = $1::uuid FOR UPDATE OF t")};

// The change version is taken by trigger.
inline const Statement kRevokeToken{
    "revoke_token", absl::StrCat("UPDATE tokens SET revoked_at = ", MicrosToTs("$2"),
                                 " WHERE id = $1::uuid AND revoked_at IS NULL")};

// Keyset page, newest first. $1 user (NULL: all users), $2 status filter
// (NULL, 'ACTIVE', 'EXPIRED', 'REVOKED'), $3 today (decides EXPIRED), $4 name
// fragment in search form (FoldForSearch; NULL: none) and $9 as given, for
// rows without a search form (see migrations/0003_name_search.sql), $5
// expires-before date (NULL: none), $6/$7 the cursor (created_at micros, id;
// NULL: first page), $8 limit. Not prepared: planned with its parameters,
// the NULL branches fold away and the (user_id, created_at, id) or
// (created_at, id) index drives the scan; a generic plan cannot know which.
inline const Statement kListTokens{
    "", absl::StrCat(
            "SELECT ", pg::kTokenColumns,
            " FROM tokens t JOIN users u USING (user_id)"
            " WHERE ($1::text IS NULL OR t.user_id = $1)"
            "   AND ($2::text IS NULL"
            "        OR ($2 = 'REVOKED' AND t.revoked_at IS NOT NULL)"
            "        OR ($2 = 'ACTIVE' AND ",
            TokenLive("$3"),
            ")"
            "        OR ($2 = 'EXPIRED' AND t.revoked_at IS NULL AND ",
            TokenExpired("$3"),
            "))"
            "   AND ($4::text IS NULL"
            "        OR (t.name_folded IS NOT NULL AND strpos(t.name_folded, $4) > 0)"
            "        OR (t.name_folded IS NULL AND strpos(lower(t.name), lower($9::text)) > 0))"
            "   AND ($5::date IS NULL OR t.expires_on < $5::date)"
            "   AND ($6::bigint IS NULL OR (t.created_at, t.id) < (",
            MicrosToTs("$6"),
            ", $7::uuid))"
            " ORDER BY t.created_at DESC, t.id DESC LIMIT $8")};

inline const Statement kInsertEvent{
    "insert_event",
    absl::StrCat("INSERT INTO token_events (kind, occurred_at, actor_user_id, subject_user_id,"
                 "                          token_id, token_name, previous_token_id, detail)"
                 " VALUES ($1, ",
                 MicrosToTs("$2"), ", $3, $4, $5::uuid, $6, $7::uuid, $8)")};

// Not prepared, for the reason kListTokens is not.
inline const Statement kListEvents{
    "", absl::StrCat("SELECT ", pg::kEventColumns,
                     " FROM token_events e"
                     " WHERE ($1::text IS NULL OR e.subject_user_id = $1)"
                     "   AND ($2::uuid IS NULL OR e.token_id = $2::uuid"
                     "        OR e.previous_token_id = $2::uuid)"
                     "   AND ($3::bigint IS NULL OR e.id < $3::bigint)"
                     " ORDER BY e.id DESC LIMIT $4")};

// --- The change feed (tokens.v1.TokenSync) -----------------------------------

// First statement of every feed read: one consistent view of the database
// for the version and the rows that go with it. (Utility statements such as
// this one, DECLARE and FETCH cannot be prepared.)
inline const Statement kBeginFeedRead{"",
                                      "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"};

// The highest change version committed. Versions commit in order (see
// migrations/0002_change_feed.sql), so every version up to it is visible
// in the same snapshot. max() reads the end of the version indexes.
inline const Statement kFeedVersion{
    "feed_version",
    "SELECT greatest((SELECT max(version) FROM tokens), (SELECT max(version) FROM users), 0)"};

// Every token that can still authenticate ($1: today, UTC) with its owner,
// through a server-side cursor so that no side holds all of them at once.
// Disabled users' tokens are included: the user may be enabled again.
inline const Statement kDeclareSnapshot{
    "", absl::StrCat("DECLARE feed_snapshot NO SCROLL CURSOR FOR SELECT ", pg::kSyncTokenColumns,
                     ", ", pg::kSyncUserColumns,
                     " FROM tokens t JOIN users u USING (user_id) WHERE ", TokenLive("$1"))};
// Rows per chunk; kSnapshotFetchRows states the count of kFetchSnapshot.
inline const Statement kFetchSnapshot{"", "FETCH 5000 FROM feed_snapshot"};
inline constexpr int kSnapshotFetchRows = 5000;

// Tokens changed after version $1, oldest change first; revoked and expired
// ones included, so a cache can drop them. $2 limits the rows (NULL: all).
// Not prepared: how many rows follow $1 decides between the version index
// and a scan.
inline const Statement kChangedTokens{
    "", absl::StrCat("SELECT ", pg::kSyncTokenColumns,
                     " FROM tokens t WHERE t.version > $1::bigint ORDER BY t.version"
                     " LIMIT $2::bigint")};

// Users changed after version $1, and the owners of tokens changed after it:
// a cache may never have seen the owner of a new token (snapshots carry only
// owners of live tokens).
inline const Statement kChangedUsers{
    "", absl::StrCat("SELECT ", pg::kSyncUserColumns,
                     " FROM users u"
                     " WHERE u.version > $1::bigint"
                     "    OR u.user_id IN (SELECT t.user_id FROM tokens t"
                     "                      WHERE t.version > $1::bigint)"
                     " ORDER BY u.version LIMIT $2::bigint")};

inline const Statement kLookupSyncToken{
    "lookup_sync_token", absl::StrCat("SELECT ", pg::kSyncTokenColumns, ", ", pg::kSyncUserColumns,
                                      " FROM tokens t JOIN users u USING (user_id)"
                                      " WHERE t.token_hash = decode($1, 'hex')")};

// A whole ReportUsage batch in one statement. $1 is a JSON array of
// {"id": uuid, "us": micros since the epoch, "from": address or ""}. Per
// token only its latest use counts, and only if it is later than the stored
// one: last_used_at never moves backwards, and a retried batch matches no
// row. Touches no versioned column, so the change feed stays quiet.
inline const Statement kRecordUsage{
    "record_usage",
    absl::StrCat("UPDATE tokens t"
                 "   SET last_used_at = u.ts, last_used_from = nullif(u.from_addr, '')"
                 "  FROM (SELECT DISTINCT ON (r.id) r.id, ",
                 MicrosToTs("r.us"),
                 " AS ts, r.\"from\" AS from_addr"
                 "          FROM jsonb_to_recordset($1::jsonb) AS r(id uuid, us bigint,"
                 "                                                  \"from\" text)"
                 "         ORDER BY r.id, r.us DESC) u"
                 " WHERE t.id = u.id AND (t.last_used_at IS NULL OR t.last_used_at < u.ts)")};

// The statements PgPool prepares on each connection.
inline const std::vector<const Statement*> kPrepared = {
    &kFindTokenForAuth, &kGetUser,         &kInsertUser,      &kUpdateUser, &kInsertToken,
    &kLockTokenOwner,   &kCountLiveTokens, &kGetToken,        &kLockToken,  &kRevokeToken,
    &kInsertEvent,      &kFeedVersion,     &kLookupSyncToken, &kRecordUsage};

}  // namespace tokens::service::sql
