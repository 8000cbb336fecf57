#include "common/token/token_codec.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <zlib.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace tokens {
namespace {

// Digit value = index. The order is part of the token format (it fixes how
// the checksum is written), so it must never change.
constexpr absl::string_view kAlphabet =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
constexpr uint64_t kBase = 62;
static_assert(kAlphabet.size() == kBase);

// U+2026 HORIZONTAL ELLIPSIS in UTF-8, spelled as bytes so the result does
// not depend on the compiler's execution character set.
constexpr absl::string_view kEllipsis = "\xE2\x80\xA6";

// 248 = 4 * 62: bytes below it map onto the alphabet exactly 4 times each, so
// `b % 62` is uniform once bytes >= 248 are thrown away.
constexpr unsigned kRejectFrom = 4 * kBase;
static_assert(kRejectFrom <= 256 && kRejectFrom + kBase > 256);

// The fixed-width checksum field must be able to hold every CRC32 value.
constexpr uint64_t Pow(uint64_t base, size_t exp) {
  uint64_t r = 1;
  for (size_t i = 0; i < exp; ++i) r *= base;
  return r;
}
static_assert(Pow(kBase, TokenCodec::kChecksumChars) > std::numeric_limits<uint32_t>::max());

// Digit value of `c`, or -1 if `c` is not in the alphabet. Written out by
// hand rather than with <cctype>, whose answers depend on the locale and
// which is undefined for negative chars (any byte >= 0x80).
int DigitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'Z') return c - 'A' + 10;
  if (c >= 'a' && c <= 'z') return c - 'a' + 36;
  return -1;
}

uint32_t Crc32(absl::string_view text) {
  // kRandomChars is tiny, so the uInt length parameter cannot overflow.
  const uLong crc = crc32(crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(text.data()),
                          static_cast<uInt>(text.size()));
  return static_cast<uint32_t>(crc);
}

// Appends `value` as exactly kChecksumChars base62 digits, most significant
// first, zero-padded.
void AppendChecksum(uint32_t value, std::string& out) {
  std::array<char, TokenCodec::kChecksumChars> digits;
  uint64_t v = value;
  for (size_t i = digits.size(); i > 0; --i) {
    digits[i - 1] = kAlphabet[v % kBase];
    v /= kBase;
  }
  out.append(digits.data(), digits.size());
}

}  // namespace

absl::string_view TokenFormatErrorName(TokenFormatError e) {
  switch (e) {
    case TokenFormatError::kOk:
      return "ok";
    case TokenFormatError::kBadPrefix:
      return "bad_prefix";
    case TokenFormatError::kBadLength:
      return "bad_length";
    case TokenFormatError::kBadAlphabet:
      return "bad_alphabet";
    case TokenFormatError::kBadChecksum:
      return "bad_checksum";
  }
  // Only reachable through a cast of an out-of-range integer; still give a
  // loggable answer rather than undefined behaviour.
  return "unknown";
}

TokenCodec::TokenCodec(std::string prefix) : prefix_(std::move(prefix)) {
  // A bad prefix is a configuration / programming error (callers validate
  // configuration with IsValidPrefix() first). Carrying on would mint tokens
  // that secret scanners cannot recognise, so stop loudly. The prefix is not
  // a secret; it is escaped so odd bytes cannot garble the log.
  if (!IsValidPrefix(prefix_)) {
    std::fprintf(stderr,
                 "FATAL: TokenCodec: invalid token prefix \"%s\" (must match "
                 "[a-z][a-z0-9]{0,15})\n",
                 absl::CEscape(prefix_.substr(0, 64)).c_str());
    std::abort();
  }
}

