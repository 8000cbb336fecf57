// bench-core: what one check costs inside token-sidecar, on its real domain
// classes: parse "Bearer <token>", format and checksum, SHA-256, the cache
// lookup, and the whole Verifier (which also checks expiry and the owner and
// records usage), at 1,000 / 100,000 / 1,000,000 cached tokens.
//
// Tokens are generated in memory only, never written anywhere.
#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "benchmark/benchmark.h"
#include "common/auth/bearer.h"
#include "common/time/civil_date.h"
#include "common/time/clock.h"
#include "common/token/token_codec.h"
#include "sidecar/domain/miss_resolver.h"
#include "sidecar/domain/token_cache.h"
#include "sidecar/domain/usage.h"
#include "sidecar/domain/verifier.h"

namespace {

using namespace tokens;
using namespace tokens::sidecar;

// Fast, seeded randomness: these tokens are fixtures, not secrets.
class BenchRandom final : public RandomSource {
 public:
  void Fill(absl::Span<uint8_t> out) override {
    for (uint8_t& byte : out) byte = static_cast<uint8_t>(engine_());
  }

 private:
  std::mt19937_64 engine_{20261128};
};

// Every lookup in these benchmarks hits; a miss would be a bug here.
class NoLookup final : public TokenLookup {
 public:
  absl::StatusOr<std::optional<LookupResult>> Lookup(const TokenHash&) override {
    return std::optional<LookupResult>();
  }
};

constexpr size_t kTokensPerUser = 100;
constexpr int64_t kChecksPerFlush = 100000;

// A cache of `n` live tokens (owners: one user per 100 tokens), the
// tokens' "Bearer ..." headers in random order, and a Verifier over them.
//
// The headers sit next to each other in one buffer and are read in order, so
// a check finds its header in the CPU cache, as the sidecar finds the one it
// has just parsed out of a request; the cache lookups themselves go to
// random places of the table.
struct Fixture {
  explicit Fixture(size_t n) {
    BenchRandom random;
    const absl::CivilDay expires_on = UtcDay(absl::Now()) + 90;
    std::unique_ptr<TokenCache::SnapshotBuilder> snapshot = cache.StartSnapshot();
    for (size_t u = 0; u * kTokensPerUser < n; ++u) {
      snapshot->AddUser(SyncedUser{absl::StrCat("user-", u), Role::kUser, false, 1});
    }
    std::vector<std::string> tokens;
    tokens.reserve(n);
    hashes.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      const std::string token = codec.Generate(random);
      SyncedToken state;
      state.hash = TokenCodec::Hash(token);
      state.id = TokenId::Random(random);
      state.user_id = absl::StrCat("user-", i / kTokensPerUser);
      state.expires_on = expires_on;
      state.version = 2;
      snapshot->AddToken(state);
      tokens.push_back(token);
      hashes.push_back(state.hash);
    }
    cache.Publish(std::move(snapshot), 2);
    // Generation order follows the owners; checks arrive in no order.
    std::shuffle(tokens.begin(), tokens.end(), std::mt19937_64(7));
    std::shuffle(hashes.begin(), hashes.end(), std::mt19937_64(8));
    for (const std::string& token : tokens) absl::StrAppend(&arena, "Bearer ", token);
    const size_t stride = arena.size() / n;
    for (size_t i = 0; i < n; ++i)
      headers.push_back(absl::string_view(arena).substr(i * stride, stride));
  }

  const TokenCodec codec;
  TokenCache cache;
  SystemClock clock;
  NoLookup lookup;
  MissResolver resolver{lookup, clock, MissResolverOptions{},
                        [](const LookupResult&) { return false; }};
  UsageRecorder usage;
  Verifier verifier{codec, cache, resolver, usage, clock};
  std::string arena;
  std::vector<absl::string_view> headers;  // into `arena`
  std::vector<TokenHash> hashes;
};

// Built once per size and kept: a million tokens take a few seconds.
// Threaded runs call this from every thread at once.
Fixture& FixtureOf(size_t n) {
  static auto* mu = new std::mutex();
  static auto* fixtures = new std::map<size_t, std::unique_ptr<Fixture>>();
  std::lock_guard<std::mutex> lock(*mu);
  std::unique_ptr<Fixture>& fixture = (*fixtures)[n];
  if (fixture == nullptr) fixture = std::make_unique<Fixture>(n);
  return *fixture;
}

