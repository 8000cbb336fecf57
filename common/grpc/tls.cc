#include "common/grpc/tls.h"

#include <dirent.h>
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/config/env_flags.h"
#include "common/log/json_logger.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_certificate_verifier.h"
#include "grpcpp/security/tls_credentials_options.h"

namespace tokens {
namespace {

using BioPtr = std::unique_ptr<BIO, decltype(&BIO_free)>;
using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;
using KeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

absl::StatusOr<std::string> ReadFile(const std::string& path, const std::string& flag) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return InvalidFlag(flag, absl::StrCat("cannot read ", path, ": ", std::strerror(errno)));
  std::ostringstream contents;
  contents << in.rdbuf();
  if (in.bad()) return InvalidFlag(flag, absl::StrCat("cannot read ", path));
  return contents.str();
}

BioPtr MemoryBio(const std::string& pem) {
  return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
}

// A password callback that supplies none: an encrypted key fails to load
// instead of prompting on the terminal.
int NoPassword(char*, int, int, void*) { return 0; }

// The PEM certificates in `pem`, in order; none if it holds none or one that
// does not parse.
std::vector<X509Ptr> ParseCertificates(const std::string& pem) {
  std::vector<X509Ptr> certificates;
  BioPtr bio = MemoryBio(pem);
  while (X509* certificate = PEM_read_bio_X509(bio.get(), nullptr, &NoPassword, nullptr)) {
    certificates.emplace_back(certificate, &X509_free);
  }
  // The loop ends at the end of the input (PEM_R_NO_START_LINE) or at a
  // block that does not parse: only the former is a good file.
  const unsigned long error = ERR_peek_last_error();
  const bool clean_end =
      ERR_GET_LIB(error) == ERR_LIB_PEM && ERR_GET_REASON(error) == PEM_R_NO_START_LINE;
  ERR_clear_error();
  if (!clean_end) certificates.clear();
  return certificates;
}

std::string Summary(X509* leaf) {
  char subject[256];
  X509_NAME_oneline(X509_get_subject_name(leaf), subject, sizeof(subject));
  BioPtr out(BIO_new(BIO_s_mem()), &BIO_free);
  ASN1_TIME_print(out.get(), X509_get0_notAfter(leaf));
  char* text = nullptr;
  const long size = BIO_get_mem_data(out.get(), &text);
  return absl::StrCat(subject, ", expires ", std::string(text, static_cast<size_t>(size)));
}

// Writes `contents` to `path` through a new file renamed over it, so that a
// reader sees the old contents or the new, never part of them.
absl::Status WriteAtomically(const std::string& path, const std::string& contents) {
  const std::string temporary = path + ".new";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return absl::InternalError(absl::StrCat("cannot write ", temporary, ": ", std::strerror(errno)));
  size_t written = 0;
  while (written < contents.size()) {
    const ssize_t n = ::write(fd, contents.data() + written, contents.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int error = errno;
      ::close(fd);
      return absl::InternalError(absl::StrCat("cannot write ", temporary, ": ", std::strerror(error)));
    }
    written += static_cast<size_t>(n);
  }
  ::close(fd);
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("cannot rename ", temporary, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

constexpr char kCopyPrefix[] = "token-tls.";
constexpr const char* kCopyFiles[] = {"identity.pem", "ca.pem", "identity.pem.new", "ca.pem.new"};

void RemoveCopy(const std::string& directory) {
  for (const char* name : kCopyFiles) ::unlink(absl::StrCat(directory, "/", name).c_str());
  ::rmdir(directory.c_str());
}

// A process killed outright (SIGKILL, the OOM killer) leaves its private
// copy behind, key included. Each start removes the copies of processes that
// are gone, and those carrying this process's own pid (a restarted container
// is pid 1 again): "token-tls.<pid>.XXXXXX", owned by this user.
void RemoveCopiesOfGoneProcesses(const std::string& parent) {
  DIR* dir = ::opendir(parent.c_str());
  if (dir == nullptr) return;
  while (const dirent* entry = ::readdir(dir)) {
    const std::string name = entry->d_name;
    if (name.rfind(kCopyPrefix, 0) != 0) continue;
    const size_t dot = name.find('.', sizeof(kCopyPrefix) - 1);
    pid_t pid = 0;
    if (dot == std::string::npos ||
        !absl::SimpleAtoi(name.substr(sizeof(kCopyPrefix) - 1, dot - (sizeof(kCopyPrefix) - 1)),
                          &pid) ||
        pid <= 0) {
      continue;
    }
    const std::string path = absl::StrCat(parent, "/", name);
    struct stat info;
    if (::lstat(path.c_str(), &info) != 0 || !S_ISDIR(info.st_mode) || info.st_uid != ::getuid()) {
      continue;
    }
    if (pid == ::getpid() || (::kill(pid, 0) != 0 && errno == ESRCH)) RemoveCopy(path);
  }
  ::closedir(dir);
}

}  // namespace

absl::StatusOr<TlsMaterial> ReadTlsFiles(const TlsFiles& files) {
  if (files.cert.empty() != files.key.empty()) {
    const std::string& missing = files.cert.empty() ? files.cert_flag : files.key_flag;
    const std::string& given = files.cert.empty() ? files.key_flag : files.cert_flag;
    return InvalidFlag(missing, absl::StrCat("is required with --", given));
  }
  TlsMaterial material;
  if (!files.cert.empty()) {
    absl::StatusOr<std::string> cert = ReadFile(files.cert, files.cert_flag);
    if (!cert.ok()) return cert.status();
    absl::StatusOr<std::string> key = ReadFile(files.key, files.key_flag);
    if (!key.ok()) return key.status();
    std::vector<X509Ptr> chain = ParseCertificates(*cert);
    if (chain.empty()) {
      return InvalidFlag(files.cert_flag,
                         absl::StrCat(files.cert, " is not a PEM certificate (chain)"));
    }
    BioPtr key_bio = MemoryBio(*key);
    KeyPtr private_key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, &NoPassword, nullptr),
                       &EVP_PKEY_free);
    ERR_clear_error();
    if (private_key == nullptr) {
      return InvalidFlag(files.key_flag,
                         absl::StrCat(files.key, " is not an unencrypted PEM private key"));
    }
    if (X509_check_private_key(chain.front().get(), private_key.get()) != 1) {
      ERR_clear_error();
      return InvalidFlag(files.key_flag, absl::StrCat(files.key, " does not match the certificate in ",
                                                      files.cert, " (--", files.cert_flag, ")"));
    }
    material.cert_summary = Summary(chain.front().get());
    material.cert_chain = *std::move(cert);
    material.key = *std::move(key);
  }
  if (!files.ca.empty()) {
    absl::StatusOr<std::string> ca = ReadFile(files.ca, files.ca_flag);
    if (!ca.ok()) return ca.status();
    if (ParseCertificates(*ca).empty()) {
      return InvalidFlag(files.ca_flag, absl::StrCat(files.ca, " is not a PEM CA certificate (bundle)"));
    }
    material.ca = *std::move(ca);
  }
  return material;
}

