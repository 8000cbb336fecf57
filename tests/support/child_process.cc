#include "tests/support/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

extern char** environ;

namespace tokens::testing {
namespace {

constexpr size_t kTailBytes = 2000;

std::string Tail(const std::string& s, size_t n = kTailBytes) {
  if (s.size() <= n) return s;
  return "..." + s.substr(s.size() - n);
}

// Closes a descriptor if it is open and marks it closed.
void CloseFd(int& fd) {
  if (fd >= 0) {
    ::close(fd);
    fd = -1;
  }
}

// Resolves `name` like execvp would, using PATH from the child's environment
// (or the default path), so that the child itself only needs execve. Names
// containing a '/' are returned unchanged.
std::string ResolveBinary(const std::string& name, const std::string& path_env) {
  if (name.empty() || name.find('/') != std::string::npos) return name;
  std::string path = path_env.empty() ? "/usr/local/bin:/usr/bin:/bin" : path_env;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string dir = path.substr(start, end - start);
    if (dir.empty()) dir = ".";
    std::string candidate = dir + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return name;
}

// Builds the child's environment: the parent's, minus `unset`, plus `add`.
std::map<std::string, std::string> MergeEnv(const ChildProcess::Options& o) {
  std::map<std::string, std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string entry(*e);
    size_t eq = entry.find('=');
    if (eq == std::string::npos || eq == 0) continue;
    env.emplace(entry.substr(0, eq), entry.substr(eq + 1));
  }
  for (const std::string& name : o.unset_env) env.erase(name);
  for (const auto& [name, value] : o.env) env[name] = value;
  return env;
}

}  // namespace

struct ChildProcess::Impl {
  pid_t pid = -1;
  std::string binary;
  // Options::ready_file: the private directory and the file in it.
  std::string ready_dir;
  std::string ready_file;

  // Parent ends of the stdout/stderr pipes (owned by the reader threads until
  // they are joined) and of the "stop reading" pipe used by the destructor.
  int out_fd = -1;
  int err_fd = -1;
  int stop_rd = -1;
  int stop_wr = -1;
  std::thread out_reader;
  std::thread err_reader;

  mutable absl::Mutex mu;
  absl::CondVar cv;  // signalled on new output, EOF and reaping
  std::string out ABSL_GUARDED_BY(mu);
  std::string err ABSL_GUARDED_BY(mu);
  bool out_eof ABSL_GUARDED_BY(mu) = false;
  bool err_eof ABSL_GUARDED_BY(mu) = false;
  bool exited ABSL_GUARDED_BY(mu) = false;
  int wait_status ABSL_GUARDED_BY(mu) = 0;
  absl::Status wait_error ABSL_GUARDED_BY(mu);

  void ReadLoop(bool is_stderr) {
    const int fd = is_stderr ? err_fd : out_fd;
    char buf[4096];
    for (;;) {
      pollfd fds[2] = {{fd, POLLIN, 0}, {stop_rd, POLLIN, 0}};
      int r = ::poll(fds, 2, -1);
      if (r < 0) {
        if (errno == EINTR) continue;
        break;
      }
      if (fds[1].revents != 0) break;  // destructor: stop now
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n > 0) {
        absl::MutexLock lock(&mu);
        (is_stderr ? err : out).append(buf, static_cast<size_t>(n));
        cv.SignalAll();
        continue;
      }
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      break;  // EOF or error
    }
    absl::MutexLock lock(&mu);
    (is_stderr ? err_eof : out_eof) = true;
    cv.SignalAll();
  }

  // Reaps the child if it has exited; returns whether it has.
  bool ReapLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (exited) return true;
    int status = 0;
    pid_t r;
    do {
      r = ::waitpid(pid, &status, WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r == pid) {
      exited = true;
      wait_status = status;
      cv.SignalAll();
    } else if (r < 0) {
      // ECHILD: somebody else reaped it (e.g. SIGCHLD ignored).
      exited = true;
      wait_error = absl::InternalError(absl::StrCat("waitpid(", pid, "): ", std::strerror(errno)));
      cv.SignalAll();
    }
    return exited;
  }

  // Waits (bounded) until both pipes reached EOF, so that the output is
  // complete once the child has exited. Grandchildren that inherited the
  // pipes can keep them open; hence the bound.
  void WaitForEofLocked(absl::Duration grace) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    const absl::Time deadline = absl::Now() + grace;
    while (!(out_eof && err_eof)) {
      if (cv.WaitWithDeadline(&mu, deadline)) break;
    }
  }

  std::string DescribeLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    std::string s = absl::StrCat(binary, " (pid ", pid, ")");
    if (exited && wait_error.ok()) {
      if (WIFEXITED(wait_status)) {
        absl::StrAppend(&s, " exited with code ", WEXITSTATUS(wait_status));
      } else if (WIFSIGNALED(wait_status)) {
        absl::StrAppend(&s, " was killed by signal ", WTERMSIG(wait_status));
      }
    }
    return s;
  }
};