// Per-thread position, so threads walk different tokens.
size_t StartIndex(const benchmark::State& state, size_t n) {
  return static_cast<size_t>(state.thread_index()) * 7919 % n;
}

// parse "Bearer <token>" + prefix, length, alphabet, CRC32 checksum.
void BM_ParseAndChecksum(benchmark::State& state) {
  Fixture& f = FixtureOf(static_cast<size_t>(state.range(0)));
  size_t i = StartIndex(state, f.headers.size());
  for (auto _ : state) {
    const std::optional<absl::string_view> token = ParseBearer(f.headers[i]);
    benchmark::DoNotOptimize(f.codec.Validate(*token));
    if (++i == f.headers.size()) i = 0;
  }
}

// SHA-256 of a token.
void BM_Hash(benchmark::State& state) {
  Fixture& f = FixtureOf(static_cast<size_t>(state.range(0)));
  size_t i = StartIndex(state, f.headers.size());
  for (auto _ : state) {
    benchmark::DoNotOptimize(TokenCodec::Hash(f.headers[i].substr(7)));
    if (++i == f.headers.size()) i = 0;
  }
}

// The cache lookup of a hash (a hit), with the copy of what it found.
void BM_CacheFind(benchmark::State& state) {
  Fixture& f = FixtureOf(static_cast<size_t>(state.range(0)));
  size_t i = StartIndex(state, f.hashes.size());
  for (auto _ : state) {
    benchmark::DoNotOptimize(f.cache.Find(f.hashes[i]));
    if (++i == f.hashes.size()) i = 0;
  }
}

// parse + checksum + hash + lookup, the pieces one after the other.
void BM_ParseChecksumHashLookup(benchmark::State& state) {
  Fixture& f = FixtureOf(static_cast<size_t>(state.range(0)));
  size_t i = StartIndex(state, f.headers.size());
  for (auto _ : state) {
    const std::optional<absl::string_view> token = ParseBearer(f.headers[i]);
    if (f.codec.Validate(*token) != TokenFormatError::kOk) state.SkipWithError("malformed");
    benchmark::DoNotOptimize(f.cache.Find(TokenCodec::Hash(*token)));
    if (++i == f.headers.size()) i = 0;
  }
}

// The sidecar's whole decision: Verifier::CheckHeader, as Check and
// Authenticate call it (also expiry, the owner's state, usage recording).
// The sidecar drains recorded usage every flush interval; so does this, off
// the clock, every 100,000 checks (5 s at 20,000 checks/s).
void BM_Verifier(benchmark::State& state) {
  Fixture& f = FixtureOf(static_cast<size_t>(state.range(0)));
  size_t i = StartIndex(state, f.headers.size());
  int64_t until_drain = kChecksPerFlush;
  for (auto _ : state) {
    const CheckResult verdict = f.verifier.CheckHeader(f.headers[i], "10.1.2.3");
    if (!verdict.allowed) state.SkipWithError("denied");
    if (++i == f.headers.size()) i = 0;
    if (--until_drain == 0 && state.thread_index() == 0) {
      state.PauseTiming();
      f.usage.Drain();
      state.ResumeTiming();
      until_drain = kChecksPerFlush;
    }
  }
}

void Sizes(benchmark::internal::Benchmark* b) {
  b->ArgName("tokens")->Arg(1000)->Arg(100000)->Arg(1000000);
}

BENCHMARK(BM_ParseAndChecksum)->Arg(1000)->ArgName("tokens");
BENCHMARK(BM_Hash)->Arg(1000)->ArgName("tokens");
BENCHMARK(BM_CacheFind)->Apply(Sizes);
BENCHMARK(BM_ParseChecksumHashLookup)->Apply(Sizes);
BENCHMARK(BM_Verifier)->Apply(Sizes);
// Two checking threads, as on a two-core sidecar.
BENCHMARK(BM_Verifier)->Arg(1000000)->ArgName("tokens")->Threads(2)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
