#pragma once

// HTTP clients over plain sockets for tests that must misbehave as no HTTP
// library would: a client that sends its request a byte at a time and never
// finishes it, one that never sends anything, one that never reads its
// answers. Header-only: a few dozen lines of sockets for the tests of the
// metrics port, shared by the unit test and both binaries' tests.

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace tokens::testing {

// One TCP connection, blocking sends, reads bounded in time.
class RawConnection {
 public:
  // Connects to "host:port" or "[v6]:port". `receive_buffer` > 0 shrinks the
  // socket's receive buffer first (a client that reads little holds the
  // server's writes sooner).
  static absl::StatusOr<std::unique_ptr<RawConnection>> Connect(absl::string_view address,
                                                                int receive_buffer = 0) {
    const size_t colon = address.rfind(':');
    if (colon == absl::string_view::npos) return absl::InvalidArgumentError("no port");
    std::string host(address.substr(0, colon));
    if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
    const std::string port(address.substr(colon + 1));
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (getaddrinfo(host.c_str(), port.c_str(), &hints, &found) != 0 || found == nullptr) {
      return absl::UnavailableError(absl::StrCat("cannot resolve ", address));
    }
    const int fd = socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (receive_buffer > 0) {
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof(receive_buffer));
    }
    const bool connected = fd >= 0 && connect(fd, found->ai_addr, found->ai_addrlen) == 0;
    freeaddrinfo(found);
    if (!connected) {
      if (fd >= 0) close(fd);
      return absl::UnavailableError(absl::StrCat("cannot connect to ", address));
    }
    return std::unique_ptr<RawConnection>(new RawConnection(fd));
  }
  ~RawConnection() { close(fd_); }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  // False once the server has closed or reset the connection.
  bool Send(absl::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Reads until the server closes (an orderly close or a reset) and returns
  // everything read; nullopt if it has not closed after `timeout`.
  std::optional<std::string> ReadUntilClosed(absl::Duration timeout) {
    std::string received;
    const absl::Time deadline = absl::Now() + timeout;
    for (;;) {
      const absl::Duration left = deadline - absl::Now();
      if (left <= absl::ZeroDuration()) return std::nullopt;
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1) <= 0) continue;
      char buffer[16384];
      const ssize_t n = recv(fd_, buffer, sizeof(buffer), 0);
      if (n <= 0) return received;
      received.append(buffer, static_cast<size_t>(n));
    }
  }

  // Whether the server has reset the connection, seen without reading: for a
  // client that must not read (reading would let the server go on).
  bool AwaitReset(absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      pollfd p{fd_, 0, 0};  // POLLERR and POLLHUP are reported regardless
      if (poll(&p, 1, 100) > 0 && (p.revents & (POLLERR | POLLHUP)) != 0) return true;
    }
    return false;
  }

  // Whether the server has closed the connection by now (without waiting).
  bool ClosedNow() {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, 0) <= 0) return false;
    char byte;
    return recv(fd_, &byte, 1, MSG_PEEK) <= 0;
  }

 private:
  explicit RawConnection(int fd) : fd_(fd) {}
  const int fd_;
};

// A slowloris: sends "GET /metrics HTTP/1.1\r\nX-Drip: " and then one more
// byte of that header every `interval`, from a thread of its own, never
// ending the head, until the server closes the connection or the object is
// destroyed.
class DripClient {
 public:
  static absl::StatusOr<std::unique_ptr<DripClient>> Start(absl::string_view address,
                                                           absl::Duration interval) {
    absl::StatusOr<std::unique_ptr<RawConnection>> connection = RawConnection::Connect(address);
    if (!connection.ok()) return connection.status();
    return std::unique_ptr<DripClient>(new DripClient(std::move(*connection), interval));
  }
  ~DripClient() {
    stop_ = true;
    thread_.join();
  }

  // Waits until `bytes` bytes have been sent; false if the server closed
  // the connection first or after `timeout`.
  bool AwaitSent(int bytes, absl::Duration timeout) const {
    const absl::Time deadline = absl::Now() + timeout;
    while (sent_ < bytes && !closed_ && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(5));
    }
    return sent_ >= bytes;
  }
  // Waits until the server has closed the connection; false after `timeout`.
  bool AwaitClosed(absl::Duration timeout) const {
    const absl::Time deadline = absl::Now() + timeout;
    while (!closed_ && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(5));
    return closed_;
  }

 private:
  DripClient(std::unique_ptr<RawConnection> connection, absl::Duration interval)
      : connection_(std::move(connection)), thread_([this, interval] { Run(interval); }) {}

  void Run(absl::Duration interval) {
    const std::string head = "GET /metrics HTTP/1.1\r\nX-Drip: ";
    for (size_t i = 0; !stop_; ++i) {
      const char byte = i < head.size() ? head[i] : 'a';
      if (connection_->ClosedNow() || !connection_->Send(absl::string_view(&byte, 1))) {
        closed_ = true;
        return;
      }
      ++sent_;
      absl::SleepFor(interval);
    }
  }

  std::unique_ptr<RawConnection> connection_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> closed_{false};
  std::atomic<int> sent_{0};
  std::thread thread_;
};

}  // namespace tokens::testing
