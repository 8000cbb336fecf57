#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>

#include <string>

#include "absl/strings/string_view.h"

namespace tokens {

// Whether `text` is an IPv4 address in dotted-quad form or an IPv6 address
// in text form, exactly as inet_pton reads them: "192.0.2.7", "2001:db8::1",
// "::ffff:192.0.2.1". No zone index ("fe80::1%eth0"), no port, no brackets.
inline bool IsIpAddress(absl::string_view text) {
  // The longest IPv6 text (with an embedded IPv4 address) is 45 characters;
  // inet_pton wants a terminated string, which also rules out inner NULs.
  if (text.empty() || text.size() > INET6_ADDRSTRLEN - 1) return false;
  const std::string terminated(text);
  if (terminated.find('\0') != std::string::npos) return false;
  unsigned char buffer[sizeof(struct in6_addr)];
  return inet_pton(AF_INET, terminated.c_str(), buffer) == 1 ||
         inet_pton(AF_INET6, terminated.c_str(), buffer) == 1;
}

}  // namespace tokens
