#include "common/net/ip_address.h"

#include <optional>
#include <string>

#include "gtest/gtest.h"

namespace tokens {
namespace {

TEST(ParseIpAddressTest, ReadsIpv4AndIpv6) {
  const std::optional<IpAddressBytes> v4 = ParseIpAddress("192.0.2.7");
  ASSERT_TRUE(v4.has_value());
  EXPECT_EQ(*v4, (IpAddressBytes{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 7}));
  const std::optional<IpAddressBytes> v6 = ParseIpAddress("2001:db8::1");
  ASSERT_TRUE(v6.has_value());
  EXPECT_EQ(*v6, (IpAddressBytes{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}));
}

TEST(ParseIpAddressTest, OneAddressHasOneValueHoweverItIsSpelled) {
  EXPECT_EQ(ParseIpAddress("192.0.2.7"), ParseIpAddress("::ffff:192.0.2.7"));
  EXPECT_EQ(ParseIpAddress("192.0.2.7"), ParseIpAddress("::FFFF:c000:0207"));
  EXPECT_EQ(ParseIpAddress("2001:db8::1"), ParseIpAddress("2001:0DB8:0:0:0:0:0:0001"));
  EXPECT_NE(ParseIpAddress("192.0.2.7"), ParseIpAddress("192.0.2.8"));
  EXPECT_NE(ParseIpAddress("::1"), ParseIpAddress("127.0.0.1"));
}

TEST(ParseIpAddressTest, RefusesWhatIsNoAddress) {
  for (const std::string& text :
       {std::string(), std::string("localhost"), std::string("192.0.2.7:80"), std::string("[::1]"),
        std::string("fe80::1%eth0"), std::string("192.0.2.256"), std::string(" 192.0.2.7"),
        std::string("192.0.2.7\0", 10), std::string(46, '1'), std::string(1 << 20, 'A')}) {
    EXPECT_FALSE(ParseIpAddress(text).has_value()) << text.substr(0, 50);
    EXPECT_FALSE(IsIpAddress(text)) << text.substr(0, 50);
  }
  // The longest text form there is still fits.
  EXPECT_TRUE(IsIpAddress("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255"));
}

TEST(FormatIpAddressTest, WritesTheCanonicalForm) {
  EXPECT_EQ(FormatIpAddress(*ParseIpAddress("::ffff:192.0.2.7")), "192.0.2.7");
  EXPECT_EQ(FormatIpAddress(*ParseIpAddress("2001:0DB8:0:0:0:0:0:0001")), "2001:db8::1");
  EXPECT_EQ(FormatIpAddress(*ParseIpAddress("::1")), "::1");
  EXPECT_LE(FormatIpAddress(*ParseIpAddress("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe")).size(),
            45u);
}

TEST(ClientNetworkTest, IsTheIpv4AddressOrTheIpv6Slash64) {
  EXPECT_EQ(ClientNetwork(*ParseIpAddress("192.0.2.7")), *ParseIpAddress("192.0.2.7"));
  EXPECT_NE(ClientNetwork(*ParseIpAddress("192.0.2.7")),
            ClientNetwork(*ParseIpAddress("192.0.2.8")));
  EXPECT_EQ(ClientNetwork(*ParseIpAddress("::ffff:192.0.2.7")), *ParseIpAddress("192.0.2.7"));
  EXPECT_EQ(ClientNetwork(*ParseIpAddress("2001:db8:1:2::1")),
            ClientNetwork(*ParseIpAddress("2001:db8:1:2:ffff:ffff:ffff:ffff")));
  EXPECT_NE(ClientNetwork(*ParseIpAddress("2001:db8:1:2::1")),
            ClientNetwork(*ParseIpAddress("2001:db8:1:3::1")));
  EXPECT_EQ(FormatClientNetwork(ClientNetwork(*ParseIpAddress("::ffff:192.0.2.7"))), "192.0.2.7");
  EXPECT_EQ(FormatClientNetwork(ClientNetwork(*ParseIpAddress("2001:db8:1:2:3:4:5:6"))),
            "2001:db8:1:2::/64");
}

}  // namespace
}  // namespace tokens
