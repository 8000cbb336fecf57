// Envoy's Check on arbitrary bytes: what parses as a CheckRequest goes
// through ExtAuthzService's steps (RequiredScopes, FindAuthorization,
// ChooseClientAddress, the real Verifier, WriteCheckResponse and AllowBytes),
// over a TokenCache loaded with the tokens below, and the answer must be a
// well-formed allow (only for a token that is really good and has the route's
// scopes, or none), a well-formed 401, a 403 insufficient_scope (only for a
// good token lacking one) or a 500 (only for a route whose required_scopes
// is not a list of scope names).
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/auth/scopes.h"
#include "common/time/clock.h"
#include "common/token/token_codec.h"
#include "envoy/service/auth/v3/external_auth.pb.h"
#include "google/protobuf/stubs/logging.h"
#include "sidecar/domain/miss_resolver.h"
#include "sidecar/domain/model.h"
#include "sidecar/domain/token_cache.h"
#include "sidecar/domain/usage.h"
#include "sidecar/domain/verifier.h"
#include "sidecar/transport/allow_bytes.h"
#include "sidecar/transport/client_address.h"
#include "sidecar/transport/ext_authz_service.h"

namespace tokens::sidecar {
namespace {

using envoy::config::core::v3::HeaderValueOption;
using envoy::service::auth::v3::CheckRequest;
using envoy::service::auth::v3::CheckResponse;

// Fixtures with valid checksums, made up for this target (no token-service
// ever issued them). fuzz/corpus/ext_authz_check_fuzzer/ presents them.
constexpr absl::string_view kAliceToken = "utk_FuzzFixtureAliceUserNotASecret0010lDYfk";
constexpr absl::string_view kBobToken = "utk_FuzzFixtureBobAdminNotASecret00022YPNOE";
constexpr absl::string_view kCarolToken = "utk_FuzzFixtureCarolDisabledNotSecret44bobU";
constexpr absl::string_view kDaveToken = "utk_FuzzFixtureDaveExpiredNotASecret424ku9z";
// Well-formed but unknown: only the cache-miss path sees it.
constexpr absl::string_view kEveToken = "utk_FuzzFixtureEveUnknownNotASecret050YtQDb";

constexpr int64_t kVersion = 100;
constexpr int kRpcOk = 0;
constexpr int kRpcPermissionDenied = 7;
constexpr int kRpcInternal = 13;
constexpr int kRpcUnauthenticated = 16;

struct Fixture {
  absl::string_view secret;
  const char* user_id;
  Role role;
  bool user_disabled;
  absl::CivilDay expires_on;
  bool good;  // allowed at kNow
  std::vector<std::string> scopes;
};

// Alice's token names things:read only; Bob's none (his full access).
const Fixture kFixtures[] = {
    {kAliceToken, "alice", Role::kUser, false, absl::CivilDay(2027, 4, 11), true, {"things:read"}},
    {kBobToken, "bob", Role::kAdmin, false, absl::CivilDay(2027, 4, 11), true, {}},
    {kCarolToken, "carol", Role::kUser, true, absl::CivilDay(2027, 4, 11), false, {}},
    {kDaveToken, "dave", Role::kService, false, absl::CivilDay(2026, 5, 1), false, {}},
};

// token-service's LookupToken for a token it never issued.
class NotFoundLookup final : public TokenLookup {
 public:
  absl::StatusOr<std::optional<LookupResult>> Lookup(const TokenHash&) override {
    return std::optional<LookupResult>();
  }
};

// What lives across inputs: nothing in it changes, since the lookup finds
// nothing to insert.
struct World {
  World() {
    // Invalid UTF-8 in a string field is a parse failure that protobuf also
    // logs; the fuzzer would print it for every such input.
    google::protobuf::SetLogHandler(nullptr);

    for (const Fixture& fixture : kFixtures) {
      if (codec.Validate(fixture.secret) != TokenFormatError::kOk) __builtin_trap();
    }
    if (codec.Validate(kEveToken) != TokenFormatError::kOk) __builtin_trap();

    std::unique_ptr<TokenCache::SnapshotBuilder> builder = cache.StartSnapshot();
    uint8_t n = 0;
    for (const Fixture& fixture : kFixtures) {
      builder->AddUser(SyncedUser{fixture.user_id, fixture.role, fixture.user_disabled, kVersion});
      SyncedToken token;
      token.hash = TokenCodec::Hash(fixture.secret);
      std::array<uint8_t, 16> id{};
      id[0] = 0xf0;
      id[15] = ++n;
      token.id = TokenId(id);
      token.user_id = fixture.user_id;
      token.expires_on = fixture.expires_on;
      token.version = kVersion;
      token.scopes = fixture.scopes;
      builder->AddToken(token);
    }
    cache.Publish(std::move(builder), kVersion);
  }

