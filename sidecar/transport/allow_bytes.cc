#include "sidecar/transport/allow_bytes.h"

#include <cstring>

#include "sidecar/transport/ext_authz_service.h"

namespace tokens::sidecar {
namespace {

// Wire types and the tags (field << 3 | wire type) of the fields written.
constexpr uint8_t kLengthDelimited = 2;
constexpr uint8_t Tag(int field, uint8_t wire_type) {
  return static_cast<uint8_t>(field << 3 | wire_type);
}
// CheckResponse
constexpr uint8_t kStatusTag = Tag(1, kLengthDelimited);
constexpr uint8_t kOkResponseTag = Tag(3, kLengthDelimited);
// OkHttpResponse
constexpr uint8_t kHeadersTag = Tag(2, kLengthDelimited);
constexpr uint8_t kHeadersToRemoveTag = Tag(5, kLengthDelimited);
// HeaderValueOption
constexpr uint8_t kHeaderTag = Tag(1, kLengthDelimited);
constexpr uint8_t kAppendTag = Tag(2, kLengthDelimited);
constexpr uint8_t kAppendActionTag = Tag(3, 0);
constexpr uint8_t kOverwriteIfExistsOrAdd = 2;
// HeaderValue
constexpr uint8_t kKeyTag = Tag(1, kLengthDelimited);
constexpr uint8_t kValueTag = Tag(2, kLengthDelimited);

size_t VarintSize(size_t value) {
  size_t size = 1;
  while (value >= 0x80) {
    value >>= 7;
    ++size;
  }
  return size;
}

uint8_t* WriteVarint(size_t value, uint8_t* out) {
  while (value >= 0x80) {
    *out++ = static_cast<uint8_t>(value | 0x80);
    value >>= 7;
  }
  *out++ = static_cast<uint8_t>(value);
  return out;
}

// A length-delimited field's size: tag, length, contents.
size_t FieldSize(size_t contents) { return 1 + VarintSize(contents) + contents; }

// A string field as proto3 writes it: absent when empty.
size_t StringFieldSize(absl::string_view value) {
  return value.empty() ? 0 : FieldSize(value.size());
}

uint8_t* WriteHeader(uint8_t tag, size_t size, uint8_t* out) {
  *out++ = tag;
  return WriteVarint(size, out);
}

uint8_t* WriteString(uint8_t tag, absl::string_view value, uint8_t* out) {
  if (value.empty()) return out;
  out = WriteHeader(tag, value.size(), out);
  std::memcpy(out, value.data(), value.size());
  return out + value.size();
}

}  // namespace

AllowBytes::AllowBytes(const Principal& principal, absl::string_view remove_header)
    : remove_header_(remove_header) {
  principal.token_id.Format(token_id_);
  headers_[0] = {kUserIdHeader, principal.user_id};
  headers_[1] = {kUserRoleHeader, RoleName(principal.role)};
  headers_[2] = {kTokenIdHeader, absl::string_view(token_id_, sizeof(token_id_))};
  for (Header& header : headers_) {
    header.value_size = StringFieldSize(header.key) + StringFieldSize(header.value);
    // header, append (an empty BoolValue: false), append_action
    header.size = FieldSize(header.value_size) + 2 + 2;
    ok_size_ += FieldSize(header.size);
  }
  ok_size_ += StringFieldSize(remove_header_);
  // status (an empty google.rpc.Status: OK), ok_response
  size_ = 2 + FieldSize(ok_size_);
}

void AllowBytes::WriteTo(uint8_t* out) const {
  out = WriteHeader(kStatusTag, 0, out);
  out = WriteHeader(kOkResponseTag, ok_size_, out);
  for (const Header& header : headers_) {
    out = WriteHeader(kHeadersTag, header.size, out);
    out = WriteHeader(kHeaderTag, header.value_size, out);
    out = WriteString(kKeyTag, header.key, out);
    out = WriteString(kValueTag, header.value, out);
    out = WriteHeader(kAppendTag, 0, out);
    *out++ = kAppendActionTag;
    *out++ = kOverwriteIfExistsOrAdd;
  }
  WriteString(kHeadersToRemoveTag, remove_header_, out);
}

}  // namespace tokens::sidecar
