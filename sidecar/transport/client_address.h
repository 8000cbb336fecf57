#pragma once

#include <string>

#include "absl/functional/function_ref.h"
#include "absl/strings/string_view.h"

namespace tokens::sidecar {

// The address a check is counted and recorded under (the per-client lookup
// limit, the token's last-used address): the one the request states when it
// is an IP address, else the IP address of the gRPC peer that sent the
// request (`peer_uri()`: ServerContext::peer(), asked only then), else ""
// for a peer without one (a unix socket): an unknown client.
//
// The stated address is whatever the caller chose: Envoy states its
// downstream peer, a caller of Authenticate states what it likes. This
// bounds what it can be, at most 45 characters of an IP address, never a
// megabyte of text; it cannot make it true.
std::string ChooseClientAddress(absl::string_view stated,
                                absl::FunctionRef<std::string()> peer_uri);

}  // namespace tokens::sidecar
