// Envoy's ext_authz wire format, checked byte by byte rather than assumed:
// requests are encoded by hand from the field numbers Envoy publishes
// (envoy/service/auth/v3/*.proto, envoy/config/core/v3/base.proto), and our
// responses are decoded by hand.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sidecar/transport/ext_authz_service.h"
#include "tests/sidecar/transport/fake_verifier.h"

namespace tokens::sidecar {
namespace {

using envoy::service::auth::v3::CheckRequest;
using testing::Allow;
using testing::Deny;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using testing::kSampleTokenId;
using ::testing::Optional;
using ::testing::SizeIs;

constexpr int kVarint = 0;
constexpr int kFixed64 = 1;
constexpr int kLengthDelimited = 2;
constexpr int kFixed32 = 5;

constexpr char kBearer[] = "Bearer utk_3q8ZbXw0RkT2vLmN5pQs7YdHcJfG9aUe1iOo0z4Kx";

// --- A tiny protobuf encoder ------------------------------------------------

class Writer {
 public:
  Writer& Varint(int field, uint64_t value) {
    Tag(field, kVarint);
    PutVarint(value);
    return *this;
  }
  Writer& Bytes(int field, absl::string_view bytes) {
    Tag(field, kLengthDelimited);
    PutVarint(bytes.size());
    out_.append(bytes.data(), bytes.size());
    return *this;
  }
  Writer& Message(int field, const Writer& message) { return Bytes(field, message.out_); }
  Writer& Fixed64(int field, uint64_t value) {
    Tag(field, kFixed64);
    for (int i = 0; i < 8; ++i) out_.push_back(static_cast<char>(value >> (8 * i)));
    return *this;
  }
  Writer& Fixed32(int field, uint32_t value) {
    Tag(field, kFixed32);
    for (int i = 0; i < 4; ++i) out_.push_back(static_cast<char>(value >> (8 * i)));
    return *this;
  }
  const std::string& bytes() const { return out_; }

 private:
  void Tag(int field, int wire_type) { PutVarint(static_cast<uint64_t>(field) << 3 | wire_type); }
  void PutVarint(uint64_t value) {
    while (value >= 0x80) {
      out_.push_back(static_cast<char>((value & 0x7f) | 0x80));
      value >>= 7;
    }
    out_.push_back(static_cast<char>(value));
  }

  std::string out_;
};

// A map<string, string> entry: key = 1, value = 2.
Writer MapEntry(absl::string_view key, absl::string_view value) {
  return std::move(Writer().Bytes(1, key).Bytes(2, value));
}

// --- A tiny protobuf decoder ------------------------------------------------

struct Field {
  int number = 0;
  int wire_type = 0;
  uint64_t varint = 0;  // kVarint
  std::string bytes;    // kLengthDelimited
};

// Decodes one message level; a malformed encoding fails the test.
std::vector<Field> Decode(absl::string_view in) {
  std::vector<Field> fields;
  size_t pos = 0;
  auto varint = [&](uint64_t* value) {
    *value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos >= in.size()) return false;
      const auto byte = static_cast<uint8_t>(in[pos++]);
      *value |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) return true;
    }
    return false;
  };
  while (pos < in.size()) {
    uint64_t tag = 0;
    if (!varint(&tag)) {
      ADD_FAILURE() << "truncated tag at byte " << pos;
      return {};
    }
    Field field;
    field.number = static_cast<int>(tag >> 3);
    field.wire_type = static_cast<int>(tag & 7);
    if (field.wire_type == kVarint) {
      if (!varint(&field.varint)) {
        ADD_FAILURE() << "truncated varint";
        return {};
      }
    } else if (field.wire_type == kLengthDelimited) {
      uint64_t size = 0;
      if (!varint(&size) || size > in.size() - pos) {
        ADD_FAILURE() << "truncated length-delimited field " << field.number;
        return {};
      }
      field.bytes = std::string(in.substr(pos, size));
      pos += size;
    } else {
      ADD_FAILURE() << "unexpected wire type " << field.wire_type << " for field " << field.number;
      return {};
    }
    fields.push_back(std::move(field));
  }
  return fields;
}

