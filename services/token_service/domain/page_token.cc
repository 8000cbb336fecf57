#include "services/token_service/domain/page_token.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstdlib>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "common/status/field_error.h"

namespace tokens::service {
namespace {

constexpr char kNotOurs[] = "is not a page token from this list";
// Bytes of HMAC-SHA256 kept: 128 bits, beyond guessing.
constexpr size_t kTagSize = 16;
// A page token is a few dozen bytes; anything much longer is not one.
constexpr size_t kMaxTokenSize = 1024;
// Names what is MACed, so a tag can never be reused for another format.
constexpr absl::string_view kDomain("tokens.page.v2\0", 15);

// This process's key when none is configured: random, made once.
const std::string& ProcessKey() {
  static const std::string* const key = [] {
    auto* bytes = new std::string(PageTokenCodec::kMinKeySize, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(bytes->data()),
                   static_cast<int>(bytes->size())) != 1) {
      // No randomness, no unforgeable page tokens: nothing sensible to do.
      std::abort();
    }
    return bytes;
  }();
  return *key;
}

}  // namespace

PageTokenCodec::PageTokenCodec(absl::string_view key)
    : key_(key.empty() ? ProcessKey() : std::string(key)) {}

uint64_t PageTokenCodec::Fingerprint(std::initializer_list<absl::string_view> parts) {
  uint64_t hash = 14695981039346656037ull;
  const auto mix = [&hash](unsigned char c) {
    hash ^= c;
    hash *= 1099511628211ull;
  };
  for (absl::string_view part : parts) {
    for (char c : part) mix(static_cast<unsigned char>(c));
    mix(0xff);  // separator: ("ab","c") and ("a","bc") differ
  }
  return hash;
}

std::string PageTokenCodec::Tag(absl::string_view plain) const {
  const std::string message = absl::StrCat(kDomain, plain);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_size = 0;
  if (HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
           reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac,
           &mac_size) == nullptr ||
      mac_size < kTagSize) {
    std::abort();  // only on a broken OpenSSL
  }
  return std::string(reinterpret_cast<const char*>(mac), kTagSize);
}

std::string PageTokenCodec::Encode(absl::string_view kind, uint64_t fingerprint,
                                   const std::vector<std::string>& keys) const {
  const std::string plain =
      absl::StrCat(kind, "|", absl::Hex(fingerprint), "|", absl::StrJoin(keys, "|"));
  return absl::WebSafeBase64Escape(absl::StrCat(plain, Tag(plain)));
}

absl::StatusOr<std::vector<std::string>> PageTokenCodec::Decode(absl::string_view field,
                                                                absl::string_view token,
                                                                absl::string_view kind,
                                                                uint64_t fingerprint,
                                                                size_t key_count) const {
  std::string sealed;
  // Escaping again must give the same text: base64 can spell one byte
  // string several ways, and a token is one exact string.
  if (token.size() > kMaxTokenSize || !absl::WebSafeBase64Unescape(token, &sealed) ||
      sealed.size() <= kTagSize || absl::WebSafeBase64Escape(sealed) != token) {
    return FieldError(field, kNotOurs);
  }
  const absl::string_view plain = absl::string_view(sealed).substr(0, sealed.size() - kTagSize);
  const std::string expected = Tag(plain);
  if (CRYPTO_memcmp(expected.data(), sealed.data() + plain.size(), kTagSize) != 0) {
    return FieldError(field, kNotOurs);
  }
  std::vector<std::string> parts = absl::StrSplit(plain, '|');
  uint64_t got_fingerprint = 0;
  if (parts.size() != key_count + 2 || parts[0] != kind ||
      !absl::SimpleHexAtoi(parts[1], &got_fingerprint)) {
    return FieldError(field, kNotOurs);
  }
  if (got_fingerprint != fingerprint) {
    return FieldError(
        field, "was issued for different filters; repeat the request's filters or start over");
  }
  return std::vector<std::string>(parts.begin() + 2, parts.end());
}

absl::StatusOr<absl::Time> ReadPageKeyTime(absl::string_view field, absl::string_view key) {
  static const int64_t kLatest = absl::ToUnixMicros(
      absl::FromCivil(absl::CivilSecond(9999, 12, 31, 23, 59, 59), absl::UTCTimeZone()));
  int64_t micros = 0;
  if (!absl::SimpleAtoi(key, &micros) || micros < 0 || micros > kLatest) {
    return FieldError(field, kNotOurs);
  }
  return absl::FromUnixMicros(micros);
}

absl::StatusOr<int64_t> ReadPageKeyRowId(absl::string_view field, absl::string_view key) {
  int64_t id = 0;
  if (!absl::SimpleAtoi(key, &id) || id < 1) return FieldError(field, kNotOurs);
  return id;
}

}  // namespace tokens::service
