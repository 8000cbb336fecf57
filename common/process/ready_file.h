#pragma once

#include <sys/types.h>

#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

// The ready file (--ready_file): how a process says "I am ready to serve, and
// here is where" to whoever started it (scripts/lib.sh, the integration
// tests, a supervisor), so that nobody parses log lines for ports. It holds
// one JSON object, the pid and the bound addresses by name:
//
//   {"pid":4242,"grpc":"127.0.0.1:40123","sync":"127.0.0.1:40125","metrics":"127.0.0.1:40124"}
//
// It is written atomically (PATH.tmp, fsync, rename), so a reader that sees
// the file sees all of it; it is removed when the process stops serving. A
// file left behind by a crash names a pid that no longer runs.
namespace tokens {

// What a ready file says.
struct ReadyFileContents {
  pid_t pid = 0;
  std::map<std::string, std::string> addresses;  // name -> host:port

  friend bool operator==(const ReadyFileContents& a, const ReadyFileContents& b) {
    return a.pid == b.pid && a.addresses == b.addresses;
  }
};

// The file's text for `contents`, and back. Parse reads what Format writes
// (names and addresses without quotes or backslashes), not JSON in general;
// INVALID_ARGUMENT otherwise.
std::string FormatReadyFile(const ReadyFileContents& contents);
absl::StatusOr<ReadyFileContents> ParseReadyFile(absl::string_view text);

// Reads and parses the file at `path`: NOT_FOUND while it does not exist.
absl::StatusOr<ReadyFileContents> ReadReadyFile(const std::string& path);

// For --ready_file: "" (none), or a path whose directory exists and is
// writable; INVALID_ARGUMENT otherwise, so that a typo fails at start-up
// rather than leaving whoever waits for the file waiting.
absl::Status CheckReadyFilePath(const std::string& path);

// One process's ready file. Addresses are collected as listeners come up;
// Announce() writes the file once the process is ready, Withdraw() removes it
// when it stops being so (and for good: a late Announce() does nothing). Both
// may be called from any thread. An empty path makes every call a no-op.
class ReadyFile {
 public:
  explicit ReadyFile(std::string path);
  ~ReadyFile();  // Withdraw()s
  ReadyFile(const ReadyFile&) = delete;
  ReadyFile& operator=(const ReadyFile&) = delete;

  void SetAddress(const std::string& name, const std::string& address);
  // Writes the file with this process's pid and the addresses set so far.
  absl::Status Announce();
  void Withdraw();

 private:
  const std::string path_;
  absl::Mutex mu_;
  std::map<std::string, std::string> addresses_ ABSL_GUARDED_BY(mu_);
  bool written_ ABSL_GUARDED_BY(mu_) = false;
  bool withdrawn_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace tokens
