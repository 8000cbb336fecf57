#include "services/token_service/storage/connection_string.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tokens::service {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::UnorderedElementsAre;

TEST(CheckConnectionStringTest, AcceptsWhatLibpqReads) {
  for (const std::string& url : std::vector<std::string>{
           "postgresql://localhost/tokens",
           "postgresql://svc:s3cr%25t@db.internal:5432/tokens?sslmode=require",
           "postgresql://postgres@/tokens?host=%2Ftmp%2Fpg-1234",
           "postgresql://svc:pw@host1:5432,host2:5433/tokens",
           "postgres://svc@[::1]:5432/tokens",
           "host=/var/run/postgresql dbname=tokens user=svc password='p w'",
           "postgresql:///tokens?host=/tmp/@odd-socket-dir",
           "host=@abstract-socket dbname=tokens",
       }) {
    EXPECT_TRUE(CheckConnectionString(url).ok()) << url << ": " << CheckConnectionString(url);
  }
}

// Each of these is a generated password with one reserved character left
// unencoded; none of the password may show in the error.
TEST(CheckConnectionStringTest, RefusesMisreadPasswordsWithoutQuotingThem) {
  for (const std::string& url : std::vector<std::string>{
           "postgresql://svc:Kx9Qsecret%zzKx9Qtail@localhost/tokens",
           "postgresql://svc:Kx9Qsecret%Kx9Qtail@localhost/tokens",
           "postgresql://svc:Kx9QsecretA/Kx9QsecretB@localhost/tokens",
           "postgresql://svc:Kx9Qsecret@Kx9Qtail@localhost/tokens",
           "postgresql://svc:Kx9Q\"secret%zz\"Kx9Qtail@localhost/tokens",
           "host=localhost password=Kx9Qsecret Kx9Qtail",
       }) {
    const absl::Status status = CheckConnectionString(url);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << url;
    EXPECT_THAT(std::string(status.message()), Not(HasSubstr("Kx9Q"))) << url;
    EXPECT_THAT(std::string(status.message()), HasSubstr("percent-encode")) << url;
  }
}

TEST(CheckConnectionStringTest, KeepsLibpqsReasonWithoutItsQuotedValues) {
  EXPECT_EQ(CheckConnectionString("postgresql://svc:a%zzb@localhost/tokens").message(),
            "is not a valid libpq connection string (invalid percent-encoded token: \"...\"); "
            "percent-encode reserved characters such as % @ / : in the user name and password");
  EXPECT_EQ(CheckConnectionString("host=db password=a b").message(),
            "is not a valid libpq connection string (missing \"...\" in connection info "
            "string); percent-encode reserved characters such as % @ / : in the user name and "
            "password");
}

TEST(ConnectionSecretsTest, ThePasswordAsWrittenAndAsLibpqReadsIt) {
  EXPECT_THAT(ConnectionSecrets("postgresql://svc:s3cr%25t@db/tokens"),
              UnorderedElementsAre("s3cr%25t", "s3cr%t"));
  EXPECT_THAT(ConnectionSecrets("postgresql://svc:plain-pw@db/tokens"), ElementsAre("plain-pw"));
  EXPECT_THAT(ConnectionSecrets("postgresql://svc@db/tokens?password=from%2Dquery"),
              UnorderedElementsAre("from%2Dquery", "from-query"));
  EXPECT_THAT(ConnectionSecrets("host=db user=svc password='key value'"), ElementsAre("key value"));
}

TEST(ConnectionSecretsTest, NothingWithoutAPasswordAndNothingTooShortToScrub) {
  EXPECT_THAT(ConnectionSecrets("postgresql://svc@db/tokens"), IsEmpty());
  EXPECT_THAT(ConnectionSecrets("postgresql://postgres@/tokens?host=%2Ftmp"), IsEmpty());
  EXPECT_THAT(ConnectionSecrets("postgresql://svc:abc@db/tokens"), IsEmpty());
}

}  // namespace
}  // namespace tokens::service