absl::StatusOr<std::unique_ptr<ChildProcess>> ChildProcess::Spawn(Options options) {
  // Everything the child needs is prepared before fork(): after fork() in a
  // multi-threaded process only async-signal-safe calls are allowed.
  const std::map<std::string, std::string> env_map = MergeEnv(options);
  std::string path_env;
  if (auto it = env_map.find("PATH"); it != env_map.end()) path_env = it->second;
  const std::string binary = ResolveBinary(options.binary, path_env);

  std::vector<std::string> env_strings;
  env_strings.reserve(env_map.size());
  for (const auto& [name, value] : env_map) {
    env_strings.push_back(name + "=" + value);
  }
  std::vector<char*> envp;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);

  std::vector<std::string> arg_strings;
  arg_strings.push_back(options.binary);
  for (const std::string& a : options.args) arg_strings.push_back(a);
  std::string ready_dir;
  std::string ready_file;
  if (options.ready_file) {
    // Not under $TMPDIR: tests that count the files a binary leaves there
    // set it for the child.
    std::string pattern = "/tmp/tokens-ready-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) {
      return absl::InternalError(absl::StrCat("mkdtemp: ", std::strerror(errno)));
    }
    ready_dir = pattern;
    ready_file = ready_dir + "/ready.json";
    arg_strings.push_back("--ready_file");
    arg_strings.push_back(ready_file);
  }
  // Removes the directory unless the child got it.
  struct DirGuard {
    std::string* dir;
    ~DirGuard() {
      if (!dir->empty()) std::filesystem::remove_all(*dir);
    }
  } ready_dir_guard{&ready_dir};
  std::vector<char*> argv;
  for (std::string& s : arg_strings) argv.push_back(s.data());
  argv.push_back(nullptr);

  // All descriptors are created close-on-exec, so that concurrently spawned
  // children never inherit them; the child dup2()s its ends onto 0/1/2.
  int out_pipe[2] = {-1, -1};
  int err_pipe[2] = {-1, -1};
  int exec_pipe[2] = {-1, -1};  // reports execve() failure to the parent
  int stop_pipe[2] = {-1, -1};
  int dev_null = -1;
  auto close_all = [&] {
    for (int* p : {out_pipe, err_pipe, exec_pipe, stop_pipe}) {
      CloseFd(p[0]);
      CloseFd(p[1]);
    }
    CloseFd(dev_null);
  };
  if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0 ||
      ::pipe2(exec_pipe, O_CLOEXEC) != 0 || ::pipe2(stop_pipe, O_CLOEXEC) != 0) {
    int e = errno;
    close_all();
    return absl::InternalError(absl::StrCat("pipe2: ", std::strerror(e)));
  }
  rlimit open_files{};
  if (options.open_files_limit.has_value()) {
    open_files.rlim_cur = open_files.rlim_max = *options.open_files_limit;
  }
  dev_null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (dev_null < 0) {
    int e = errno;
    close_all();
    return absl::InternalError(absl::StrCat("open /dev/null: ", std::strerror(e)));
  }

  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    int e = errno;
    close_all();
    return absl::InternalError(absl::StrCat("fork: ", std::strerror(e)));
  }
  if (pid == 0) {
    // Child. Own process group, so that the destructor can kill everything
    // the child starts.
    ::setpgid(0, 0);
    // If the test process dies without running its destructors (a crash,
    // SIGPIPE, a killed ctest), the servers it started must not outlive it.
    // Tests start children from their main thread, whose exit this follows.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    // Undo signal state inherited from the test process (e.g. SIG_IGN for
    // SIGPIPE survives execve).
    sigset_t all;
    sigemptyset(&all);
    ::sigprocmask(SIG_SETMASK, &all, nullptr);
    struct sigaction dfl;
    std::memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig) {
      if (sig == SIGKILL || sig == SIGSTOP) continue;
      ::sigaction(sig, &dfl, nullptr);
    }
    // dup2 clears FD_CLOEXEC on the new descriptor.
    if (::dup2(dev_null, STDIN_FILENO) < 0 || ::dup2(out_pipe[1], STDOUT_FILENO) < 0 ||
        ::dup2(err_pipe[1], STDERR_FILENO) < 0) {
      int e = errno;
      (void)!::write(exec_pipe[1], &e, sizeof e);
      ::_exit(127);
    }
    if (options.open_files_limit.has_value() && ::setrlimit(RLIMIT_NOFILE, &open_files) != 0) {
      int e = errno;
      (void)!::write(exec_pipe[1], &e, sizeof e);
      ::_exit(127);
    }
    // Descriptors the test process opened without O_CLOEXEC (sockets,
    // files, ...) must not leak into the child either.