std::vector<Field> All(const std::vector<Field>& fields, int number) {
  std::vector<Field> out;
  for (const Field& f : fields) {
    if (f.number == number) out.push_back(f);
  }
  return out;
}

// The only occurrence of field `number`, which must be there.
Field One(const std::vector<Field>& fields, int number, int wire_type) {
  std::vector<Field> found = All(fields, number);
  EXPECT_THAT(found, SizeIs(1)) << "field " << number;
  if (found.size() != 1) return Field();
  EXPECT_EQ(found[0].wire_type, wire_type) << "field " << number;
  return found[0];
}

// A HeaderValueOption as it is on the wire.
struct WireHeader {
  std::string key;
  std::string value;
  bool has_append = false;
  std::vector<Field> append;  // the BoolValue's fields
  uint64_t append_action = 0;
};

std::map<std::string, WireHeader> DecodeHeaders(const std::vector<Field>& options) {
  std::map<std::string, WireHeader> headers;
  for (const Field& option : options) {
    EXPECT_EQ(option.wire_type, kLengthDelimited);
    const std::vector<Field> fields = Decode(option.bytes);
    WireHeader header;
    const std::vector<Field> kv = Decode(One(fields, 1, kLengthDelimited).bytes);
    header.key = One(kv, 1, kLengthDelimited).bytes;
    header.value = One(kv, 2, kLengthDelimited).bytes;
    const std::vector<Field> append = All(fields, 2);
    header.has_append = append.size() == 1 && append[0].wire_type == kLengthDelimited;
    if (header.has_append) header.append = Decode(append[0].bytes);
    header.append_action = One(fields, 3, kVarint).varint;
    EXPECT_THAT(fields, SizeIs(3)) << header.key;
    headers[header.key] = std::move(header);
  }
  return headers;
}

// --- CheckRequest: hand-encoded, parsed by our protos -------------------------

// attributes = 1 -> request = 4 -> http = 2 -> headers = 3 (map entries), with
// fields and messages we do not model, which must be skipped.
std::string EnvoyRequestWithHeaderMap(const Writer& http_headers) {
  Writer socket_address;
  socket_address
      .Varint(1, 0)  // protocol: TCP (not modelled)
      .Bytes(2, "203.0.113.7")
      .Varint(3, 443);
  Writer source;
  source.Message(1, Writer().Message(1, socket_address))
      .Bytes(4, "spiffe://client");  // principal (not modelled)
  Writer http;
  http.Bytes(1, "request-id-1")  // id (not modelled)
      .Bytes(2, "GET")
      .Bytes(4, "/v1/things")
      .Bytes(5, "api.example.com")
      .Bytes(6, "https")  // scheme (not modelled)
      .Varint(9, 0);      // size (not modelled)
  std::string http_bytes = http.bytes() + http_headers.bytes();
  Writer time;
  time.Varint(1, 1764351322).Varint(2, 5000);
  Writer request;
  request
      .Message(1, time)  // time (not modelled)
      .Bytes(2, http_bytes);
  Writer attributes;
  attributes.Message(1, source)
      .Message(4, request)
      .Message(10, MapEntry("cluster", "api"))  // context_extensions (not modelled)
      .Message(11, Writer());                   // metadata_context (not modelled)
  Writer check;
  check.Message(1, attributes)
      .Varint(99, 7)  // a field this API does not have at all
      .Fixed64(100, 0x0102030405060708)
      .Fixed32(101, 0x0a0b0c0d);
  return check.bytes();
}

CheckRequest Parse(const std::string& bytes) {
  CheckRequest request;
  EXPECT_TRUE(request.ParseFromString(bytes));
  return request;
}

TEST(ExtAuthzWireRequestTest, HeadersMapEntryIsFound) {
  Writer headers;
  headers.Message(3, MapEntry(":authority", "api.example.com"))
      .Message(3, MapEntry("authorization", kBearer))
      .Message(3, MapEntry("x-auth-user-id", "mallory"));
  const CheckRequest request = Parse(EnvoyRequestWithHeaderMap(headers));

  EXPECT_THAT(FindAuthorization(request), Optional(absl::string_view(kBearer)));
  EXPECT_EQ(ClientAddress(request), "203.0.113.7");
  EXPECT_EQ(request.attributes().request().http().path(), "/v1/things");
}

