#include "common/net/forwarded_for.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tokens {
namespace {

using ::testing::HasSubstr;

IpAddressBytes Ip(absl::string_view text) {
  const std::optional<IpAddressBytes> address = ParseIpAddress(text);
  EXPECT_TRUE(address.has_value()) << text;
  return address.value_or(IpAddressBytes{});
}

TrustedProxies Trust(absl::string_view list) {
  absl::StatusOr<TrustedProxies> trusted = TrustedProxies::Parse(list);
  EXPECT_TRUE(trusted.ok()) << trusted.status();
  return trusted.value_or(TrustedProxies());
}

TEST(IpPrefixTest, HoldsTheAddressesOfItsNetwork) {
  const absl::StatusOr<IpPrefix> v4 = ParseIpPrefix("10.0.0.0/8");
  ASSERT_TRUE(v4.ok()) << v4.status();
  EXPECT_EQ(v4->length, 96 + 8);
  EXPECT_TRUE(v4->Contains(Ip("10.255.1.2")));
  EXPECT_TRUE(v4->Contains(Ip("::ffff:10.0.0.1")));
  EXPECT_FALSE(v4->Contains(Ip("11.0.0.1")));
  EXPECT_FALSE(v4->Contains(Ip("a00::1")));  // 10.0.0.0's bytes, but IPv6

  const absl::StatusOr<IpPrefix> v6 = ParseIpPrefix("2001:db8::/32");
  ASSERT_TRUE(v6.ok()) << v6.status();
  EXPECT_TRUE(v6->Contains(Ip("2001:db8:ffff::1")));
  EXPECT_FALSE(v6->Contains(Ip("2001:db9::1")));

  const absl::StatusOr<IpPrefix> odd = ParseIpPrefix("172.16.0.0/12");
  ASSERT_TRUE(odd.ok()) << odd.status();
  EXPECT_TRUE(odd->Contains(Ip("172.31.255.255")));
  EXPECT_FALSE(odd->Contains(Ip("172.32.0.0")));
}

TEST(IpPrefixTest, AnAddressAloneIsItself) {
  const absl::StatusOr<IpPrefix> v4 = ParseIpPrefix("127.0.0.1");
  ASSERT_TRUE(v4.ok()) << v4.status();
  EXPECT_EQ(v4->length, 128);
  EXPECT_TRUE(v4->Contains(Ip("127.0.0.1")));
  EXPECT_FALSE(v4->Contains(Ip("127.0.0.2")));
  const absl::StatusOr<IpPrefix> v6 = ParseIpPrefix("::1");
  ASSERT_TRUE(v6.ok()) << v6.status();
  EXPECT_TRUE(v6->Contains(Ip("::1")));
  EXPECT_FALSE(v6->Contains(Ip("127.0.0.1")));
}

TEST(IpPrefixTest, ZeroLengthHoldsEveryAddressOfItsFamily) {
  const absl::StatusOr<IpPrefix> v4 = ParseIpPrefix("0.0.0.0/0");
  ASSERT_TRUE(v4.ok()) << v4.status();
  EXPECT_TRUE(v4->Contains(Ip("203.0.113.7")));
  EXPECT_FALSE(v4->Contains(Ip("2001:db8::1")));
  const absl::StatusOr<IpPrefix> all = ParseIpPrefix("::/0");
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_TRUE(all->Contains(Ip("203.0.113.7")));
  EXPECT_TRUE(all->Contains(Ip("2001:db8::1")));
}

TEST(IpPrefixTest, RefusesWhatIsNoPrefixNamingIt) {
  for (const char* text :
       {"", "/8", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/+8", "10.0.0.0/ 8",
        "10.0.0.0/0008", "2001:db8::/129", "10.0.0.0/8/8", "10.0.0/8", "localhost", "[::1]",
        "[::1]/128", "10.0.0.1:80", "fe80::1%eth0/64", "10.0.0.0/x"}) {
    const absl::StatusOr<IpPrefix> prefix = ParseIpPrefix(text);
    EXPECT_FALSE(prefix.ok()) << text;
    EXPECT_THAT(std::string(prefix.status().message()), HasSubstr(absl::StrCat("\"", text)))
        << text;
  }
}

TEST(IpPrefixTest, RefusesBitsPastTheLength) {
  EXPECT_FALSE(ParseIpPrefix("10.0.0.1/8").ok());
  EXPECT_FALSE(ParseIpPrefix("2001:db8::1/64").ok());
  EXPECT_TRUE(ParseIpPrefix("10.0.0.1/32").ok());
}

TEST(TrustedProxiesTest, ReadsACommaSeparatedListOfBothFamilies) {
  const TrustedProxies trusted = Trust(" 127.0.0.1, 10.0.0.0/8 ,fd00::/8,::1 ");
  EXPECT_EQ(trusted.prefixes().size(), 4u);
  for (const char* inside : {"127.0.0.1", "10.1.2.3", "fd12::1", "::1"}) {
    EXPECT_TRUE(trusted.Contains(Ip(inside))) << inside;
  }
  for (const char* outside : {"127.0.0.2", "11.0.0.1", "fe80::1", "203.0.113.7"}) {
    EXPECT_FALSE(trusted.Contains(Ip(outside))) << outside;
  }
}

TEST(TrustedProxiesTest, EmptyTrustsNobody) {
  for (const char* list : {"", "  "}) {
    const TrustedProxies trusted = Trust(list);
    EXPECT_TRUE(trusted.empty());
    EXPECT_FALSE(trusted.Contains(Ip("127.0.0.1")));
  }
}

TEST(TrustedProxiesTest, RefusesABadOrEmptyEntry) {
  for (const char* list : {"127.0.0.1,", ",127.0.0.1", "127.0.0.1,,::1", "127.0.0.1 ::1",
                           "127.0.0.1;::1", "10.0.0.0/33", "envoy"}) {
    EXPECT_FALSE(TrustedProxies::Parse(list).ok()) << list;
  }
}

// The deployments' case: Envoy at 10.0.0.5 appends the address it saw.
class ForwardedClientTest : public ::testing::Test {
 protected:
  std::string Client(absl::string_view peer, std::vector<absl::string_view> headers) {
    return ForwardedClient(peer, headers, trusted_);
  }
  const TrustedProxies trusted_ = Trust("10.0.0.5, 192.168.0.0/16, 2001:db8:1::/48");
};

TEST_F(ForwardedClientTest, FromATrustedPeerTheRightmostUntrustedEntryIsTheClient) {
  EXPECT_EQ(Client("10.0.0.5", {"203.0.113.7"}), "203.0.113.7");
  // Whatever the client wrote itself comes first and is not believed.
  EXPECT_EQ(Client("10.0.0.5", {"198.51.100.1, 203.0.113.7"}), "203.0.113.7");
  EXPECT_EQ(Client("10.0.0.5", {"1.2.3.4,5.6.7.8,203.0.113.7"}), "203.0.113.7");
  // Trusted proxies on the way are skipped.
  EXPECT_EQ(Client("10.0.0.5", {"198.51.100.1, 203.0.113.7, 192.168.1.1, 10.0.0.5"}),
            "203.0.113.7");
  EXPECT_EQ(Client("10.0.0.5", {"2001:db8:2::7, 2001:db8:1::9"}), "2001:db8:2::7");
}

TEST_F(ForwardedClientTest, SeveralHeadersAreOneListInOrder) {
  EXPECT_EQ(Client("10.0.0.5", {"198.51.100.1", "203.0.113.7"}), "203.0.113.7");
  EXPECT_EQ(Client("10.0.0.5", {"198.51.100.1, 203.0.113.7", "192.168.1.1"}), "203.0.113.7");
  EXPECT_EQ(Client("10.0.0.5", {"203.0.113.7", "198.51.100.1"}), "198.51.100.1");
}

TEST_F(ForwardedClientTest, AnUntrustedPeersHeaderIsIgnored) {
  EXPECT_EQ(Client("203.0.113.7", {"198.51.100.1"}), "203.0.113.7");
  EXPECT_EQ(Client("10.0.0.6", {"198.51.100.1"}), "10.0.0.6");
  EXPECT_EQ(ForwardedClient("10.0.0.5", {"203.0.113.7"}, TrustedProxies()), "10.0.0.5");
}

TEST_F(ForwardedClientTest, NoHeaderOrAnEmptyOneIsThePeer) {
  EXPECT_EQ(Client("10.0.0.5", {}), "10.0.0.5");
  EXPECT_EQ(Client("10.0.0.5", {""}), "10.0.0.5");
  EXPECT_EQ(Client("10.0.0.5", {"  "}), "10.0.0.5");
}

TEST_F(ForwardedClientTest, AnEntryThatIsNoAddressBeforeTheClientIsThePeer) {
  for (absl::string_view broken : {"203.0.113.7:4711", "[2001:db8::1]", "[2001:db8::1]:80",
                                   "unknown", "_hidden", "203.0.113.7,", "203.0.113.7,,192.168.1.1",
                                   "203.0.113.7, 192.168.1.1:80", "for=203.0.113.7"}) {
    EXPECT_EQ(Client("10.0.0.5", {broken}), "10.0.0.5") << broken;
  }
  EXPECT_EQ(Client("10.0.0.5", {"203.0.113.7", ""}), "10.0.0.5");
}

// Left of the client is the client's own text: it cannot make the chain
// break, and so cannot choose to count as the proxy.
TEST_F(ForwardedClientTest, WhatTheClientWroteLeftOfItselfIsNotRead) {
  EXPECT_EQ(Client("10.0.0.5", {"garbage, 203.0.113.7"}), "203.0.113.7");
  EXPECT_EQ(Client("10.0.0.5", {",203.0.113.7"}), "203.0.113.7");
  EXPECT_EQ(Client("10.0.0.5", {"x:1", "203.0.113.7, 192.168.9.9"}), "203.0.113.7");
}

TEST_F(ForwardedClientTest, OnlyTrustedProxiesIsTheLeftmost) {
  EXPECT_EQ(Client("10.0.0.5", {"192.168.1.1, 192.168.2.2, 10.0.0.5"}), "192.168.1.1");
  EXPECT_EQ(Client("10.0.0.5", {"10.0.0.5"}), "10.0.0.5");
}

TEST_F(ForwardedClientTest, TheAddressIsWrittenCanonically) {
  EXPECT_EQ(Client("10.0.0.5", {"::ffff:203.0.113.7"}), "203.0.113.7");
  EXPECT_EQ(Client("10.0.0.5", {"2001:0DB8:0000::0007"}), "2001:db8::7");
  // A peer that reached us over IPv6 with its IPv4 address mapped.
  EXPECT_EQ(Client("::ffff:10.0.0.5", {"203.0.113.7"}), "203.0.113.7");
}

TEST_F(ForwardedClientTest, APeerThatIsNoAddressIsReturnedAsItIs) {
  EXPECT_EQ(Client("", {"203.0.113.7"}), "");
  EXPECT_EQ(Client("unix", {"203.0.113.7"}), "unix");
}

}  // namespace
}  // namespace tokens