#ifdef CLOSE_RANGE_CLOEXEC
    ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
#endif
    ::execve(binary.c_str(), argv.data(), envp.data());
    int e = errno;
    (void)!::write(exec_pipe[1], &e, sizeof e);
    ::_exit(127);
  }

  // Parent. Also set the group here to avoid racing with the child.
  ::setpgid(pid, pid);
  CloseFd(out_pipe[1]);
  CloseFd(err_pipe[1]);
  CloseFd(exec_pipe[1]);
  CloseFd(dev_null);

  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(exec_pipe[0], &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  CloseFd(exec_pipe[0]);
  if (n == static_cast<ssize_t>(sizeof child_errno)) {
    int status;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    close_all();
    std::string message = absl::StrCat("cannot execute ", binary, ": ", std::strerror(child_errno));
    if (child_errno == ENOENT) return absl::NotFoundError(message);
    return absl::FailedPreconditionError(message);
  }

  std::unique_ptr<ChildProcess> child(new ChildProcess());
  child->impl_ = std::make_unique<Impl>();
  Impl& impl = *child->impl_;
  impl.pid = pid;
  impl.binary = binary;
  impl.ready_dir = std::exchange(ready_dir, "");
  impl.ready_file = ready_file;
  impl.out_fd = std::exchange(out_pipe[0], -1);
  impl.err_fd = std::exchange(err_pipe[0], -1);
  impl.stop_rd = std::exchange(stop_pipe[0], -1);
  impl.stop_wr = std::exchange(stop_pipe[1], -1);
  impl.out_reader = std::thread([&impl] { impl.ReadLoop(false); });
  impl.err_reader = std::thread([&impl] { impl.ReadLoop(true); });
  return child;
}

