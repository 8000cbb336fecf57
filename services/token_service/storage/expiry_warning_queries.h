#pragma once

#include "absl/strings/str_cat.h"
#include "services/token_service/storage/queries.h"

// The SQL of the expiry warnings (migrations/0005_expiry_warnings.sql), with
// the conventions of queries.h. Not prepared: the scan runs once per
// interval and the delivery statements once per webhook, so planning them
// each time costs nothing that matters, and kPrepared stays the hot path's.
namespace tokens::service::sql {

// $1 today (date), $2 the largest threshold, $3 the expired look-back (days).
// Columns: token id, days left, the thresholds recorded ("7,1"; "" if none).
// A token whose owner is disabled is left out: it works nowhere, and a
// warning about it would only be noise.
inline const Statement kListExpiryCandidates{
    "",
    "SELECT t.id::text, (t.expires_on - $1::date) AS days_left,"
    "       coalesce(string_agg(w.threshold_days::text, ','), '')"
    "  FROM tokens t JOIN users u USING (user_id)"
    "  LEFT JOIN expiry_warnings w ON w.token_id = t.id"
    " WHERE t.revoked_at IS NULL AND NOT u.disabled"
    "   AND t.expires_on <= $1::date + $2::integer"
    "   AND t.expires_on >= $1::date - $3::integer"
    " GROUP BY t.id, t.expires_on"};

// $1 token id, $2 threshold, $3 now (micros). No row: recorded before, or
// the token was revoked (its owner disabled) since the scan read it.
inline const Statement kRecordExpiryWarning{
    "", absl::StrCat("INSERT INTO expiry_warnings (id, token_id, threshold_days, created_at,"
                     "                             next_attempt_at)"
                     " SELECT gen_random_uuid(), t.id, $2::integer, ",
                     MicrosToTs("$3"), ", ", MicrosToTs("$3"),
                     "   FROM tokens t JOIN users u USING (user_id)"
                     "  WHERE t.id = $1::uuid AND t.revoked_at IS NULL AND NOT u.disabled"
                     " ON CONFLICT (token_id, threshold_days) DO NOTHING"
                     " RETURNING id")};

// $1 now (micros), $2 limit. The earliest due first; of one token's
// warnings recorded together, the largest threshold first.
inline const Statement kDueExpiryWarnings{
    "", absl::StrCat("SELECT w.id::text, w.threshold_days, w.attempts, t.id::text, t.name, t.hint,"
                     "       t.user_id, u.email, t.expires_on::text,"
                     "       (t.revoked_at IS NOT NULL OR u.disabled) AS gone"
                     "  FROM expiry_warnings w JOIN tokens t ON t.id = w.token_id"
                     "  JOIN users u ON u.user_id = t.user_id"
                     " WHERE w.state = 'pending' AND w.next_attempt_at <= ",
                     MicrosToTs("$1"),
                     " ORDER BY w.next_attempt_at, w.created_at, w.threshold_days DESC, w.id"
                     " LIMIT $2::integer")};

// $1 id, $2 now (micros).
inline const Statement kMarkExpiryWarningDelivered{
    "", absl::StrCat("UPDATE expiry_warnings SET state = 'delivered', attempts = attempts + 1,"
                     " last_error = '', delivered_at = ",
                     MicrosToTs("$2"), " WHERE id = $1::uuid AND state = 'pending'")};

// $1 id, $2 next attempt (micros), $3 error.
inline const Statement kMarkExpiryWarningFailed{
    "",
    absl::StrCat("UPDATE expiry_warnings SET attempts = attempts + 1, next_attempt_at = ",
                 MicrosToTs("$2"), ", last_error = $3 WHERE id = $1::uuid AND state = 'pending'")};

inline const Statement kMarkExpiryWarningDropped{
    "", "UPDATE expiry_warnings SET state = 'dropped' WHERE id = $1::uuid AND state = 'pending'"};

// Columns: pending count, the earliest next attempt (micros; NULL if none).
inline const Statement kPendingExpiryWarnings{
    "",
    "SELECT count(*),"
    "       (extract(epoch FROM min(next_attempt_at)) * 1000000)::bigint"
    "  FROM expiry_warnings WHERE state = 'pending'"};

// The session-level advisory lock whose holder is the one sender of
// expiry warnings among the replicas on a database; $1 the key.
inline const Statement kTryExpirySenderLock{"", "SELECT pg_try_advisory_lock($1::bigint)"};

}  // namespace tokens::service::sql
