#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/process/ready_file.h"

namespace tokens::testing {

// A child process (fork + execve, no shell) whose stdout and stderr are
// captured in memory by background threads, for tests that run the real
// binaries. The child is put in its own process group and is killed
// (SIGKILL) on destruction if still running.
class ChildProcess {
 public:
  struct Options {
    std::string binary;             // absolute path
    std::vector<std::string> args;  // argv[1..]
    // Added to (and overriding) the parent's environment.
    std::map<std::string, std::string> env;
    // Variables removed from the inherited environment.
    std::vector<std::string> unset_env;
    // When set, the child's RLIMIT_NOFILE, soft and hard (set before exec,
    // so the child cannot raise it again).
    std::optional<uint64_t> open_files_limit = std::nullopt;
    // For token-service and token-sidecar: appends "--ready_file PATH" with
    // a path in a private directory, for WaitUntilReady().
    bool ready_file = false;
  };

  static absl::StatusOr<std::unique_ptr<ChildProcess>> Spawn(Options options);
  ~ChildProcess();

  pid_t pid() const;

  // The child's resident memory (VmRSS of /proc/<pid>/status) in KiB.
  absl::StatusOr<int64_t> ResidentKib() const;

  // Everything captured so far.
  std::string Stdout() const;
  std::string Stderr() const;

  // Waits until the captured stderr contains a match of the ECMAScript
  // `regex`; returns the first capture group (or the whole match if the regex
  // has no group). DEADLINE_EXCEEDED after `timeout`; FAILED_PRECONDITION if
  // the child exits first (the message includes the stderr tail).
  absl::StatusOr<std::string> WaitForStderr(const std::string& regex,
                                            std::chrono::milliseconds timeout);

  // Started with Options::ready_file: waits until the child has written its
  // ready file (common/process/ready_file.h) and returns what it says: its
  // bound addresses by name ("grpc", "metrics", "sync"). DEADLINE_EXCEEDED
  // after `timeout`; FAILED_PRECONDITION if the child exits first (the
  // message includes the stderr tail).
  absl::StatusOr<ReadyFileContents> WaitUntilReady(std::chrono::milliseconds timeout);
  // Where the ready file is ("" without Options::ready_file).
  const std::string& ready_file() const;

  // For a server without a ready file (the examples), or one that is not to
  // become ready (a sidecar without its snapshot): waits for the
  // "listening on host:port" line that ServeUntilStopped() logs and returns
  // "host:port".
  absl::StatusOr<std::string> WaitUntilListening(std::chrono::milliseconds timeout);

  // Sends a signal to the child.
  void Signal(int signo);

  // Waits for the child to exit; returns its exit status as from waitpid
  // (use WIFEXITED/WEXITSTATUS), or DEADLINE_EXCEEDED.
  absl::StatusOr<int> Wait(std::chrono::milliseconds timeout);

  // Convenience: run to completion and return {exit code, stdout, stderr}.
  struct Result {
    int exit_code;  // -signal if killed by a signal
    std::string out;
    std::string err;
  };
  static absl::StatusOr<Result> Run(Options options, std::chrono::milliseconds timeout);

 private:
  ChildProcess() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tokens::testing
