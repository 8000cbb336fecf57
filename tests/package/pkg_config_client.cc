// A client of the installed package built with nothing but
// `pkg-config --cflags --libs user-tokens-auth-client` (package_pgtest).
// Asks the sidecar at argv[1] about the authorization header value in the
// environment (AUTHORIZATION) and prints the caller, or why it was refused.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "user_tokens/auth_client/sidecar_authenticator.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: pkg_config_client SIDECAR_ADDRESS\n");
    return 2;
  }
  const char* authorization = std::getenv("AUTHORIZATION");
  // Generous: the test is about the verdict, never about time.
  const tokens::auth_client::SidecarAuthenticator auth(
      grpc::CreateChannel(argv[1], grpc::InsecureChannelCredentials()),
      tokens::auth_client::SidecarAuthenticator::Options{absl::Seconds(30)});
  const absl::StatusOr<tokens::auth_client::Caller> caller = auth.Authenticate(
      authorization == nullptr ? std::nullopt : std::optional<absl::string_view>(authorization),
      "192.0.2.1");
  if (!caller.ok()) {
    std::printf("refused: %s\n", caller.status().ToString().c_str());
    return 1;
  }
  std::printf("user_id=%s role=%s\n", caller->user_id.c_str(), caller->role.c_str());
  return 0;
}
