// Requests no well-behaved client sends, against the real token-service over
// real gRPC: each case asserts the answer the caller gets and what the
// server writes to its log.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/token/random.h"
#include "common/token/token_codec.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "tests/services/token_service/service_fixture.h"
#include "tests/support/prometheus_text.h"
#include "tests/support/slow_http_client.h"

namespace tokens::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr std::chrono::seconds kCallDeadline(30);

// Bytes that are no UTF-8: an invalid continuation after a lead byte.
constexpr char kNotUtf8[] = "caf\xC3\x28 \xFF";

// The protobuf wire format, written by hand: a message that protobuf's own
// serializer would refuse to write.
std::string Varint(uint64_t value) {
  std::string out;
  while (value >= 0x80) {
    out += static_cast<char>((value & 0x7F) | 0x80);
    value >>= 7;
  }
  out += static_cast<char>(value);
  return out;
}

std::string LengthDelimited(int number, const std::string& payload) {
  return Varint((static_cast<uint64_t>(number) << 3) | 2) + Varint(payload.size()) + payload;
}

// A serialized `type` whose first string field (depth first) holds bytes that
// are no UTF-8, and that field's path as a BadRequest names it; nullopt when
// `type` has no string field.
struct NotUtf8Request {
  std::string bytes;
  std::string field;
};
std::optional<NotUtf8Request> WithNotUtf8(const google::protobuf::Descriptor& type, int depth = 0) {
  for (int i = 0; i < type.field_count() && depth < 4; ++i) {
    const google::protobuf::FieldDescriptor& field = *type.field(i);
    const std::string path = field.name() + (field.is_repeated() ? "[0]" : "");
    if (field.type() == google::protobuf::FieldDescriptor::TYPE_STRING) {
      return NotUtf8Request{LengthDelimited(field.number(), kNotUtf8), path};
    }
    if (field.type() == google::protobuf::FieldDescriptor::TYPE_MESSAGE) {
      if (std::optional<NotUtf8Request> inner = WithNotUtf8(*field.message_type(), depth + 1)) {
        return NotUtf8Request{LengthDelimited(field.number(), inner->bytes),
                              path + "." + inner->field};
      }
    }
  }
  return std::nullopt;
}

grpc::ByteBuffer Buffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

class HostileRequestTest : public TokenServiceTest {
 protected:
  // A context carrying one `authorization` entry per value.
  static std::unique_ptr<grpc::ClientContext> WithAuthorizations(
      const std::vector<std::string>& values) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    for (const std::string& value : values) ctx->AddMetadata("authorization", value);
    ctx->set_deadline(std::chrono::system_clock::now() + kCallDeadline);
    return ctx;
  }

  grpc::Status GetProfile(const std::vector<std::string>& authorizations) {
    v1::GetProfileRequest request;
    v1::GetProfileResponse response;
    return tokens_->GetProfile(WithAuthorizations(authorizations).get(), request, &response);
  }

  // Sends `bytes` as the request of `method` ("/tokens.v1.TokenService/
  // CreateToken") as the admin, however they parse.
  grpc::Status RawCall(const std::string& method, const std::string& bytes) {
    grpc::GenericStub stub(service_->NewChannel());
    auto ctx = As(admin_token_);
    const grpc::ByteBuffer request = Buffer(bytes);
    grpc::ByteBuffer response;
    grpc::Status status;
    absl::Notification done;
    stub.UnaryCall(ctx.get(), method, grpc::StubOptions(), &request, &response,
                   [&](grpc::Status s) {
                     status = std::move(s);
                     done.Notify();
                   });
    done.WaitForNotification();
    return status;
  }

  double Metric(const std::string& series) {
    absl::StatusOr<MetricsText> scraped = ScrapeMetrics(service_->metrics_address());
    EXPECT_TRUE(scraped.ok()) << scraped.status();
    return scraped.ok() ? scraped->Value(series) : -1;
  }

  // Every line token-service wrote to stderr so far that is not one JSON
  // object.
  std::vector<std::string> LinesThatAreNotJson() {
    std::vector<std::string> bad;
    for (absl::string_view line :
         absl::StrSplit(service_->process().Stderr(), '\n', absl::SkipEmpty())) {
      google::protobuf::Struct object;
      if (!google::protobuf::util::JsonStringToMessage(std::string(line), &object).ok() ||
          !object.fields().contains("msg")) {
        bad.emplace_back(line);
      }
    }
    return bad;
  }
};

