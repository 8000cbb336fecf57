#pragma once

#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"

// TLS for the gRPC listeners and clients of both binaries, from PEM files
// that may be replaced on disk while the process runs.
//
// Why not hand the operator's files straight to gRPC's
// FileWatcherCertificateProvider: in the gRPC this builds with (1.51) it
// serves whatever it reads. A certificate that is replaced by writing it in
// place (half-written when read), a key and a certificate replaced one after
// the other (a key that does not match for a moment), or a file deleted
// before its successor arrives would each be served or dropped, and every
// handshake would fail until the next good read. So the files are read and
// checked here (PEM that parses, key matching certificate) and only a set
// that passes is copied, as one file, into a private directory that gRPC's
// provider watches. A bad set is logged and the last good one stays served.
namespace tokens {

// The PEM files of one side of a TLS link, and the flags that named them
// (for messages: "--tls_key: does not match the certificate in --tls_cert").
struct TlsFiles {
  std::string cert;  // certificate chain, leaf first ("": none)
  std::string key;   // the leaf's private key; given exactly when cert is
  std::string ca;    // CA certificates the peer's certificate must be signed by ("": none)
  std::string cert_flag = "tls_cert";
  std::string key_flag = "tls_key";
  std::string ca_flag = "tls_client_ca";
};

// The contents of a TlsFiles that passed the checks.
struct TlsMaterial {
  std::string cert_chain;
  std::string key;  // never logged
  std::string ca;
  // The leaf certificate's subject and expiry, for the log ("" without cert).
  std::string cert_summary;

  bool operator==(const TlsMaterial& other) const {
    return cert_chain == other.cert_chain && key == other.key && ca == other.ca;
  }
};

// Reads the files that are named and checks them: readable, PEM that parses
// (at least one certificate in cert and ca, an unencrypted private key in
// key), key matching the leaf certificate, cert and key given together.
// INVALID_ARGUMENT "--<flag>: <why>" naming the file; never quotes a key.
absl::StatusOr<TlsMaterial> ReadTlsFiles(const TlsFiles& files);

// Serves the last good contents of a TlsFiles to gRPC and re-reads the files
// every interval (see the top of this file). New connections get what was
// read last; open ones keep the certificate they were made with.
class TlsReloader {
 public:
  // Reads and checks the files (ReadTlsFiles), then re-reads them every
  // `interval` (at least 1s) until destroyed. A new set is served to new
  // connections within interval + 1s of being written.
  static absl::StatusOr<std::unique_ptr<TlsReloader>> Start(TlsFiles files,
                                                            absl::Duration interval);
  ~TlsReloader();
  TlsReloader(const TlsReloader&) = delete;
  TlsReloader& operator=(const TlsReloader&) = delete;

  // A listener's: the certificate and key; with a CA, clients must present a
  // certificate signed by it (mTLS). Needs files.cert.
  std::shared_ptr<grpc::ServerCredentials> ServerCredentials() const;
  // A client's: the server's certificate must be signed by the CA and name
  // the host dialled; the certificate and key, if given, are offered as the
  // client's. Needs files.ca.
  std::shared_ptr<grpc::ChannelCredentials> ChannelCredentials() const;
  // For the log: "TLS" or "TLS (client certificates required)".
  std::string Describe() const;

 private:
  TlsReloader(TlsFiles files, absl::Duration interval, std::string directory);
  absl::Status Stage(const TlsMaterial& material);
  void Run();

  const TlsFiles files_;
  const absl::Duration interval_;
  const std::string directory_;  // private (0700), removed by the destructor
  const std::string identity_path_;  // certificate chain, then key, in one file
  const std::string ca_path_;
  TlsMaterial served_;  // only the reload thread touches it after Start
  std::string last_error_;
  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

// The probe's credentials: TLS offering files.cert and files.key as the
// client certificate, WITHOUT verifying the server's certificate (the probe
// checks its own process over loopback, not who answers); plaintext when
// files.cert is empty. Errors as ReadTlsFiles.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> UnverifiedChannelCredentials(
    const TlsFiles& files);

}  // namespace tokens
