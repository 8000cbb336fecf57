#include "sidecar/transport/client_address.h"

#include <string>

#include "gtest/gtest.h"

namespace tokens::sidecar {
namespace {

// A peer that must not be asked: the stated address decides.
std::string NoPeer() {
  ADD_FAILURE() << "the peer was asked although the stated address is one";
  return "";
}

TEST(ChooseClientAddressTest, AnIpAddressIsTakenAsStated) {
  EXPECT_EQ(ChooseClientAddress("203.0.113.7", NoPeer), "203.0.113.7");
  EXPECT_EQ(ChooseClientAddress("2001:db8::1", NoPeer), "2001:db8::1");
  EXPECT_EQ(ChooseClientAddress("::ffff:203.0.113.7", NoPeer), "::ffff:203.0.113.7");
}

TEST(ChooseClientAddressTest, AnythingElseIsThePeersAddress) {
  const std::string huge(1 << 20, 'Z');
  for (const std::string& stated :
       {std::string(), std::string("client-1"), std::string("203.0.113.7:443"), huge}) {
    EXPECT_EQ(ChooseClientAddress(stated, [] { return std::string("ipv4:127.0.0.1:50000"); }),
              "127.0.0.1")
        << stated.substr(0, 40);
    EXPECT_EQ(ChooseClientAddress(stated, [] { return std::string("ipv6:[::1]:50000"); }), "::1")
        << stated.substr(0, 40);
  }
}

TEST(ChooseClientAddressTest, APeerWithoutAnIpAddressIsUnknown) {
  EXPECT_EQ(ChooseClientAddress("client-1", [] { return std::string("unix:/run/sidecar.sock"); }),
            "");
  EXPECT_EQ(ChooseClientAddress("", [] { return std::string("ipv6:[fe80::1%25eth0]:1"); }), "");
  EXPECT_EQ(ChooseClientAddress("", [] { return std::string(); }), "");
}

}  // namespace
}  // namespace tokens::sidecar