TEST_F(HostileRequestTest, AStringThatIsNotUtf8IsInvalidArgumentNamingTheField) {
  const std::string before = DatabaseDigest();
  const grpc::Status status =
      RawCall("/tokens.v1.TokenService/CreateToken",
              LengthDelimited(1, kNotUtf8) + LengthDelimited(2, DateFromToday(30)));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_THAT(ViolatedFields(status), ElementsAre("name"));
  EXPECT_EQ(DatabaseDigest(), before);
  // Logged and counted like any other call.
  EXPECT_TRUE(
      service_->process()
          .WaitForStderr(R"("msg":"CreateToken","method":"CreateToken","code":"INVALID_ARGUMENT")",
                         std::chrono::seconds(30))
          .ok());
  EXPECT_THAT(LinesThatAreNotJson(), ::testing::IsEmpty());
}

// Every unary method of every service takes its request this way; a method
// added later without it fails here.
TEST_F(HostileRequestTest, EveryUnaryMethodAnswersInvalidArgumentForAStringThatIsNotUtf8) {
  int methods = 0;
  for (const char* name :
       {"tokens.v1.TokenService", "tokens.v1.UserService", "tokens.v1.TokenSync"}) {
    const google::protobuf::ServiceDescriptor* service =
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(name);
    ASSERT_NE(service, nullptr) << name;
    for (int i = 0; i < service->method_count(); ++i) {
      const google::protobuf::MethodDescriptor& method = *service->method(i);
      if (method.client_streaming() || method.server_streaming()) continue;
      std::optional<NotUtf8Request> request = WithNotUtf8(*method.input_type());
      if (!request.has_value()) continue;
      ++methods;
      const grpc::Status status =
          RawCall(absl::StrCat("/", service->full_name(), "/", method.name()), request->bytes);
      EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
          << method.full_name() << ": " << status.error_message();
      EXPECT_THAT(ViolatedFields(status), ElementsAre(request->field)) << method.full_name();
    }
  }
  EXPECT_GE(methods, 10);
  EXPECT_THAT(LinesThatAreNotJson(), ::testing::IsEmpty());
}

TEST_F(HostileRequestTest, ARequestThatDoesNotParseIsInvalidArgument) {
  // A length that runs past the end of the message.
  const grpc::Status status =
      RawCall("/tokens.v1.TokenService/GetToken", Varint((1 << 3) | 2) + Varint(100) + "short");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_EQ(status.error_message(), "the request is not a valid tokens.v1.GetTokenRequest");
  EXPECT_THAT(LinesThatAreNotJson(), ::testing::IsEmpty());
}

// Proxies and libraries disagree on which of two copies counts; the sidecar
// and the client library refuse them, and so does token-service.
TEST_F(HostileRequestTest, TwoAuthorizationHeadersAreRefusedEvenWhenBothAreValid) {
  const std::string bearer = "Bearer " + admin_token_;
  ASSERT_TRUE(GetProfile({bearer}).ok());

  for (const std::vector<std::string>& values : std::vector<std::vector<std::string>>{
           {bearer, bearer}, {bearer, "Bearer utk_not_a_token"}, {"", bearer}}) {
    const grpc::Status status = GetProfile(values);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << status.error_message();
    EXPECT_EQ(status.error_message(), "more than one authorization header");
  }
  EXPECT_THAT(service_->process().Stderr(), ::testing::Not(HasSubstr(admin_token_)));
}

TEST_F(HostileRequestTest, TwoAuthorizationHeadersOpenNoSyncTokensStream) {
  const std::string service = "Bearer " + NewUserWithToken("sidecar", v1::SERVICE);
  auto ctx = WithAuthorizations({service, service});
  v1::SyncTokensRequest request;
  std::unique_ptr<grpc::ClientReader<v1::SyncTokensResponse>> reader =
      sync_->SyncTokens(ctx.get(), request);
  v1::SyncTokensResponse message;
  EXPECT_FALSE(reader->Read(&message));
  const grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << status.error_message();
  EXPECT_EQ(status.error_message(), "more than one authorization header");
}

