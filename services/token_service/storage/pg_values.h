#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/token/token_codec.h"
#include "pqxx/pqxx"
#include "services/token_service/storage/queries.h"

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
// The column is CHECKed to be 32 bytes; anything else is refused by the
// row readers (rows.h), not padded.
inline std::optional<TokenHash> HashOf(const pqxx::field& hex) {
  const std::string bytes = absl::HexStringToBytes(hex.as<std::string>());
  TokenHash hash{};
  if (bytes.size() != hash.size()) return std::nullopt;
  for (size_t i = 0; i < hash.size(); ++i) hash[i] = static_cast<uint8_t>(bytes[i]);
  return hash;
}

// Runs `statement`: by name if PgPool prepared it, else with its text.
template <typename... Args>
pqxx::result Exec(pqxx::work& txn, const sql::Statement& statement, Args&&... args) {
  if (statement.name.empty()) return txn.exec_params(statement.text, std::forward<Args>(args)...);
  return txn.exec_prepared(statement.name, std::forward<Args>(args)...);
}

}  // namespace tokens::service::pg
