// bench-naive-authz: Envoy's Authorization/Check without a cache. Every check
// looks its token up in PostgreSQL: one indexed query on tokens.token_hash
// (token-service's own authentication query), a prepared statement on a
// connection per lookup thread. Everything else is token-sidecar's code: the
// Check transport (ExtAuthzService, which hands every check that needs a
// lookup to its lookup threads), the bearer parsing and the token codec;
// the row is read and judged (Decide, common/auth/decide.h) as token-service
// and the sidecar judge it.
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
#include "common/auth/decide.h"
#include "common/log/json_logger.h"
#include "common/thread/worker_pool.h"
#include "common/token/token_codec.h"
#include "pqxx/pqxx"
#include "services/token_service/domain/model.h"
#include "services/token_service/storage/pg_values.h"
#include "services/token_service/storage/queries.h"
#include "services/token_service/storage/rows.h"
#include "sidecar/domain/verifier.h"
#include "sidecar/transport/ext_authz_service.h"

ABSL_FLAG(std::string, token_prefix, "utk", "prefix of the tokens to accept");
ABSL_FLAG(int, lookup_threads, 16, "threads (and PostgreSQL connections) that look tokens up");

namespace {

using tokens::DenyReason;
using tokens::TokenCodec;
using tokens::sidecar::CheckResult;

CheckResult Deny(DenyReason reason) {
  CheckResult result;
  result.reason = reason;
  return result;
}

class PostgresVerifier final : public tokens::sidecar::TokenVerifier {
 public:
  PostgresVerifier(std::string database_url, const TokenCodec& codec)
      : database_url_(std::move(database_url)), codec_(codec) {}

  // Only what fails before the query is decided without waiting.
  std::optional<CheckResult> CheckHeaderNow(std::optional<absl::string_view> authorization,
                                            absl::string_view) override {
    return DeniedNow(tokens::ReadAuthorization(authorization, codec_));
  }

  std::optional<CheckResult> CheckTokenNow(absl::string_view token, absl::string_view) override {
    return DeniedNow(tokens::ReadToken(token, codec_));
  }

  CheckResult DenyUnresolved() override { return Deny(DenyReason::kUnknown); }

  CheckResult CheckHeader(std::optional<absl::string_view> authorization,
                          absl::string_view) override {
    return Check(tokens::ReadAuthorization(authorization, codec_));
  }

  CheckResult CheckToken(absl::string_view token, absl::string_view) override {
    return Check(tokens::ReadToken(token, codec_));
  }

 private:
  static std::optional<CheckResult> DeniedNow(const tokens::Presented& presented) {
    if (!presented.denied.has_value()) return std::nullopt;
    return Deny(*presented.denied);
  }

  CheckResult Check(const tokens::Presented& presented) {
    if (presented.denied.has_value()) return Deny(*presented.denied);
    return Lookup(presented.token);
  }

  // One indexed query for a well-formed token.
  CheckResult Lookup(absl::string_view token) {
    const std::string hash_hex = tokens::service::pg::HashHex(TokenCodec::Hash(token));
    try {
      pqxx::nontransaction txn(Connection());
      const pqxx::result rows =
          txn.exec_prepared(tokens::service::sql::kFindTokenForAuth.name, hash_hex);
      if (rows.empty()) return Deny(DenyReason::kUnknown);
      return Judge(rows[0]);
    } catch (const std::exception& e) {
      // Fail closed, like the sidecar without a cache; the next check on
      // this thread reconnects.
      connection_.reset();
      tokens::Logger("naive")->warn("lookup failed: {}", e.what());
      return Deny(DenyReason::kUnknown);
    }
  }

  // The row read as token-service reads it, judged by the same Decide as
  // token-service and the sidecar.
  static CheckResult Judge(const pqxx::row& row) {
    absl::StatusOr<tokens::service::TokenAuthRecord> record =
        tokens::service::pg::ReadTokenAuth(row);
    if (!record.ok()) {
      tokens::Logger("naive")->warn("unreadable row: {}", record.status().ToString());
      return Deny(DenyReason::kUnknown);
    }
    const tokens::TokenFacts facts = tokens::service::FactsOf(*record);
    const tokens::Verdict verdict = tokens::Decide(facts, absl::Now());
    if (!verdict.allowed) return Deny(verdict.reason);
    CheckResult result;
    result.allowed = true;
    result.principal = {facts.user_id, *facts.role, facts.token_id, facts.expires_on};
    return result;
  }

  // Each lookup thread keeps its own connection, as a per-thread pool would.
  pqxx::connection& Connection() {
    if (connection_ == nullptr) {
      connection_ = std::make_unique<pqxx::connection>(database_url_);
      connection_->prepare(tokens::service::sql::kFindTokenForAuth.name,
                           tokens::service::sql::kFindTokenForAuth.text);
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