// The defaults: a client address may cause 5 failed authentications a
// second after a burst of 50; of each 10 s, 10 failed calls are logged one
// by one and the rest summed up in one line.
constexpr double kFailureRate = 5;
constexpr double kFailureBurst = 50;
constexpr int kDetailedPerInterval = 10;
constexpr double kLogIntervalSeconds = 10;
constexpr char kLookups[] = "token_service_auth_lookups_total";

TEST_F(HostileRequestTest, AFloodOfUnknownTokensCostsABoundedNumberOfLookupsAndLogLines) {
  constexpr int kGuesses = 1000;
  TokenCodec codec("utk");
  SystemRandom random;
  std::vector<std::string> guesses;
  for (int i = 0; i < kGuesses; ++i) guesses.push_back(codec.Generate(random));

  const double lookups_before = Metric(kLookups);
  EXPECT_GE(lookups_before, 0) << kLookups << " is not exported";
  const size_t log_before = service_->process().Stderr().size();
  const absl::Time start = absl::Now();
  int unauthenticated = 0;
  int exhausted = 0;
  std::string remembered;  // the last guess that was looked up and found unknown
  for (const std::string& guess : guesses) {
    const grpc::Status status = GetProfile({"Bearer " + guess});
    if (status.error_code() == grpc::StatusCode::UNAUTHENTICATED) {
      EXPECT_EQ(status.error_message(), "unknown token");
      ++unauthenticated;
      remembered = guess;
    } else {
      EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
          << status.error_message();
      ++exhausted;
    }
  }
  const double elapsed = absl::ToDoubleSeconds(absl::Now() - start);

  // Each distinct guess let through costs one lookup; the bound follows from
  // the token bucket and the time the flood took, whatever that was.
  const double lookups = Metric(kLookups) - lookups_before;
  EXPECT_EQ(lookups, unauthenticated);
  EXPECT_LE(lookups, kFailureBurst + kFailureRate * elapsed + 1) << "over " << elapsed << " s";
  EXPECT_GT(exhausted, 0);

  // At most the detailed lines of each interval the flood touched and one
  // summary line each, instead of a line per call.
  const std::string flood_log = service_->process().Stderr().substr(log_before);
  const int intervals = static_cast<int>(elapsed / kLogIntervalSeconds) + 2;
  EXPECT_LE(std::count(flood_log.begin(), flood_log.end(), '\n'),
            intervals * (kDetailedPerInterval + 1))
      << flood_log.substr(0, 2000);

  // An unknown token just looked up costs nothing more, even from an
  // address over its limit.
  ASSERT_FALSE(remembered.empty());
  const double lookups_after = Metric(kLookups);
  for (int i = 0; i < 100; ++i) {
    const grpc::Status status = GetProfile({"Bearer " + remembered});
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << status.error_message();
  }
  EXPECT_EQ(Metric(kLookups), lookups_after);

  // What was not logged one by one is summed up once its interval is over.
  absl::StatusOr<std::string> summary = service_->process().WaitForStderr(
      R"((\d+) more failed authentications in the last)", std::chrono::seconds(60));
  ASSERT_TRUE(summary.ok()) << summary.status();
  const std::string log = service_->process().Stderr();
  for (const std::string& guess : guesses) ASSERT_FALSE(absl::StrContains(log, guess));
}

// The metrics port (issue 13): clients dripping a request head a byte at a
// time, more of them than the port once had threads, hold nothing a
// concurrent scrape needs.
TEST_F(HostileRequestTest, SlowDripClientsOnTheMetricsPortDoNotStopAConcurrentScrape) {
  std::vector<std::unique_ptr<DripClient>> drips;
  for (int i = 0; i < 4; ++i) {
    absl::StatusOr<std::unique_ptr<DripClient>> drip =
        DripClient::Start(service_->metrics_address(), absl::Milliseconds(100));
    ASSERT_TRUE(drip.ok()) << drip.status();
    drips.push_back(std::move(*drip));
  }
  for (const auto& drip : drips) ASSERT_TRUE(drip->AwaitSent(3, absl::Seconds(60)));
  absl::StatusOr<MetricsText> scraped = ScrapeMetrics(service_->metrics_address());
  ASSERT_TRUE(scraped.ok()) << scraped.status();
  EXPECT_FALSE(scraped->samples.empty());
}

}  // namespace
}  // namespace tokens::testing