ChildProcess::~ChildProcess() {
  if (impl_ == nullptr) return;
  Impl& impl = *impl_;
  bool exited;
  {
    absl::MutexLock lock(&impl.mu);
    exited = impl.ReapLocked();
  }
  // Kill the whole group: the child and anything it started that stayed in
  // its group. After reaping, the group id cannot have been reused while
  // members remain, and ESRCH is harmless.
  ::kill(-impl.pid, SIGKILL);
  if (!exited) {
    int status = 0;
    pid_t r;
    do {
      r = ::waitpid(impl.pid, &status, 0);
    } while (r < 0 && errno == EINTR);
  }
  // Stop the readers even if some process outside the group still holds the
  // write ends of the pipes.
  char c = 'x';
  (void)!::write(impl.stop_wr, &c, 1);
  if (impl.out_reader.joinable()) impl.out_reader.join();
  if (impl.err_reader.joinable()) impl.err_reader.join();
  CloseFd(impl.out_fd);
  CloseFd(impl.err_fd);
  CloseFd(impl.stop_rd);
  CloseFd(impl.stop_wr);
  if (!impl.ready_dir.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(impl.ready_dir, ignored);
  }
}

pid_t ChildProcess::pid() const { return impl_->pid; }

absl::StatusOr<int64_t> ChildProcess::ResidentKib() const {
  std::ifstream status(absl::StrCat("/proc/", impl_->pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    std::vector<absl::string_view> fields =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipWhitespace());
    int64_t kib = 0;
    if (fields.size() >= 2 && fields[0] == "VmRSS:" && absl::SimpleAtoi(fields[1], &kib)) {
      return kib;
    }
  }
  return absl::NotFoundError(absl::StrCat("no VmRSS for pid ", impl_->pid));
}

std::string ChildProcess::Stdout() const {
  absl::MutexLock lock(&impl_->mu);
  return impl_->out;
}

std::string ChildProcess::Stderr() const {
  absl::MutexLock lock(&impl_->mu);
  return impl_->err;
}

absl::StatusOr<std::string> ChildProcess::WaitForStderr(const std::string& regex,
                                                        std::chrono::milliseconds timeout) {
  std::regex re;
  try {
    re = std::regex(regex, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    return absl::InvalidArgumentError(absl::StrCat("bad regex '", regex, "': ", e.what()));
  }
  Impl& impl = *impl_;
  const absl::Time deadline = absl::Now() + absl::FromChrono(timeout);
  // Once the child has exited, give the reader a moment to drain the pipe.
  constexpr absl::Duration kDrainGrace = absl::Milliseconds(500);
  std::optional<absl::Time> drain_deadline;
  size_t checked_size = std::string::npos;

  absl::MutexLock lock(&impl.mu);
  for (;;) {
    if (impl.err.size() != checked_size) {
      checked_size = impl.err.size();
      std::smatch m;
      if (std::regex_search(impl.err, m, re)) {
        return m.size() > 1 ? m[1].str() : m[0].str();
      }
    }
    impl.ReapLocked();
    const absl::Time now = absl::Now();
    if (impl.exited && !drain_deadline) drain_deadline = now + kDrainGrace;
    if (impl.err_eof || (drain_deadline && now >= *drain_deadline)) {
      if (!impl.exited) {
        // stderr closed; the child is on its way out (or closed it itself).
        impl.cv.WaitWithTimeout(&impl.mu, absl::Milliseconds(100));
        impl.ReapLocked();
      }
      return absl::FailedPreconditionError(
          absl::StrCat(impl.DescribeLocked(), impl.exited ? "" : " closed its stderr",
                       " before its stderr matched /", regex, "/; stderr:\n", Tail(impl.err)));
    }
    if (now >= deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat(impl.DescribeLocked(), ": stderr did not match /", regex, "/ within ",
                       timeout.count(), "ms; stderr:\n", Tail(impl.err)));
    }
    // Wake up on new output, and periodically to notice the child's exit.
    absl::Time wake = std::min(deadline, now + absl::Milliseconds(20));
    if (drain_deadline) wake = std::min(wake, *drain_deadline);
    impl.cv.WaitWithDeadline(&impl.mu, wake);
  }
}

absl::StatusOr<std::string> ChildProcess::WaitUntilListening(std::chrono::milliseconds timeout) {
  return WaitForStderr(R"(listening on ([0-9.]+:[0-9]+))", timeout);
}

const std::string& ChildProcess::ready_file() const { return impl_->ready_file; }

