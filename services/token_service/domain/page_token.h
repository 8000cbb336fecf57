#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tokens::service {

// Opaque keyset-pagination cursors. A page token carries the sort key of the
// last row served plus a fingerprint of the request's filters: a token reused
// with other filters is rejected instead of silently skipping rows.
class PageToken {
 public:
  // Stable across processes and replicas (FNV-1a of the parts).
  static uint64_t Fingerprint(std::initializer_list<absl::string_view> parts);

  // `kind` names the list ("tokens", "users", "events"); `keys` must not
  // contain '|'.
  static std::string Encode(absl::string_view kind, uint64_t fingerprint,
                            const std::vector<std::string>& keys);

  // The keys of a token made by Encode with the same kind, fingerprint and
  // number of keys; otherwise a FieldError on `field`.
  static absl::StatusOr<std::vector<std::string>> Decode(absl::string_view field,
                                                         absl::string_view token,
                                                         absl::string_view kind,
                                                         uint64_t fingerprint, size_t key_count);

  // Lists fetch page_size + 1 rows: the extra one only says another page
  // exists. Drops it and returns the token that resumes after the last row
  // kept (`keys_of(row)` gives its sort key), or "" on the last page.
  template <typename Row, typename KeysOf>
  static std::string TrimToPage(std::vector<Row>& rows, int page_size, absl::string_view kind,
                                uint64_t fingerprint, KeysOf keys_of) {
    if (rows.size() <= static_cast<size_t>(page_size)) return "";
    rows.resize(page_size);
    return Encode(kind, fingerprint, keys_of(rows.back()));
  }
};

}  // namespace tokens::service
