#pragma once

#include "absl/strings/string_view.h"

// Every SQL statement of the token-service, in one place. Parameters are
// always bound ($1...), never spliced into the text. Instants travel as
// microseconds since the Unix epoch (exact both ways, unlike float seconds),
// dates as 'YYYY-MM-DD' text, hashes as hex text.
namespace tokens::service::sql {

// $n (bigint micros) -> timestamptz, and timestamptz -> bigint micros.
#define TOKENS_MICROS_TO_TS(n) "('epoch'::timestamptz + (" n ")::bigint * interval '1 microsecond')"
#define TOKENS_TS_TO_MICROS(col) "(extract(epoch FROM " col ") * 1000000)::bigint"

// Columns read into a TokenRecord, in this order.
#define TOKENS_TOKEN_COLUMNS \
  "t.id::text, t.name, t.hint, t.user_id, u.display_name, "                          \
  TOKENS_TS_TO_MICROS("t.created_at") ", " TOKENS_TS_TO_MICROS("t.last_used_at") ", " \
  "to_char(t.expires_on, 'YYYY-MM-DD'), " TOKENS_TS_TO_MICROS("t.revoked_at")

// Columns read into a User, in this order.
#define TOKENS_USER_COLUMNS \
  "u.user_id, u.display_name, u.email, u.role, u.disabled, " TOKENS_TS_TO_MICROS("u.created_at")

inline constexpr absl::string_view kFindTokenForAuth =
    "SELECT t.id::text, to_char(t.expires_on, 'YYYY-MM-DD'), t.revoked_at IS NOT "
    "NULL, " TOKENS_USER_COLUMNS
    " FROM tokens t JOIN users u USING (user_id)"
    " WHERE t.token_hash = decode($1, 'hex')";

inline constexpr absl::string_view kGetUser =
    "SELECT " TOKENS_USER_COLUMNS " FROM users u WHERE u.user_id = $1";

inline constexpr absl::string_view kInsertUser =
    "INSERT INTO users AS u (user_id, display_name, email, role, created_at, updated_at)"
    " VALUES ($1, $2, $3, $4, " TOKENS_MICROS_TO_TS("$5") ", " TOKENS_MICROS_TO_TS("$5") ")"
    " RETURNING " TOKENS_USER_COLUMNS;

// NULL parameters leave a column as it is. The change version moves (by
// trigger, see migrations/0002_change_feed.sql) only when something a
// sidecar caches (role, disabled) changes.
inline constexpr absl::string_view kUpdateUser =
    "UPDATE users u SET"
    "   display_name = coalesce($2, u.display_name),"
    "   email = coalesce($3, u.email),"
    "   role = coalesce($4, u.role),"
    "   disabled = coalesce($5::boolean, u.disabled),"
    "   updated_at = " TOKENS_MICROS_TO_TS("$6")
    " WHERE u.user_id = $1"
    " RETURNING " TOKENS_USER_COLUMNS;

inline constexpr absl::string_view kListUsers = "SELECT " TOKENS_USER_COLUMNS
                                                " FROM users u"
                                                " WHERE ($1::text IS NULL OR u.user_id > $1)"
                                                " ORDER BY u.user_id LIMIT $2";

// $9: the name's search form (FoldForSearch), see migrations/0003_name_search.sql.
inline constexpr absl::string_view kInsertToken =
    "INSERT INTO tokens (id, user_id, name, token_hash, hint, created_at, expires_on, rotated_from,"
    "                    name_folded)"
    " VALUES ($1::uuid, $2, $3, decode($4, 'hex'), $5, " TOKENS_MICROS_TO_TS("$6") ", $7::date,"
    "         $8::uuid, $9)";

// Serializes the inserts for one owner ($1) until commit, so that the cap on
// live tokens is counted by one of them at a time. FOR NO KEY UPDATE rather
// than FOR UPDATE: the foreign-key checks of other writes (FOR KEY SHARE)
// need not wait for it. No row: no such user.
inline constexpr absl::string_view kLockTokenOwner =
    "SELECT 1 FROM users WHERE user_id = $1 FOR NO KEY UPDATE";

// Live tokens of owner $1 on UTC day $2: not revoked, not yet expired. The
// partial index tokens_live_name_key (user_id, name) WHERE revoked_at IS NULL
// finds them.
inline constexpr absl::string_view kCountLiveTokens =
    "SELECT count(*) FROM tokens"
    " WHERE user_id = $1 AND revoked_at IS NULL AND expires_on > $2::date";

inline constexpr absl::string_view kGetToken = "SELECT " TOKENS_TOKEN_COLUMNS
                                               " FROM tokens t JOIN users u USING (user_id)"
                                               " WHERE t.id = $1::uuid";

// Locks the row so a concurrent revoke or rotate waits for this one.
inline constexpr absl::string_view kLockToken =
    "SELECT t.revoked_at IS NOT NULL, to_char(t.expires_on, 'YYYY-MM-DD')"
    " FROM tokens t WHERE t.id = $1::uuid FOR UPDATE";

// The change version is taken by trigger.
inline constexpr absl::string_view kRevokeToken =
    "UPDATE tokens SET revoked_at = " TOKENS_MICROS_TO_TS(
        "$2") " WHERE id = $1::uuid AND revoked_at IS NULL";

// Keyset page, newest first. $1 user (NULL: all users), $2 status filter
// (NULL, 'ACTIVE', 'EXPIRED', 'REVOKED'), $3 today (decides EXPIRED), $4 name
// fragment in search form (FoldForSearch; NULL: none) and $9 as given, for
// rows without a search form (see migrations/0003_name_search.sql), $5
// expires-before date (NULL: none), $6/$7 the cursor (created_at micros, id;
// NULL: first page), $8 limit. Statements are
// planned with their parameters, so the NULL branches fold away and the
// (user_id, created_at, id) or (created_at, id) index drives the scan.
inline constexpr absl::string_view kListTokens =
    "SELECT " TOKENS_TOKEN_COLUMNS " FROM tokens t JOIN users u USING (user_id)"
    " WHERE ($1::text IS NULL OR t.user_id = $1)"
    "   AND ($2::text IS NULL"
    "        OR ($2 = 'REVOKED' AND t.revoked_at IS NOT NULL)"
    "        OR ($2 = 'ACTIVE' AND t.revoked_at IS NULL AND t.expires_on > $3::date)"
    "        OR ($2 = 'EXPIRED' AND t.revoked_at IS NULL AND t.expires_on <= $3::date))"
    "   AND ($4::text IS NULL"
    "        OR (t.name_folded IS NOT NULL AND strpos(t.name_folded, $4) > 0)"
    "        OR (t.name_folded IS NULL AND strpos(lower(t.name), lower($9::text)) > 0))"
    "   AND ($5::date IS NULL OR t.expires_on < $5::date)"
    "   AND ($6::bigint IS NULL"
    "        OR (t.created_at, t.id) < (" TOKENS_MICROS_TO_TS("$6") ", $7::uuid))"
    " ORDER BY t.created_at DESC, t.id DESC LIMIT $8";

inline constexpr absl::string_view kInsertEvent =
    "INSERT INTO token_events (kind, occurred_at, actor_user_id, subject_user_id, token_id,"
    "                          token_name, previous_token_id, detail)"
    " VALUES ($1, " TOKENS_MICROS_TO_TS("$2") ", $3, $4, $5::uuid, $6, $7::uuid, $8)";

inline constexpr absl::string_view kListEvents =
    "SELECT e.id, e.kind, " TOKENS_TS_TO_MICROS("e.occurred_at") ", e.actor_user_id,"
    "       e.subject_user_id, coalesce(e.token_id::text, ''), e.token_name,"
    "       coalesce(e.previous_token_id::text, ''), e.detail"
    " FROM token_events e"
    " WHERE ($1::text IS NULL OR e.subject_user_id = $1)"
    "   AND ($2::uuid IS NULL OR e.token_id = $2::uuid OR e.previous_token_id = $2::uuid)"
    "   AND ($3::bigint IS NULL OR e.id < $3::bigint)"
    " ORDER BY e.id DESC LIMIT $4";

// --- The change feed (tokens.v1.TokenSync) -----------------------------------

// Columns read into a SyncedToken, then a SyncedUser, in this order.
#define TOKENS_SYNC_TOKEN_COLUMNS                                                             \
  "encode(t.token_hash, 'hex'), t.id::text, t.user_id, to_char(t.expires_on, 'YYYY-MM-DD'), " \
  "t.revoked_at IS NOT NULL, t.version, coalesce(t.rotated_from::text, '')"
#define TOKENS_SYNC_USER_COLUMNS "u.user_id, u.role, u.disabled, u.version"

// First statement of every feed read: one consistent view of the database
// for the version and the rows that go with it.
inline constexpr absl::string_view kBeginFeedRead =
    "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY";

// The highest change version committed. Versions commit in order (see
// migrations/0002_change_feed.sql), so every version up to it is visible
// in the same snapshot. max() reads the end of the version indexes.
inline constexpr absl::string_view kFeedVersion =
    "SELECT greatest((SELECT max(version) FROM tokens), (SELECT max(version) FROM users), 0)";

// Every token that can still authenticate ($1: today, UTC) with its owner,
// through a server-side cursor so that no side holds all of them at once.
// Disabled users' tokens are included: the user may be enabled again.
inline constexpr absl::string_view kDeclareSnapshot =
    "DECLARE feed_snapshot NO SCROLL CURSOR FOR"
    " SELECT " TOKENS_SYNC_TOKEN_COLUMNS ", " TOKENS_SYNC_USER_COLUMNS
    " FROM tokens t JOIN users u USING (user_id)"
    " WHERE t.revoked_at IS NULL AND t.expires_on > $1::date";
// Rows per chunk; kSnapshotFetchRows states the count of kFetchSnapshot.
inline constexpr absl::string_view kFetchSnapshot = "FETCH 5000 FROM feed_snapshot";
inline constexpr int kSnapshotFetchRows = 5000;

// Tokens changed after version $1, oldest change first; revoked and expired
// ones included, so a cache can drop them. $2 limits the rows (NULL: all).
inline constexpr absl::string_view kChangedTokens =
    "SELECT " TOKENS_SYNC_TOKEN_COLUMNS
    " FROM tokens t WHERE t.version > $1::bigint ORDER BY t.version LIMIT $2::bigint";

// Users changed after version $1, and the owners of tokens changed after it:
// a cache may never have seen the owner of a new token (snapshots carry only
// owners of live tokens).
inline constexpr absl::string_view kChangedUsers =
    "SELECT " TOKENS_SYNC_USER_COLUMNS
    " FROM users u"
    " WHERE u.version > $1::bigint"
    "    OR u.user_id IN (SELECT t.user_id FROM tokens t WHERE t.version > $1::bigint)"
    " ORDER BY u.version LIMIT $2::bigint";

inline constexpr absl::string_view kLookupSyncToken =
    "SELECT " TOKENS_SYNC_TOKEN_COLUMNS ", " TOKENS_SYNC_USER_COLUMNS
    " FROM tokens t JOIN users u USING (user_id)"
    " WHERE t.token_hash = decode($1, 'hex')";

// A whole ReportUsage batch in one statement. $1 is a JSON array of
// {"id": uuid, "us": micros since the epoch, "from": address or ""}. Per
// token only its latest use counts, and only if it is later than the stored
// one: last_used_at never moves backwards, and a retried batch matches no
// row. Touches no versioned column, so the change feed stays quiet.
inline constexpr absl::string_view kRecordUsage =
    "UPDATE tokens t"
    "   SET last_used_at = u.ts, last_used_from = nullif(u.from_addr, '')"
    "  FROM (SELECT DISTINCT ON (r.id) r.id, " TOKENS_MICROS_TO_TS("r.us") " AS ts,"
    "               r.\"from\" AS from_addr"
    "          FROM jsonb_to_recordset($1::jsonb) AS r(id uuid, us bigint, \"from\" text)"
    "         ORDER BY r.id, r.us DESC) u"
    " WHERE t.id = u.id AND (t.last_used_at IS NULL OR t.last_used_at < u.ts)";

#undef TOKENS_SYNC_USER_COLUMNS
#undef TOKENS_SYNC_TOKEN_COLUMNS
#undef TOKENS_USER_COLUMNS
#undef TOKENS_TOKEN_COLUMNS
#undef TOKENS_TS_TO_MICROS
#undef TOKENS_MICROS_TO_TS

}  // namespace tokens::service::sql
