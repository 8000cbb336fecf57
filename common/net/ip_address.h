#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace tokens {

// An IP address in 16 bytes: IPv6 as it is, IPv4 mapped into IPv6
// (::ffff:a.b.c.d), so that "192.0.2.7" and "::ffff:192.0.2.7" are one
// address. The fixed size is the point: a table keyed by it costs the same
// whatever text a client sent.
using IpAddressBytes = std::array<uint8_t, 16>;

// `text` as an IPv4 address in dotted-quad form or an IPv6 address in text
// form, exactly as inet_pton reads them: "192.0.2.7", "2001:db8::1",
// "::ffff:192.0.2.1". No zone index ("fe80::1%eth0"), no port, no brackets;
// nullopt for anything else.
inline std::optional<IpAddressBytes> ParseIpAddress(absl::string_view text) {
  // The longest IPv6 text (with an embedded IPv4 address) is 45 characters;
  // inet_pton wants a terminated string, which also rules out inner NULs.
  char terminated[INET6_ADDRSTRLEN];
  if (text.empty() || text.size() >= sizeof terminated) return std::nullopt;
  if (text.find('\0') != absl::string_view::npos) return std::nullopt;
  std::memcpy(terminated, text.data(), text.size());
  terminated[text.size()] = '\0';
  IpAddressBytes bytes{};
  if (inet_pton(AF_INET, terminated, bytes.data() + 12) == 1) {
    bytes[10] = 0xff;
    bytes[11] = 0xff;
    return bytes;
  }
  if (inet_pton(AF_INET6, terminated, bytes.data()) == 1) return bytes;
  return std::nullopt;
}

inline bool IsIpAddress(absl::string_view text) { return ParseIpAddress(text).has_value(); }

// Whether the address is an IPv4 one (::ffff:a.b.c.d).
inline bool IsIpv4Mapped(const IpAddressBytes& bytes) {
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return std::memcmp(bytes.data(), kMapped, sizeof kMapped) == 0;
}

// The address as text: an IPv4-mapped one in dotted-quad form, any other in
// RFC 5952's canonical IPv6 form. At most 45 characters.
inline std::string FormatIpAddress(const IpAddressBytes& bytes) {
  char text[INET6_ADDRSTRLEN] = "";
  if (IsIpv4Mapped(bytes)) {
    inet_ntop(AF_INET, bytes.data() + 12, text, sizeof text);
  } else {
    inet_ntop(AF_INET6, bytes.data(), text, sizeof text);
  }
  return text;
}

// What a per-client limit counts an address as: an IPv4 address (mapped or
// not) as itself, an IPv6 address as its /64, which one host (one customer
// of a provider) usually holds whole and can pick any address in: counted
// one by one, it would have 2^64 budgets.
inline IpAddressBytes ClientNetwork(IpAddressBytes address) {
  if (!IsIpv4Mapped(address)) std::memset(address.data() + 8, 0, 8);
  return address;
}

// A ClientNetwork() as text: "192.0.2.7", or "2001:db8:1:2::/64".
inline std::string FormatClientNetwork(const IpAddressBytes& network) {
  std::string text = FormatIpAddress(network);
  if (text.find(':') != std::string::npos) text += "/64";
  return text;
}

}  // namespace tokens
