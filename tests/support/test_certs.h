#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/channel.h"
#include "grpcpp/security/credentials.h"

// Certificates for TLS tests, made by deploy/tls/make-certs.sh (the script
// the operator docs tell people to run) in a temporary directory.
namespace tokens::testing {

class TestCerts {
 public:
  struct Pair {
    std::string cert;  // path
    std::string key;   // path
  };

  // A fresh temporary directory, removed on destruction.
  static absl::StatusOr<std::unique_ptr<TestCerts>> Create();
  ~TestCerts();

  // `make-certs.sh server <dir>/<ca> <name> localhost 127.0.0.1 ::1`: a
  // certificate for serverAuth and clientAuth, signed by CA `ca` (made on
  // first use; each name is an independent CA).
  absl::StatusOr<Pair> Server(const std::string& ca, const std::string& name);
  // `make-certs.sh client <dir>/<ca> <name>`: clientAuth only.
  absl::StatusOr<Pair> Client(const std::string& ca, const std::string& name);
  // The certificate of CA `ca`.
  std::string Ca(const std::string& ca) const;
  const std::string& dir() const { return dir_; }

 private:
  explicit TestCerts(std::string dir) : dir_(std::move(dir)) {}
  absl::StatusOr<Pair> Make(const std::string& kind, const std::string& ca,
                            const std::string& name);
  std::string dir_;
};

std::string ReadFileOrDie(const std::string& path);
// Writes `contents` to a new file beside `path` and renames it over `path`,
// as a rotation tool should.
void ReplaceFile(const std::string& path, const std::string& contents);

// Channel credentials trusting CA file `ca` and, if `client` has a cert,
// offering it (grpc::SslCredentials: what an ordinary client uses).
std::shared_ptr<grpc::ChannelCredentials> TlsClientCredentials(
    const std::string& ca, const TestCerts::Pair& client = {});
// A channel of its own (a local subchannel pool: a new connection, never one
// another channel of the test opened).
std::shared_ptr<grpc::Channel> NewOwnChannel(
    const std::string& address, std::shared_ptr<grpc::ChannelCredentials> credentials);

}  // namespace tokens::testing
