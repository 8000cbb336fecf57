#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace tokens::service {

// Opaque keyset-pagination cursors that callers cannot forge. A page token
// carries the sort key of the last row served plus a fingerprint of the
// request's filters (a token reused with other filters is refused instead of
// silently skipping rows), sealed with a MAC under a key only token-service
// holds: a page token it did not issue, or one changed in a single bit, is
// refused before any part of it is read, so no made-up cursor reaches the
// database. The readers below range-check each key all the same.
//
// Format: base64url, no padding, of
//   kind '|' hex(fingerprint) '|' key ('|' key)...  followed by  tag
// where tag is the first 16 bytes of HMAC-SHA256(key, "tokens.page.v2" 0x00
// plain). The key is --page_token_key, which every replica of a deployment
// shares so that a page from one continues on another; without it, a random
// key per process, so that a page token works only on the process that
// issued it and until it restarts (INVALID_ARGUMENT elsewhere: start over).
class PageTokenCodec {
 public:
  // Keys at least this long (bytes); config.cc refuses shorter ones.
  static constexpr size_t kMinKeySize = 32;

  // `key` empty: this process's random key, the same for every codec.
  explicit PageTokenCodec(absl::string_view key = {});

  // Stable across processes and replicas (FNV-1a of the parts).
  static uint64_t Fingerprint(std::initializer_list<absl::string_view> parts);

  // `kind` names the list ("tokens", "users", "events"); `keys` must not
  // contain '|'.
  std::string Encode(absl::string_view kind, uint64_t fingerprint,
                     const std::vector<std::string>& keys) const;

  // The keys of a token made by Encode with this key, the same kind and
  // fingerprint and number of keys; otherwise a FieldError on `field`.
  absl::StatusOr<std::vector<std::string>> Decode(absl::string_view field, absl::string_view token,
                                                  absl::string_view kind, uint64_t fingerprint,
                                                  size_t key_count) const;

  // Lists fetch page_size + 1 rows: the extra one only says another page
  // exists. Drops it and returns the token that resumes after the last row
  // kept (`keys_of(row)` gives its sort key), or "" on the last page.
  template <typename Row, typename KeysOf>
  std::string TrimToPage(std::vector<Row>& rows, int page_size, absl::string_view kind,
                         uint64_t fingerprint, KeysOf keys_of) const {
    if (rows.size() <= static_cast<size_t>(page_size)) return "";
    rows.resize(page_size);
    return Encode(kind, fingerprint, keys_of(rows.back()));
  }

 private:
  std::string Tag(absl::string_view plain) const;

  std::string key_;
};

// Readers of one decoded key, refusing (a FieldError on `field`) any value
// that no row could have written.
//
// An instant as microseconds since the epoch, from 1970 to the year 9999.
absl::StatusOr<absl::Time> ReadPageKeyTime(absl::string_view field, absl::string_view key);
// A row id of a bigserial column: 1 and up.
absl::StatusOr<int64_t> ReadPageKeyRowId(absl::string_view field, absl::string_view key);

}  // namespace tokens::service