  TokenCodec codec;
  FakeClock clock{absl::FromCivil(absl::CivilSecond(2026, 6, 1, 12, 0, 0), absl::UTCTimeZone())};
  TokenCache cache;
  NotFoundLookup lookup;
};

// Every header value in the request that could carry a token.
std::vector<absl::string_view> HeaderValues(const CheckRequest& request) {
  const auto& http = request.attributes().request().http();
  std::vector<absl::string_view> values;
  for (const auto& [key, value] : http.headers()) values.push_back(value);
  for (const auto& header : http.header_map().headers()) {
    values.push_back(header.value());
    values.push_back(header.raw_value());
  }
  return values;
}

std::optional<absl::string_view> HeaderOf(
    const google::protobuf::RepeatedPtrField<HeaderValueOption>& headers, absl::string_view key) {
  for (const HeaderValueOption& option : headers) {
    if (option.header().key() == key) return option.header().value();
  }
  return std::nullopt;
}

// An allow names one of the good fixtures' owners, the request carried that
// very token, and the token has the route's scopes (or names none).
void CheckAllow(const CheckRequest& request, const RouteScopes& route,
                const CheckResponse& response) {
  if (!response.has_ok_response() || route.misconfigured) __builtin_trap();
  const auto& ok = response.ok_response();
  const std::optional<absl::string_view> user_id = HeaderOf(ok.headers(), kUserIdHeader);
  if (!user_id.has_value() || !HeaderOf(ok.headers(), kUserRoleHeader).has_value() ||
      !HeaderOf(ok.headers(), kTokenIdHeader).has_value() ||
      !HeaderOf(ok.headers(), kTokenExpiresOnHeader).has_value() ||
      !HeaderOf(ok.response_headers_to_add(), kClientExpiresOnHeader).has_value()) {
    __builtin_trap();
  }
  const Fixture* owner = nullptr;
  for (const Fixture& fixture : kFixtures) {
    if (fixture.good && *user_id == fixture.user_id) owner = &fixture;
  }
  if (owner == nullptr) __builtin_trap();
  if (!MissingScopes(owner->scopes, route.required).empty()) __builtin_trap();
  // The scopes header is the owner's, or removed for a token without scopes.
  const std::optional<absl::string_view> scopes = HeaderOf(ok.headers(), kTokenScopesHeader);
  const int removed = owner->scopes.empty() ? 2 : 1;
  if (ok.headers_to_remove_size() != removed || ok.headers_to_remove(0) != "authorization") {
    __builtin_trap();
  }
  if (owner->scopes.empty() ? (scopes.has_value() || ok.headers_to_remove(1) != kTokenScopesHeader)
                            : (!scopes.has_value() || *scopes != JoinScopes(owner->scopes))) {
    __builtin_trap();
  }
  bool presented = false;
  for (absl::string_view value : HeaderValues(request)) {
    presented = presented || absl::StrContains(value, owner->secret);
  }
  if (!presented) __builtin_trap();
}

void CheckDeny(const CheckResponse& response, envoy::type::v3::StatusCode http_status) {
  if (!response.has_denied_response() || response.has_ok_response()) __builtin_trap();
  const auto& denied = response.denied_response();
  if (denied.status().code() != http_status) __builtin_trap();
  const std::optional<absl::string_view> challenge = HeaderOf(denied.headers(), "www-authenticate");
  switch (http_status) {
    case envoy::type::v3::Unauthorized:
      if (challenge != R"(Bearer error="invalid_token")") __builtin_trap();
      break;
    case envoy::type::v3::Forbidden:
      if (!challenge.has_value() ||
          !absl::StartsWith(*challenge, R"(Bearer error="insufficient_scope", scope=")")) {
        __builtin_trap();
      }
      break;
    default:
      if (challenge.has_value()) __builtin_trap();
  }
  if (denied.body().empty()) __builtin_trap();
}

void Check(const uint8_t* data, size_t size) {
  static World* const world = new World;

  CheckRequest request;
  if (!request.ParseFromArray(data, static_cast<int>(size))) return;

  // Fresh per input, so each input's answer depends on that input alone:
  // the resolver remembers misses and rate-limits, the recorder collects.
  UsageRecorder usage;
  // The lookup finds nothing, so there is never anything to insert.
  MissResolver resolver(world->lookup, world->clock, MissResolverOptions{},
                        [](const LookupResult&) -> bool { __builtin_trap(); });
  Verifier verifier(world->codec, world->cache, resolver, usage, world->clock);

  // What ExtAuthzService::Check does, with the waiting check the service
  // makes on a lookup thread after a miss; a misconfigured route asks no
  // verifier.
  const RouteScopes route = RequiredScopes(request);
  const std::string client_address =
      ChooseClientAddress(ClientAddress(request), [] { return std::string("ipv4:127.0.0.1:1"); });
  if (client_address.size() > 45) __builtin_trap();
  const CheckResult verdict =
      route.misconfigured ? CheckResult{}
                          : verifier.CheckHeader(FindAuthorization(request), client_address);
  CheckResponse response;
  WriteCheckResponse(verdict, route, ExtAuthzOptions{}, &response);
  if (AllowedOn(verdict, route) != (response.status().code() == kRpcOk)) __builtin_trap();
  if (AllowedOn(verdict, route)) {
    // The service sends an allowing answer as AllowBytes: the same bytes.
    const AllowBytes bytes(verdict.principal, "authorization");
    std::string written(bytes.size(), '\0');
    bytes.WriteTo(reinterpret_cast<uint8_t*>(written.data()));
    if (written != response.SerializeAsString()) __builtin_trap();
  }

  // A valid token was used, whether or not the route's scopes let it in.
  const size_t recorded = usage.Drain().size();
  switch (response.status().code()) {
    case kRpcOk:
      CheckAllow(request, route, response);
      if (recorded != 1) __builtin_trap();
      break;
    case kRpcUnauthenticated:
      CheckDeny(response, envoy::type::v3::Unauthorized);
      if (recorded != 0 || verdict.allowed || route.misconfigured) __builtin_trap();
      break;
    case kRpcPermissionDenied:
      CheckDeny(response, envoy::type::v3::Forbidden);
      if (recorded != 1 || !verdict.allowed || route.misconfigured ||
          MissingScopes(verdict.principal.scopes->names, route.required).empty()) {
        __builtin_trap();
      }
      break;
    case kRpcInternal:
      CheckDeny(response, envoy::type::v3::InternalServerError);
      if (recorded != 0 || !route.misconfigured) __builtin_trap();
      break;
    default:
      __builtin_trap();
  }
}

}  // namespace
}  // namespace tokens::sidecar

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tokens::sidecar::Check(data, size);
  return 0;
}