absl::StatusOr<std::unique_ptr<TlsReloader>> TlsReloader::Start(TlsFiles files,
                                                                absl::Duration interval) {
  absl::StatusOr<TlsMaterial> material = ReadTlsFiles(files);
  if (!material.ok()) return material.status();
  const char* tmpdir = std::getenv("TMPDIR");
  const std::string parent = tmpdir != nullptr && *tmpdir != '\0' ? tmpdir : "/tmp";
  RemoveCopiesOfGoneProcesses(parent);
  std::string pattern = absl::StrCat(parent, "/", kCopyPrefix, ::getpid(), ".XXXXXX");
  if (::mkdtemp(pattern.data()) == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot make a private directory for the TLS files (", pattern, "): ", std::strerror(errno),
        "; set TMPDIR to a writable directory"));
  }
  std::unique_ptr<TlsReloader> reloader(
      new TlsReloader(std::move(files), std::max(interval, absl::Seconds(1)), pattern));
  if (absl::Status s = reloader->Stage(*material); !s.ok()) return s;
  reloader->served_ = *std::move(material);
  reloader->thread_ = std::thread([r = reloader.get()] { r->Run(); });
  return reloader;
}

TlsReloader::TlsReloader(TlsFiles files, absl::Duration interval, std::string directory)
    : files_(std::move(files)),
      interval_(interval),
      directory_(std::move(directory)),
      identity_path_(directory_ + "/identity.pem"),
      ca_path_(directory_ + "/ca.pem") {}

TlsReloader::~TlsReloader() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
  // gRPC's provider may read the files once more; it keeps what it read last
  // when they are gone, and the process is ending.
  RemoveCopy(directory_);
}