TEST(ExtAuthzWireRequestTest, HeaderMapRawValueIsFound) {
  // header_map = 13 -> headers = 1 -> HeaderValue{key = 1, raw_value = 3}.
  Writer header_map;
  header_map.Message(1, Writer().Bytes(1, ":path").Bytes(3, "/v1/things"))
      .Message(1, Writer().Bytes(1, "authorization").Bytes(3, kBearer));
  const CheckRequest request = Parse(EnvoyRequestWithHeaderMap(Writer().Message(13, header_map)));

  EXPECT_THAT(FindAuthorization(request), Optional(absl::string_view(kBearer)));
  EXPECT_EQ(ClientAddress(request), "203.0.113.7");
}

TEST(ExtAuthzWireRequestTest, HeaderMapValueIsFound) {
  Writer header_map;
  header_map.Message(1, Writer().Bytes(1, "Authorization").Bytes(2, kBearer));
  const CheckRequest request = Parse(EnvoyRequestWithHeaderMap(Writer().Message(13, header_map)));

  EXPECT_THAT(FindAuthorization(request), Optional(absl::string_view(kBearer)));
}

TEST(ExtAuthzWireRequestTest, NoAuthorizationHeaderIsNullopt) {
  Writer headers;
  headers.Message(3, MapEntry(":authority", "api.example.com"))
      .Message(3, MapEntry("x-authorization", kBearer));
  const CheckRequest request = Parse(EnvoyRequestWithHeaderMap(headers));

  EXPECT_EQ(FindAuthorization(request), std::nullopt);
}

// --- CheckResponse: serialized by our protos, decoded by hand -----------------

TEST(ExtAuthzWireResponseTest, AllowCarriesOkResponseAtThree) {
  const std::string bytes = ToCheckResponse(Allow("alice", Role::kAdmin), {}).SerializeAsString();
  const std::vector<Field> top = Decode(bytes);

  // status = 1: google.rpc.Status with code (1) absent or 0.
  const std::vector<Field> status = Decode(One(top, 1, kLengthDelimited).bytes);
  for (const Field& f : All(status, 1)) EXPECT_EQ(f.varint, 0u);
  EXPECT_THAT(All(top, 2), IsEmpty()) << "no denied_response";

  // ok_response = 3: headers = 2, headers_to_remove = 5,
  // response_headers_to_add = 6.
  const std::vector<Field> ok = Decode(One(top, 3, kLengthDelimited).bytes);
  const std::map<std::string, WireHeader> headers = DecodeHeaders(All(ok, 2));
  ASSERT_THAT(headers, SizeIs(4));
  const std::map<std::string, std::string> expected = {
      {"x-auth-user-id", "alice"},
      {"x-auth-user-role", "ADMIN"},
      {"x-auth-token-id", kSampleTokenId},
      {"x-auth-token-expires-on", "2027-04-11"},
  };
  for (const auto& [key, value] : expected) {
    ASSERT_EQ(headers.count(key), 1u) << key;
    const WireHeader& header = headers.at(key);
    EXPECT_EQ(header.value, value) << key;
    // append = 2: BoolValue{false}, present as an (empty) message.
    EXPECT_TRUE(header.has_append) << key;
    for (const Field& f : header.append) EXPECT_EQ(f.varint, 0u) << key;
    // append_action = 3: OVERWRITE_IF_EXISTS_OR_ADD.
    EXPECT_EQ(header.append_action, 2u) << key;
  }
  // A token without scopes: a client's own x-auth-token-scopes is removed.
  const std::vector<Field> removed = All(ok, 5);
  ASSERT_THAT(removed, SizeIs(2));
  EXPECT_EQ(removed[0].wire_type, kLengthDelimited);
  EXPECT_EQ(removed[0].bytes, "authorization");
  EXPECT_EQ(removed[1].bytes, "x-auth-token-scopes");
  const std::map<std::string, WireHeader> to_client = DecodeHeaders(All(ok, 6));
  ASSERT_THAT(to_client, SizeIs(1));
  ASSERT_EQ(to_client.count("x-token-expires-on"), 1u);
  EXPECT_EQ(to_client.at("x-token-expires-on").value, "2027-04-11");
  EXPECT_EQ(to_client.at("x-token-expires-on").append_action, 2u);
}