absl::StatusOr<ReadyFileContents> ChildProcess::WaitUntilReady(std::chrono::milliseconds timeout) {
  Impl& impl = *impl_;
  if (impl.ready_file.empty()) {
    return absl::FailedPreconditionError("started without Options::ready_file");
  }
  const absl::Time deadline = absl::Now() + absl::FromChrono(timeout);
  absl::MutexLock lock(&impl.mu);
  for (;;) {
    absl::StatusOr<ReadyFileContents> ready = ReadReadyFile(impl.ready_file);
    // A file of another pid would be a leftover; ours is in a fresh directory.
    if (ready.ok() && ready->pid == impl.pid) return ready;
    if (!ready.ok() && ready.status().code() != absl::StatusCode::kNotFound) return ready;
    if (impl.ReapLocked()) {
      impl.WaitForEofLocked(absl::Milliseconds(500));
      return absl::FailedPreconditionError(absl::StrCat(
          impl.DescribeLocked(), " before it wrote its ready file; stderr:\n", Tail(impl.err)));
    }
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat(impl.DescribeLocked(), ": no ready file within ", timeout.count(),
                       "ms; stderr:\n", Tail(impl.err)));
    }
    // The file has no notification of its own; new output or a short wait.
    impl.cv.WaitWithTimeout(&impl.mu, absl::Milliseconds(20));
  }
}

void ChildProcess::Signal(int signo) {
  absl::MutexLock lock(&impl_->mu);
  // Never signal a reaped pid: it may belong to someone else by now.
  if (!impl_->ReapLocked()) ::kill(impl_->pid, signo);
}

absl::StatusOr<int> ChildProcess::Wait(std::chrono::milliseconds timeout) {
  Impl& impl = *impl_;
  const absl::Time deadline = absl::Now() + absl::FromChrono(timeout);
  absl::Duration sleep = absl::Milliseconds(1);
  for (;;) {
    {
      absl::MutexLock lock(&impl.mu);
      if (impl.ReapLocked()) break;
    }
    const absl::Time now = absl::Now();
    if (now >= deadline) {
      absl::MutexLock lock(&impl.mu);
      return absl::DeadlineExceededError(
          absl::StrCat(impl.DescribeLocked(), " still running after ", timeout.count(), "ms"));
    }
    absl::SleepFor(std::min(sleep, deadline - now));
    sleep = std::min(sleep * 2, absl::Milliseconds(20));
  }
  absl::MutexLock lock(&impl.mu);
  // Make Stdout()/Stderr() complete: output written just before exit may
  // still be in the pipes.
  impl.WaitForEofLocked(
      std::clamp(deadline - absl::Now(), absl::Milliseconds(100), absl::Seconds(2)));
  if (!impl.wait_error.ok()) return impl.wait_error;
  return impl.wait_status;
}

absl::StatusOr<ChildProcess::Result> ChildProcess::Run(Options options,
                                                       std::chrono::milliseconds timeout) {
  std::string cmdline = absl::StrCat(options.binary, " ", absl::StrJoin(options.args, " "));
  absl::StatusOr<std::unique_ptr<ChildProcess>> child = Spawn(std::move(options));
  if (!child.ok()) return child.status();
  absl::StatusOr<int> status = (*child)->Wait(timeout);
  if (!status.ok()) {
    return absl::Status(
        status.status().code(),
        absl::StrCat(cmdline, ": ", status.status().message(), "\nstdout:\n",
                     Tail((*child)->Stdout()), "\nstderr:\n", Tail((*child)->Stderr())));
  }
  Result result;
  if (WIFEXITED(*status)) {
    result.exit_code = WEXITSTATUS(*status);
  } else if (WIFSIGNALED(*status)) {
    result.exit_code = -WTERMSIG(*status);
  } else {
    result.exit_code = -1;
  }
  result.out = (*child)->Stdout();
  result.err = (*child)->Stderr();
  return result;
}

}  // namespace tokens::testing