// The certificate chain and the key in one file, so that gRPC's provider
// (which reads the key path, then the certificate path) reads a matching
// pair from one rename, never a key of one generation with a certificate of
// the other; PEM readers skip the blocks they do not look for. A rename
// between its two reads changes the file's modification time (generations
// are at least a second apart), which the provider notices and reads again.
absl::Status TlsReloader::Stage(const TlsMaterial& material) {
  if (!material.cert_chain.empty()) {
    std::string identity = material.cert_chain;
    if (!identity.empty() && identity.back() != '\n') identity += '\n';
    identity += material.key;
    if (absl::Status s = WriteAtomically(identity_path_, identity); !s.ok()) return s;
  }
  if (!material.ca.empty()) return WriteAtomically(ca_path_, material.ca);
  return absl::OkStatus();
}

void TlsReloader::Run() {
  const auto log = Logger("tls");
  absl::MutexLock lock(&mu_);
  while (!mu_.AwaitWithTimeout(absl::Condition(&stop_), interval_)) {
    mu_.Unlock();
    absl::StatusOr<TlsMaterial> material = ReadTlsFiles(files_);
    if (!material.ok()) {
      // Once per distinct complaint: a file that stays bad is one line,
      // not one per interval.
      if (material.status().message() != last_error_) {
        last_error_ = std::string(material.status().message());
        log->warn("{}; still serving the files read before{}", last_error_,
                  served_.cert_summary.empty() ? "" : " (" + served_.cert_summary + ")");
      }
    } else if (!(*material == served_)) {
      if (absl::Status s = Stage(*material); !s.ok()) {
        log->error("TLS files changed but cannot be staged: {}", s.message());
      } else {
        served_ = *std::move(material);
        last_error_.clear();
        log->info("TLS files changed; new connections get them{}",
                  served_.cert_summary.empty() ? "" : ": " + served_.cert_summary);
      }
    } else {
      last_error_.clear();
    }
    mu_.Lock();
  }
}

std::shared_ptr<grpc::ServerCredentials> TlsReloader::ServerCredentials() const {
  const bool mutual = !files_.ca.empty();
  // Re-read each second: these are the private copies, changed only by Run.
  auto provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      identity_path_, identity_path_, mutual ? ca_path_ : "", 1);
  grpc::experimental::TlsServerCredentialsOptions options(provider);
  options.watch_identity_key_cert_pairs();
  if (mutual) {
    options.watch_root_certs();
    options.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  } else {
    options.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  }
  return grpc::experimental::TlsServerCredentials(options);
}

std::shared_ptr<grpc::ChannelCredentials> TlsReloader::ChannelCredentials() const {
  const bool identity = !files_.cert.empty();
  auto provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      identity ? identity_path_ : "", identity ? identity_path_ : "", ca_path_, 1);
  grpc::experimental::TlsChannelCredentialsOptions options;
  options.set_certificate_provider(provider);
  options.watch_root_certs();
  if (identity) options.watch_identity_key_cert_pairs();
  options.set_verify_server_certs(true);
  options.set_certificate_verifier(
      std::make_shared<grpc::experimental::HostNameCertificateVerifier>());
  return grpc::experimental::TlsCredentials(options);
}

std::string TlsReloader::Describe() const {
  return files_.ca.empty() ? "TLS" : "TLS (client certificates required)";
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> UnverifiedChannelCredentials(
    const TlsFiles& files) {
  if (files.cert.empty() && files.key.empty()) return grpc::InsecureChannelCredentials();
  TlsFiles identity_only = files;
  identity_only.ca.clear();
  absl::StatusOr<TlsMaterial> material = ReadTlsFiles(identity_only);
  if (!material.ok()) return material.status();
  auto provider = std::make_shared<grpc::experimental::StaticDataCertificateProvider>(
      std::vector<grpc::experimental::IdentityKeyCertPair>{{material->key, material->cert_chain}});
  grpc::experimental::TlsChannelCredentialsOptions options;
  options.set_certificate_provider(provider);
  options.watch_identity_key_cert_pairs();
  options.set_verify_server_certs(false);
  options.set_check_call_host(false);
  options.set_certificate_verifier(std::make_shared<grpc::experimental::NoOpCertificateVerifier>());
  return grpc::experimental::TlsCredentials(options);
}

}  // namespace tokens