bool TokenCodec::IsValidPrefix(absl::string_view prefix) {
  if (prefix.empty() || prefix.size() > 16) return false;
  if (prefix[0] < 'a' || prefix[0] > 'z') return false;
  for (char c : prefix.substr(1)) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

std::string TokenCodec::Generate(RandomSource& random) const {
  std::string token;
  token.reserve(prefix_.size() + 1 + kBodyChars);
  token.append(prefix_);
  token.push_back('_');
  const size_t random_start = token.size();

  // Ask only for as many bytes as characters are still missing, so a token
  // consumes a deterministic number of bytes from the source (this keeps a
  // fake source's output reproducible across consecutive Generate calls).
  std::array<uint8_t, kRandomChars> buf;
  size_t have = 0;
  while (have < kRandomChars) {
    const size_t want = kRandomChars - have;
    absl::Span<uint8_t> chunk(buf.data(), want);
    random.Fill(chunk);
    for (uint8_t b : chunk) {
      if (b >= kRejectFrom) continue;  // would bias `b % 62`
      token.push_back(kAlphabet[b % kBase]);
      ++have;
    }
  }
  // The raw bytes determine the secret; don't leave them on the stack.
  OPENSSL_cleanse(buf.data(), buf.size());

  AppendChecksum(Crc32(absl::string_view(token).substr(random_start)), token);
  return token;
}

TokenFormatError TokenCodec::Validate(absl::string_view token) const {
  // Every check below only looks at bytes inside `token` and never allocates,
  // so arbitrary input (empty, huge, binary, embedded NULs) is safe.
  if (token.size() <= prefix_.size() || token.substr(0, prefix_.size()) != prefix_ ||
      token[prefix_.size()] != '_') {
    return TokenFormatError::kBadPrefix;
  }
  const absl::string_view body = token.substr(prefix_.size() + 1);
  if (body.size() != kBodyChars) return TokenFormatError::kBadLength;
  for (char c : body) {
    if (DigitValue(c) < 0) return TokenFormatError::kBadAlphabet;
  }

  // Decode into 64 bits: six base62 digits reach 62^6 - 1 > UINT32_MAX, and
  // such a value must be rejected rather than wrapped onto a valid CRC.
  uint64_t stated = 0;
  for (char c : body.substr(kRandomChars)) {
    stated = stated * kBase + static_cast<uint64_t>(DigitValue(c));
  }
  if (stated > std::numeric_limits<uint32_t>::max() ||
      static_cast<uint32_t>(stated) != Crc32(body.substr(0, kRandomChars))) {
    return TokenFormatError::kBadChecksum;
  }
  return TokenFormatError::kOk;
}

namespace {

[[noreturn]] void Sha256Failed() {
  std::fprintf(stderr, "FATAL: TokenCodec: SHA-256 computation failed\n");
  std::abort();
}

// SHA-256 on the check path. OpenSSL 3 looks the algorithm up in its
// provider tables on every EVP_sha256()-based call (about 200 ns of the 290
// a hash took); fetching it once and reusing one context per thread leaves
// the hashing itself (~90 ns).
class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new()) {
    if (ctx_ == nullptr) Sha256Failed();
  }
  ~Sha256() { EVP_MD_CTX_free(ctx_); }
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Digest(absl::string_view data, TokenHash& out) {
    unsigned int len = 0;
    if (EVP_DigestInit_ex2(ctx_, Algorithm(), nullptr) != 1 ||
        EVP_DigestUpdate(ctx_, data.data(), data.size()) != 1 ||
        EVP_DigestFinal_ex(ctx_, out.data(), &len) != 1 || len != out.size()) {
      Sha256Failed();
    }
  }

 private:
  static const EVP_MD* Algorithm() {
    // Fetched once for the process and never freed: it lives as long as
    // the library.
    static const EVP_MD* const md = [] {
      const EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
      if (fetched == nullptr) Sha256Failed();
      return fetched;
    }();
    return md;
  }

  EVP_MD_CTX* const ctx_;
};

}  // namespace

TokenHash TokenCodec::Hash(absl::string_view token) {
  // It can only fail if the crypto library itself is broken (e.g. no
  // provider for SHA-256); a wrong or zero hash would silently break every
  // lookup, so that aborts instead.
  thread_local Sha256 sha256;
  TokenHash out;
  sha256.Digest(token, out);
  return out;
}

std::string TokenCodec::Hint(absl::string_view token) const {
  // The header only defines hints for well-formed tokens. For anything else,
  // return no part of the input: it may be a mistyped secret, and a hint
  // must never reveal more than the fixed head and tail.
  if (Validate(token) != TokenFormatError::kOk) return absl::StrCat(prefix_, "_", kEllipsis);
  return absl::StrCat(prefix_, "_", token.substr(prefix_.size() + 1, kHintHeadChars), kEllipsis,
                      token.substr(token.size() - kHintTailChars));
}

std::string TokenCodec::ScannerRegex() const {
  return absl::StrCat(prefix_, "_[0-9A-Za-z]{", kBodyChars, "}");
}

}  // namespace tokens
