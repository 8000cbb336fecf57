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
constexpr uint8_t kResponseHeadersToAddTag = Tag(6, kLengthDelimited);
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

// YYYY-MM-DD without allocating; the feed's dates have four-digit years
// (ParseIsoDate).
void FormatDate(absl::CivilDay day, char (&out)[10]) {
  const auto digits = [](int64_t value, int count, char* at) {
    for (int i = count - 1; i >= 0; --i, value /= 10) at[i] = static_cast<char>('0' + value % 10);
  };
  digits(day.year(), 4, out);
  out[4] = '-';
  digits(day.month(), 2, out + 5);
  out[7] = '-';
  digits(day.day(), 2, out + 8);
}

}  // namespace

void AllowBytes::Measure(Header& header) {
  header.value_size = StringFieldSize(header.key) + StringFieldSize(header.value);
  // header, append (an empty BoolValue: false), append_action
  header.size = FieldSize(header.value_size) + 2 + 2;
}

uint8_t* AllowBytes::Write(uint8_t tag, const Header& header, uint8_t* out) {
  out = WriteHeader(tag, header.size, out);
  out = WriteHeader(kHeaderTag, header.value_size, out);
  out = WriteString(kKeyTag, header.key, out);
  out = WriteString(kValueTag, header.value, out);
  out = WriteHeader(kAppendTag, 0, out);
  *out++ = kAppendActionTag;
  *out++ = kOverwriteIfExistsOrAdd;
  return out;
}

AllowBytes::AllowBytes(const Principal& principal, absl::string_view remove_header) {
  principal.token_id.Format(token_id_);
  FormatDate(principal.expires_on, expires_on_);
  const absl::string_view expires_on(expires_on_, sizeof(expires_on_));
  headers_[header_count_++] = {kUserIdHeader, principal.user_id};
  headers_[header_count_++] = {kUserRoleHeader, RoleName(principal.role)};
  headers_[header_count_++] = {kTokenIdHeader, absl::string_view(token_id_, sizeof(token_id_))};
  headers_[header_count_++] = {kTokenExpiresOnHeader, expires_on};
  if (!remove_header.empty()) removed_[removed_count_++] = remove_header;
  if (principal.scopes->names.empty()) {
    removed_[removed_count_++] = kTokenScopesHeader;
  } else {
    headers_[header_count_++] = {kTokenScopesHeader, principal.scopes->joined};
  }
  for (int i = 0; i < header_count_; ++i) {
    Measure(headers_[i]);
    ok_size_ += FieldSize(headers_[i].size);
  }
  for (int i = 0; i < removed_count_; ++i) ok_size_ += StringFieldSize(removed_[i]);
  client_header_ = {kClientExpiresOnHeader, expires_on};
  Measure(client_header_);
  ok_size_ += FieldSize(client_header_.size);
  // status (an empty google.rpc.Status: OK), ok_response
  size_ = 2 + FieldSize(ok_size_);
}

void AllowBytes::WriteTo(uint8_t* out) const {
  out = WriteHeader(kStatusTag, 0, out);
  out = WriteHeader(kOkResponseTag, ok_size_, out);
  for (int i = 0; i < header_count_; ++i) out = Write(kHeadersTag, headers_[i], out);
  for (int i = 0; i < removed_count_; ++i) out = WriteString(kHeadersToRemoveTag, removed_[i], out);
  Write(kResponseHeadersToAddTag, client_header_, out);
}

}  // namespace tokens::sidecar
