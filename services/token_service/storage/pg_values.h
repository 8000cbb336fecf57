#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/time/civil_date.h"
#include "common/token/token_codec.h"
#include "pqxx/pqxx"

// How values cross the libpqxx boundary, shared by the Pg* stores (see the
// conventions at the top of queries.h). Storage-internal.
namespace tokens::service::pg {

// libpqxx 6 binds a null `const char*` as SQL NULL; these keep optional
// parameters readable at the call sites.
inline const char* OrNull(const std::optional<std::string>& value) {
  return value.has_value() ? value->c_str() : nullptr;
}
inline std::optional<std::string> NonEmpty(const std::string& value) {
  if (value.empty()) return std::nullopt;
  return value;
}

// Instants travel as microseconds since the Unix epoch.
inline std::string Micros(absl::Time t) { return absl::StrCat(absl::ToUnixMicros(t)); }
inline std::optional<absl::Time> TimeOrNull(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return absl::FromUnixMicros(f.as<int64_t>());
}

// Hashes travel as hex text.
inline std::string HashHex(const TokenHash& hash) {
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(hash.data()), hash.size()));
}
// The column is CHECKed to be 32 bytes, so the copy always fills the hash.
inline TokenHash HashOf(const pqxx::field& hex) {
  const std::string bytes = absl::HexStringToBytes(hex.as<std::string>());
  TokenHash hash{};
  for (size_t i = 0; i < hash.size() && i < bytes.size(); ++i) {
    hash[i] = static_cast<uint8_t>(bytes[i]);
  }
  return hash;
}

// Dates come from PostgreSQL's own to_char, so they always parse.
inline absl::CivilDay DateOf(const pqxx::field& f) {
  return ParseIsoDate(f.as<std::string>()).value_or(absl::CivilDay());
}

}  // namespace tokens::service::pg
