// bench-naive-authz: Envoy's Authorization/Check without a cache. Every check
// looks its token up in PostgreSQL: one indexed query on tokens.token_hash
// (token-service's own authentication query), a prepared statement on a
// connection per lookup thread. Everything else is token-sidecar's code: the
// Check transport (ExtAuthzService, which hands every check that needs a
// lookup to its lookup threads), the bearer parsing and the token codec.
// It shows what the sidecar's in-memory cache buys.
//
// DATABASE_URL (environment) names the database.
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>

#include "absl/flags/flag.h"
#include "absl/time/clock.h"
#include "bench/bench_server.h"
#include "common/auth/bearer.h"
#include "common/log/json_logger.h"
#include "common/thread/worker_pool.h"
#include "common/time/civil_date.h"
#include "common/token/token_codec.h"
#include "pqxx/pqxx"
#include "services/token_service/storage/pg_values.h"
#include "services/token_service/storage/queries.h"
#include "sidecar/domain/verifier.h"
#include "sidecar/transport/ext_authz_service.h"

ABSL_FLAG(std::string, token_prefix, "utk", "prefix of the tokens to accept");
ABSL_FLAG(int, lookup_threads, 16, "threads (and PostgreSQL connections) that look tokens up");

namespace {

using tokens::TokenCodec;
using tokens::TokenFormatError;
using tokens::sidecar::DenyReason;
using tokens::sidecar::Role;
using tokens::sidecar::Verdict;

constexpr char kStatement[] = "find_token_for_auth";

Verdict Deny(DenyReason reason) {
  Verdict verdict;
  verdict.reason = reason;
  return verdict;
}

Role RoleFromName(const std::string& name) {
  for (Role role : {Role::kUser, Role::kAdmin, Role::kService}) {
    if (tokens::sidecar::RoleName(role) == name) return role;
  }
  return Role::kUnspecified;
}

class PostgresVerifier final : public tokens::sidecar::TokenVerifier {
 public:
  PostgresVerifier(std::string database_url, const TokenCodec& codec)
      : database_url_(std::move(database_url)), codec_(codec) {}

  // Only what fails before the query is decided without waiting.
  std::optional<Verdict> CheckHeaderNow(std::optional<absl::string_view> authorization,
                                        absl::string_view client_address) override {
    if (!authorization.has_value()) return Deny(DenyReason::kMissing);
    const std::optional<absl::string_view> token = tokens::ParseBearer(*authorization);
    if (!token.has_value()) return Deny(DenyReason::kMalformed);
    return CheckTokenNow(*token, client_address);
  }

  std::optional<Verdict> CheckTokenNow(absl::string_view token, absl::string_view) override {
    if (token.empty()) return Deny(DenyReason::kMissing);
    if (codec_.Validate(token) != TokenFormatError::kOk) return Deny(DenyReason::kMalformed);
    return std::nullopt;
  }

  Verdict DenyUnresolved() override { return Deny(DenyReason::kUnknown); }

  Verdict CheckHeader(std::optional<absl::string_view> authorization,
                      absl::string_view client_address) override {
    if (std::optional<Verdict> now = CheckHeaderNow(authorization, client_address)) return *now;
    // CheckHeaderNow passed the header, so it parses.
    return Lookup(*tokens::ParseBearer(*authorization));
  }

  Verdict CheckToken(absl::string_view token, absl::string_view client_address) override {
    if (std::optional<Verdict> now = CheckTokenNow(token, client_address)) return *now;
    return Lookup(token);
  }

 private:
  // One indexed query for a well-formed token.
  Verdict Lookup(absl::string_view token) {
    const std::string hash_hex = tokens::service::pg::HashHex(TokenCodec::Hash(token));
    try {
      pqxx::nontransaction txn(Connection());
      const pqxx::result rows = txn.exec_prepared(kStatement, hash_hex);
      if (rows.empty()) return Deny(DenyReason::kUnknown);
      return Decide(rows[0]);
    } catch (const std::exception& e) {
      // Fail closed, like the sidecar without a cache; the next check on
      // this thread reconnects.
      connection_.reset();
      tokens::Logger("naive")->warn("lookup failed: {}", e.what());
      return Deny(DenyReason::kUnknown);
    }
  }

  // Columns of kFindTokenForAuth: id, expires_on, revoked, then the owner
  // (user_id, display_name, email, role, disabled, created_at).
  static Verdict Decide(const pqxx::row& row) {
    if (row[2].as<bool>()) return Deny(DenyReason::kRevoked);
    const Role role = RoleFromName(row[6].as<std::string>());
    if (role == Role::kUnspecified) return Deny(DenyReason::kUnknown);
    if (row[7].as<bool>()) return Deny(DenyReason::kUserDisabled);
    const absl::CivilDay expires_on = tokens::service::pg::DateOf(row[1]);
    if (tokens::UtcDay(absl::Now()) >= expires_on) return Deny(DenyReason::kExpired);
    Verdict verdict;
    verdict.allowed = true;
    verdict.principal.user_id = row[3].as<std::string>();
    verdict.principal.role = role;
    verdict.principal.token_id = tokens::sidecar::ParseTokenId(row[0].as<std::string>())
                                     .value_or(tokens::sidecar::TokenId{});
    verdict.principal.expires_on = expires_on;
    return verdict;
  }

  // Each lookup thread keeps its own connection, as a per-thread pool would.
  pqxx::connection& Connection() {
    if (connection_ == nullptr) {
      connection_ = std::make_unique<pqxx::connection>(database_url_);
      connection_->prepare(kStatement, std::string(tokens::service::sql::kFindTokenForAuth));
    }
    return *connection_;
  }

  const std::string database_url_;
  const TokenCodec& codec_;
  static thread_local std::unique_ptr<pqxx::connection> connection_;
};

thread_local std::unique_ptr<pqxx::connection> PostgresVerifier::connection_;

}  // namespace

int main(int argc, char** argv) {
  const std::string listen = tokens::bench::InitServer(
      argc, argv,
      "bench-naive-authz: Authorization/Check with one PostgreSQL query per check, for "
      "benchmarks; DATABASE_URL names the database");
  const char* database_url = std::getenv("DATABASE_URL");
  if (database_url == nullptr || *database_url == '\0') {
    std::fprintf(stderr, "bench-naive-authz: DATABASE_URL is not set\n");
    return 2;
  }
  const std::string prefix = absl::GetFlag(FLAGS_token_prefix);
  if (!TokenCodec::IsValidPrefix(prefix)) {
    std::fprintf(stderr, "bench-naive-authz: --token_prefix: not a valid prefix\n");
    return 2;
  }
  const TokenCodec codec(prefix);
  PostgresVerifier verifier(database_url, codec);
  const int threads = absl::GetFlag(FLAGS_lookup_threads);
  if (threads < 1 || threads > 1024) {
    std::fprintf(stderr, "bench-naive-authz: --lookup_threads: must be from 1 to 1024\n");
    return 2;
  }
  tokens::WorkerPool lookups(threads, 64 * static_cast<size_t>(threads));
  tokens::sidecar::ExtAuthzService service(verifier, lookups);
  return tokens::bench::Serve(service, listen);
}
