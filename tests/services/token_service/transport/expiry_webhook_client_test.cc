#include "services/token_service/transport/expiry_webhook_client.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tokens::service {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(ParseWebhookUrlTest, SchemeHostPortAndPathWithQuery) {
  absl::StatusOr<WebhookUrl> url = ParseWebhookUrl("https://hooks.example.com/t/expiry?k=1");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->scheme, "https");
  EXPECT_EQ(url->host, "hooks.example.com");
  EXPECT_EQ(url->port, 443);
  EXPECT_EQ(url->path, "/t/expiry?k=1");
  // What logs may name: never the path, where a receiver's credential can be.
  EXPECT_EQ(url->origin(), "https://hooks.example.com:443");

  url = ParseWebhookUrl("http://127.0.0.1:8088");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->port, 8088);
  EXPECT_EQ(url->path, "/");

  url = ParseWebhookUrl("http://[::1]:9000/h");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->host, "[::1]");
  EXPECT_EQ(url->port, 9000);
  EXPECT_EQ(url->origin(), "http://[::1]:9000");

  url = ParseWebhookUrl("http://hooks?x=1");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->path, "/?x=1");
}

TEST(ParseWebhookUrlTest, RefusesWhatItCannotPostToWithoutQuotingIt) {
  for (const char* bad :
       {"", "hooks.example.com/x", "ftp://hooks.example.com/x", "http://", "http:///x",
        "http://:80/x", "http://h:0/x", "http://h:65536/x", "http://h:/x", "http://h:8a/x",
        "http://[::1/x", "http://[::1]x/", "http://h/x y", "http://h/#frag",
        "https://user:pw-9f8e7d@hooks.example.com/x", "http://h/\xc3\xa9"}) {
    absl::StatusOr<WebhookUrl> url = ParseWebhookUrl(bad);
    EXPECT_FALSE(url.ok()) << bad;
    EXPECT_EQ(url.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    if (std::string(bad).size() > 8) {
      EXPECT_THAT(std::string(url.status().message()), Not(HasSubstr(bad))) << bad;
    }
  }
  EXPECT_THAT(
      std::string(ParseWebhookUrl("https://user:pw-9f8e7d@hooks.example.com/x").status().message()),
      Not(HasSubstr("pw-9f8e7d")));
}

}  // namespace
}  // namespace tokens::service
