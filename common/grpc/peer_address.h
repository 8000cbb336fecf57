#pragma once

#include <string>

#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"

namespace tokens {

// The host part of a gRPC peer URI, as ServerContext::peer() reports it:
// "ipv4:127.0.0.1:5555" -> "127.0.0.1", "ipv6:[::1]:5555" (or its
// percent-encoded form "ipv6:%5B::1%5D:5555") -> "::1". Peers without an IP
// address (unix sockets, in-process channels) and anything unrecognised give
// "": an unknown client address, never a guess.
inline std::string PeerHost(absl::string_view peer) {
  if (absl::ConsumePrefix(&peer, "ipv4:")) {
    const size_t colon = peer.rfind(':');
    return std::string(colon == absl::string_view::npos ? peer : peer.substr(0, colon));
  }
  if (absl::ConsumePrefix(&peer, "ipv6:")) {
    absl::string_view close = "]";
    if (!absl::ConsumePrefix(&peer, "[")) {
      if (!absl::ConsumePrefix(&peer, "%5B") && !absl::ConsumePrefix(&peer, "%5b")) return "";
      close = "%5";
    }
    const size_t end = peer.find(close);
    return end == absl::string_view::npos ? "" : std::string(peer.substr(0, end));
  }
  return "";
}

}  // namespace tokens