TEST(ExtAuthzWireResponseTest, AllowWithoutRemovalRemovesOnlyTheScopesHeader) {
  const std::string bytes =
      ToCheckResponse(Allow(), {/*remove_authorization=*/false}).SerializeAsString();
  const std::vector<Field> ok = Decode(One(Decode(bytes), 3, kLengthDelimited).bytes);
  const std::vector<Field> removed = All(ok, 5);
  ASSERT_THAT(removed, SizeIs(1));
  EXPECT_EQ(removed[0].bytes, "x-auth-token-scopes");
  EXPECT_THAT(All(ok, 2), SizeIs(4));
}

TEST(ExtAuthzWireResponseTest, AllowWithScopesSetsTheScopesHeaderAndRemovesOnlyAuthorization) {
  const std::string bytes =
      ToCheckResponse(testing::AllowScoped({"things:read", "things:write"}), {})
          .SerializeAsString();
  const std::vector<Field> ok = Decode(One(Decode(bytes), 3, kLengthDelimited).bytes);
  const std::map<std::string, WireHeader> headers = DecodeHeaders(All(ok, 2));
  ASSERT_THAT(headers, SizeIs(5));
  ASSERT_EQ(headers.count("x-auth-token-scopes"), 1u);
  EXPECT_EQ(headers.at("x-auth-token-scopes").value, "things:read things:write");
  EXPECT_EQ(headers.at("x-auth-token-scopes").append_action, 2u);
  const std::vector<Field> removed = All(ok, 5);
  ASSERT_THAT(removed, SizeIs(1));
  EXPECT_EQ(removed[0].bytes, "authorization");
}

TEST(ExtAuthzWireResponseTest, DenyCarriesDeniedResponseAtTwo) {
  const std::string bytes = ToCheckResponse(Deny(DenyReason::kRevoked), {}).SerializeAsString();
  const std::vector<Field> top = Decode(bytes);

  // status = 1: code = 1 is 16 (UNAUTHENTICATED), message = 2.
  const std::vector<Field> status = Decode(One(top, 1, kLengthDelimited).bytes);
  EXPECT_EQ(One(status, 1, kVarint).varint, 16u);
  EXPECT_EQ(One(status, 2, kLengthDelimited).bytes, "token revoked");
  EXPECT_THAT(All(top, 3), IsEmpty()) << "no ok_response";

  // denied_response = 2: status = 1 -> HttpStatus{code = 1: 401}, headers = 2, body = 3.
  const std::vector<Field> denied = Decode(One(top, 2, kLengthDelimited).bytes);
  const std::vector<Field> http_status = Decode(One(denied, 1, kLengthDelimited).bytes);
  EXPECT_EQ(One(http_status, 1, kVarint).varint, 401u);
  const std::map<std::string, WireHeader> headers = DecodeHeaders(All(denied, 2));
  ASSERT_EQ(headers.count("www-authenticate"), 1u);
  EXPECT_EQ(headers.at("www-authenticate").value, R"(Bearer error="invalid_token")");
  ASSERT_EQ(headers.count("content-type"), 1u);
  EXPECT_EQ(headers.at("content-type").value, "application/json");
  EXPECT_EQ(One(denied, 3, kLengthDelimited).bytes,
            R"({"error":"invalid_token","reason":"revoked","message":"token revoked"})");
}

TEST(ExtAuthzWireResponseTest, DenyForMissingTokenHasTheSameChallenge) {
  const std::string bytes = ToCheckResponse(Deny(DenyReason::kMissing), {}).SerializeAsString();
  const std::vector<Field> denied = Decode(One(Decode(bytes), 2, kLengthDelimited).bytes);
  const std::map<std::string, WireHeader> headers = DecodeHeaders(All(denied, 2));
  ASSERT_EQ(headers.count("www-authenticate"), 1u);
  EXPECT_EQ(headers.at("www-authenticate").value, R"(Bearer error="invalid_token")");
}

}  // namespace
}  // namespace tokens::sidecar
