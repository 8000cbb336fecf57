#include "sidecar/transport/client_address.h"

#include "common/grpc/peer_address.h"
#include "common/net/ip_address.h"

namespace tokens::sidecar {

std::string ChooseClientAddress(absl::string_view stated,
                                absl::FunctionRef<std::string()> peer_uri) {
  if (IsIpAddress(stated)) return std::string(stated);
  std::string peer = PeerHost(peer_uri());
  return IsIpAddress(peer) ? peer : "";
}

}  // namespace tokens::sidecar
