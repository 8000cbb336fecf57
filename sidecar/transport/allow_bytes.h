#pragma once

#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "sidecar/domain/model.h"

// The serialized CheckResponse of an allowed check, written straight from the
// principal: the answer the sidecar sends most, built without a message
// object. It is byte for byte what WriteCheckResponse's message serializes to
// for the same allowed verdict (tests hold the two equal).
namespace tokens::sidecar {

class AllowBytes {
 public:
  // `remove_header`: the header to remove upstream, or empty for none.
  AllowBytes(const Principal& principal, absl::string_view remove_header);

  size_t size() const { return size_; }
  // Writes size() bytes at `out`.
  void WriteTo(uint8_t* out) const;

 private:
  struct Header {
    absl::string_view key;
    absl::string_view value;
    size_t value_size = 0;  // HeaderValue's serialized size
    size_t size = 0;        // HeaderValueOption's
  };
  // Upstream: user id, role, token id, expiry, and scopes when it has some.
  static constexpr int kMaxHeaders = 5;
  // `remove_header`, and x-auth-token-scopes for a token without scopes.
  static constexpr int kMaxRemoved = 2;

  static void Measure(Header& header);
  static uint8_t* Write(uint8_t tag, const Header& header, uint8_t* out);

  char token_id_[TokenId::kTextSize];
  char expires_on_[10];  // YYYY-MM-DD
  Header headers_[kMaxHeaders];
  int header_count_ = 0;
  absl::string_view removed_[kMaxRemoved];
  int removed_count_ = 0;
  Header client_header_;  // x-token-expires-on, on the response to the client
  size_t ok_size_ = 0;    // OkHttpResponse's serialized size
  size_t size_ = 0;       // CheckResponse's
};

}  // namespace tokens::sidecar
