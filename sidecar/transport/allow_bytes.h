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
  static constexpr int kHeaders = 3;

  char token_id_[TokenId::kTextSize];
  Header headers_[kHeaders];
  absl::string_view remove_header_;
  size_t ok_size_ = 0;  // OkHttpResponse's serialized size
  size_t size_ = 0;     // CheckResponse's
};

}  // namespace tokens::sidecar
