#include "common/net/forwarded_for.h"

#include <optional>

#include "absl/algorithm/container.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace tokens {
namespace {

// `text` quoted for a one-line message, however long or odd it is.
std::string Quoted(absl::string_view text) {
  constexpr size_t kShown = 64;
  std::string quoted = absl::StrCat("\"", absl::CHexEscape(text.substr(0, kShown)));
  if (text.size() > kShown) quoted += "...";
  return quoted + "\"";
}

// The mask of the bits of byte `index` within the first `length` bits.
uint8_t ByteMask(int length, int index) {
  const int bits = length - 8 * index;
  if (bits >= 8) return 0xff;
  if (bits <= 0) return 0;
  return static_cast<uint8_t>(0xff << (8 - bits));
}

}  // namespace

bool IpPrefix::Contains(const IpAddressBytes& candidate) const {
  for (int i = 0; i < 16; ++i) {
    const uint8_t mask = ByteMask(length, i);
    if ((candidate[i] & mask) != (address[i] & mask)) return false;
  }
  return true;
}

absl::StatusOr<IpPrefix> ParseIpPrefix(absl::string_view text) {
  const size_t slash = text.find('/');
  const absl::string_view address_text = text.substr(0, slash);
  const std::optional<IpAddressBytes> address = ParseIpAddress(address_text);
  if (!address.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat(Quoted(text), " is not an IP address or prefix (10.0.0.0/8, 2001:db8::/32)"));
  }
  // Written as IPv4 or as IPv6 text: "::ffff:10.0.0.0/104" is IPv6 text of
  // an IPv4 network, as inet_pton reads it.
  const bool ipv4_text = address_text.find(':') == absl::string_view::npos;
  const int max_length = ipv4_text ? 32 : 128;
  IpPrefix prefix;
  prefix.address = *address;
  prefix.length = max_length;
  if (slash != absl::string_view::npos) {
    const absl::string_view digits = text.substr(slash + 1);
    int length = -1;
    if (digits.empty() || digits.size() > 3 || !absl::c_all_of(digits, absl::ascii_isdigit) ||
        !absl::SimpleAtoi(digits, &length) || length > max_length) {
      return absl::InvalidArgumentError(
          absl::StrCat(Quoted(text), ": the prefix length must be 0 to ", max_length));
    }
    prefix.length = length;
  }
  if (ipv4_text) prefix.length += 96;
  for (int i = 0; i < 16; ++i) {
    if ((prefix.address[i] & ~ByteMask(prefix.length, i)) != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(Quoted(text), " has address bits set past its prefix length"));
    }
  }
  return prefix;
}

absl::StatusOr<TrustedProxies> TrustedProxies::Parse(absl::string_view list) {
  TrustedProxies trusted;
  if (absl::StripAsciiWhitespace(list).empty()) return trusted;
  for (absl::string_view entry : absl::StrSplit(list, ',')) {
    entry = absl::StripAsciiWhitespace(entry);
    if (entry.empty()) return absl::InvalidArgumentError("has an empty entry (two commas?)");
    absl::StatusOr<IpPrefix> prefix = ParseIpPrefix(entry);
    if (!prefix.ok()) return prefix.status();
    trusted.prefixes_.push_back(*prefix);
  }
  return trusted;
}

bool TrustedProxies::Contains(const IpAddressBytes& address) const {
  for (const IpPrefix& prefix : prefixes_) {
    if (prefix.Contains(address)) return true;
  }
  return false;
}

std::string ForwardedClient(absl::string_view peer,
                            const std::vector<absl::string_view>& forwarded_for,
                            const TrustedProxies& trusted) {
  const std::optional<IpAddressBytes> peer_address = ParseIpAddress(peer);
  if (!peer_address.has_value() || !trusted.Contains(*peer_address)) return std::string(peer);
  std::vector<absl::string_view> entries;
  for (absl::string_view header : forwarded_for) {
    for (absl::string_view entry : absl::StrSplit(header, ',')) {
      entries.push_back(absl::StripAsciiWhitespace(entry));
    }
  }
  std::optional<IpAddressBytes> client;
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    client = ParseIpAddress(*it);
    if (!client.has_value()) return std::string(peer);  // the chain breaks here
    if (!trusted.Contains(*client)) return FormatIpAddress(*client);
  }
  // No header, or a chain of trusted proxies only: the leftmost.
  return client.has_value() ? FormatIpAddress(*client) : std::string(peer);
}

}  // namespace tokens
