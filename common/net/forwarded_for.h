#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/net/ip_address.h"

// Which client an HTTP request behind a reverse proxy comes from:
// X-Forwarded-For read by the rightmost-untrusted rule.
//
// Each proxy appends the address of the peer it received the request from,
// so the list reads left to right from the client towards us, but only its
// right-hand part is true: whatever the client sent itself comes first and
// can be anything. Hence, for a request whose TCP peer is a trusted proxy,
// the client is the rightmost address that is not itself a trusted proxy;
// the leftmost entry is never believed because it is first.
//
// The rule, in full (ForwardedClient):
//   - the peer is not a trusted proxy (or none is configured): the peer;
//     X-Forwarded-For is not read at all;
//   - the headers (several are one list, in order) are walked from the
//     right; entries are separated by commas, optional whitespace around
//     them is dropped; each must be a bare IP address as ParseIpAddress
//     reads it ("192.0.2.7", "2001:db8::1"; no port, no brackets, no
//     "unknown") — what Envoy, nginx's $proxy_add_x_forwarded_for and
//     most load balancers write;
//   - the first entry that is no trusted proxy is the client;
//   - an entry that is no address reached before that (or no header, or an
//     empty one) means the chain cannot be followed: the peer, nothing of
//     the header. Entries left of the client are the client's own claims
//     and are not read, so a client cannot make itself count as the proxy
//     by sending garbage;
//   - every entry a trusted proxy: the leftmost (the request came from
//     inside the trusted network).
// The address chosen from the header is returned in FormatIpAddress's
// canonical text; the peer as it was given.
namespace tokens {

// A network: the addresses whose first `length` bits are those of
// `address`, in IpAddressBytes's 128 bits (an IPv4 prefix /n is /96+n of
// its mapped form, so "10.0.0.0/8" holds "::ffff:10.1.2.3" too).
struct IpPrefix {
  IpAddressBytes address{};
  int length = 0;  // 0 to 128

  bool Contains(const IpAddressBytes& candidate) const;
  friend bool operator==(const IpPrefix& a, const IpPrefix& b) {
    return a.address == b.address && a.length == b.length;
  }
};

// "10.0.0.0/8", "2001:db8::/32", or an address alone ("192.0.2.7" is /32,
// "::1" /128). INVALID_ARGUMENT, naming the text, for anything else: no
// address, a length that is not 0-32 (IPv4) or 0-128 (IPv6) in decimal
// digits, or bits set past the length ("10.0.0.1/8", most likely a typo).
absl::StatusOr<IpPrefix> ParseIpPrefix(absl::string_view text);

// The proxies whose X-Forwarded-For is believed: a set of prefixes.
class TrustedProxies {
 public:
  TrustedProxies() = default;  // trusts nobody

  // A comma-separated list of ParseIpPrefix's forms, whitespace around
  // entries allowed; "" (or only whitespace) is the empty list. An empty
  // entry or a bad one is INVALID_ARGUMENT, naming it.
  static absl::StatusOr<TrustedProxies> Parse(absl::string_view list);

  bool empty() const { return prefixes_.empty(); }
  bool Contains(const IpAddressBytes& address) const;
  const std::vector<IpPrefix>& prefixes() const { return prefixes_; }

 private:
  std::vector<IpPrefix> prefixes_;
};

// The client of a request from `peer` (an IP address as text; anything
// else is returned as it is) with these X-Forwarded-For header values, in
// the order they came: the rule above.
std::string ForwardedClient(absl::string_view peer,
                            const std::vector<absl::string_view>& forwarded_for,
                            const TrustedProxies& trusted);

}  // namespace tokens
