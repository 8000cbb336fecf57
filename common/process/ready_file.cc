#include "common/process/ready_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace tokens {
namespace {

constexpr absl::string_view kPid = "pid";

bool IsPlain(absl::string_view s) {
  return !s.empty() && !absl::StrContains(s, '"') && !absl::StrContains(s, '\\') &&
         !absl::StrContains(s, ',') && !absl::StrContains(s, ':');
}

// `"text"` -> text, for text without quotes or backslashes.
bool Unquote(absl::string_view quoted, std::string* out) {
  if (quoted.size() < 2 || quoted.front() != '"' || quoted.back() != '"') return false;
  const absl::string_view inner = quoted.substr(1, quoted.size() - 2);
  if (absl::StrContains(inner, '"') || absl::StrContains(inner, '\\')) return false;
  *out = std::string(inner);
  return true;
}

absl::Status ErrnoStatus(absl::string_view what, const std::string& path) {
  return absl::InternalError(absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

// PATH.tmp, fsync, rename: a reader sees the whole file or none.
absl::Status WriteAtomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus("cannot create", tmp);
  size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const absl::Status status = ErrnoStatus("cannot write", tmp);
      ::close(fd);
      ::unlink(tmp.c_str());
      return status;
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    const absl::Status status = ErrnoStatus("cannot fsync", tmp);
    ::close(fd);
    ::unlink(tmp.c_str());
    return status;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const absl::Status status = ErrnoStatus("cannot rename to", path);
    ::unlink(tmp.c_str());
    return status;
  }
  return absl::OkStatus();
}

}  // namespace

std::string FormatReadyFile(const ReadyFileContents& contents) {
  std::string text = absl::StrCat("{\"", kPid, "\":", contents.pid);
  for (const auto& [name, address] : contents.addresses) {
    absl::StrAppend(&text, ",\"", name, "\":\"", address, "\"");
  }
  absl::StrAppend(&text, "}\n");
  return text;
}

absl::StatusOr<ReadyFileContents> ParseReadyFile(absl::string_view text) {
  const auto bad = [&text](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("not a ready file (", why, "): ", text));
  };
  absl::string_view body = absl::StripAsciiWhitespace(text);
  if (!absl::ConsumePrefix(&body, "{") || !absl::ConsumeSuffix(&body, "}")) {
    return bad("not one object");
  }
  ReadyFileContents contents;
  bool has_pid = false;
  for (absl::string_view member : absl::StrSplit(body, ',')) {
    // The name has no ':'; an address ("[::1]:80") may.
    const size_t colon = member.find(':');
    std::string name;
    if (colon == absl::string_view::npos || !Unquote(member.substr(0, colon), &name)) {
      return bad("member without a quoted name");
    }
    const absl::string_view value = member.substr(colon + 1);
    if (name == kPid) {
      int pid = 0;
      if (!absl::SimpleAtoi(value, &pid) || pid <= 0) return bad("pid is not a number");
      contents.pid = pid;
      has_pid = true;
    } else if (std::string address; Unquote(value, &address) && !address.empty()) {
      contents.addresses[name] = address;
    } else {
      return bad(absl::StrCat(name, " is not a quoted address"));
    }
  }
  if (!has_pid) return bad("no pid");
  return contents;
}

absl::StatusOr<ReadyFileContents> ReadReadyFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("no ready file at ", path));
  std::stringstream text;
  text << in.rdbuf();
  return ParseReadyFile(text.str());
}

absl::Status CheckReadyFilePath(const std::string& path) {
  if (path.empty()) return absl::OkStatus();
  if (path.back() == '/') return absl::InvalidArgumentError("must name a file, not a directory");
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, std::max<size_t>(slash, 1));
  if (::access(dir.c_str(), W_OK) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("its directory ", dir, " is not writable: ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

ReadyFile::ReadyFile(std::string path) : path_(std::move(path)) {}

ReadyFile::~ReadyFile() { Withdraw(); }

void ReadyFile::SetAddress(const std::string& name, const std::string& address) {
  absl::MutexLock lock(&mu_);
  addresses_[name] = address;
}

absl::Status ReadyFile::Announce() {
  absl::MutexLock lock(&mu_);
  if (path_.empty() || withdrawn_) return absl::OkStatus();
  ReadyFileContents contents{::getpid(), addresses_};
  for (const auto& [name, address] : addresses_) {
    if (!IsPlain(name) || name == kPid || address.empty() ||
        absl::StrContains(address, '"') || absl::StrContains(address, '\\') ||
        absl::StrContains(address, ',')) {
      return absl::InternalError(absl::StrCat("cannot put ", name, "=", address, " in ", path_));
    }
  }
  if (absl::Status status = WriteAtomically(path_, FormatReadyFile(contents)); !status.ok()) {
    return status;
  }
  written_ = true;
  return absl::OkStatus();
}

void ReadyFile::Withdraw() {
  absl::MutexLock lock(&mu_);
  withdrawn_ = true;
  if (written_) ::unlink(path_.c_str());
  written_ = false;
}

}  // namespace tokens
