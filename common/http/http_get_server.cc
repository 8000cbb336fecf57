#include "common/http/http_get_server.h"

#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/http/host_port.h"

namespace tokens {
namespace {

using Clock = std::chrono::steady_clock;

// After an answer that ends its connection, input is still read (and
// dropped) this long: closing a socket with unread bytes makes the kernel
// send a reset, which can destroy the answer before the client has read it.
constexpr auto kLinger = std::chrono::seconds(2);
// How long accepting pauses when the process is out of descriptors or
// memory: the listener stays readable, so retrying at once would spin.
constexpr auto kAcceptBackoff = std::chrono::milliseconds(100);

Clock::duration ToClock(absl::Duration d) {
  return std::chrono::duration_cast<Clock::duration>(absl::ToChronoNanoseconds(d));
}

// What a request asks, as far as this server cares.
struct Request {
  std::string method;
  std::string path;  // without the query
  bool keep_alive = false;
  bool has_body = false;
};

bool IsToken(absl::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) &&
        !absl::StrContains("!#$%&'*+-.^_`|~", c)) {
      return false;
    }
  }
  return true;
}

// Whether a comma-separated header value lists `token` (case-insensitive).
bool ListsToken(absl::string_view value, absl::string_view token) {
  for (absl::string_view item : absl::StrSplit(value, ',')) {
    if (absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(item), token)) return true;
  }
  return false;
}

// Parses a request head (request line and header lines, without the line
// break before the empty line that ends it; lines end in CRLF or a bare LF). nullopt when it is not
// HTTP/1.0 or 1.1.
std::optional<Request> ParseHead(absl::string_view head) {
  std::vector<absl::string_view> lines = absl::StrSplit(head, '\n');
  for (absl::string_view& line : lines) absl::ConsumeSuffix(&line, "\r");
  std::vector<absl::string_view> parts = absl::StrSplit(lines[0], ' ');
  if (parts.size() != 3 || !IsToken(parts[0]) || !absl::StartsWith(parts[1], "/")) {
    return std::nullopt;
  }
  Request request;
  request.method = std::string(parts[0]);
  request.path = std::string(parts[1].substr(0, parts[1].find('?')));
  if (parts[2] == "HTTP/1.1") {
    request.keep_alive = true;
  } else if (parts[2] != "HTTP/1.0") {
    return std::nullopt;
  }
  for (size_t i = 1; i < lines.size(); ++i) {
    const size_t colon = lines[i].find(':');
    // A line without a name (including an obsolete folded continuation).
    if (colon == absl::string_view::npos || !IsToken(lines[i].substr(0, colon))) {
      return std::nullopt;
    }
    const absl::string_view name = lines[i].substr(0, colon);
    const absl::string_view value = absl::StripAsciiWhitespace(lines[i].substr(colon + 1));
    if (absl::EqualsIgnoreCase(name, "connection")) {
      if (ListsToken(value, "close")) request.keep_alive = false;
      if (ListsToken(value, "keep-alive")) request.keep_alive = true;
    } else if (absl::EqualsIgnoreCase(name, "content-length")) {
      if (value != "0") request.has_body = true;
    } else if (absl::EqualsIgnoreCase(name, "transfer-encoding")) {
      request.has_body = true;
    }
  }
  return request;
}

absl::string_view Reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 431:
      return "Request Header Fields Too Large";
    default:
      return "Error";
  }
}

// An answer's bytes. `body` is left out for HEAD but counted in
// Content-Length, as for GET.
std::string Answer(int status, absl::string_view content_type, absl::string_view body,
                   bool keep_alive, bool head_only) {
  return absl::StrCat(
      "HTTP/1.1 ", status, " ", Reason(status), "\r\nContent-Type: ", content_type,
      "\r\nContent-Length: ", body.size(), status == 405 ? "\r\nAllow: GET, HEAD" : "",
      "\r\nConnection: ", keep_alive ? "keep-alive" : "close", "\r\n\r\n", head_only ? "" : body);
}

std::string ErrorAnswer(int status, bool keep_alive) {
  return Answer(status, "text/plain; charset=utf-8", absl::StrCat(Reason(status), "\n"), keep_alive,
                false);
}

// The end of the head that `in` starts with: the offset just past the empty
// line, or npos while it is incomplete.
size_t HeadEnd(absl::string_view in) {
  const size_t crlf = in.find("\n\r\n");
  const size_t lf = in.find("\n\n");
  if (crlf == absl::string_view::npos && lf == absl::string_view::npos) {
    return absl::string_view::npos;
  }
  return crlf < lf ? crlf + 3 : lf + 2;
}

}  // namespace

// The state of the serving thread: the connections and what each awaits.
class HttpGetServer::Loop {
 public:
  explicit Loop(const HttpGetServer& server) : server_(server), options_(server.options_) {}
  ~Loop() {
    for (const std::unique_ptr<Connection>& c : connections_) close(c->fd);
  }

  // Serves until the wake-up descriptor is readable.
  void Run();

 private:
  struct Connection {
    enum class Phase {
      kReading,    // a request head (or, when `idle`, the first byte of one)
      kWriting,    // an answer
      kLingering,  // the client's close, after an answer that ended it
    };
    int fd = -1;
    Phase phase = Phase::kReading;
    bool idle = false;           // kReading after an answer, no byte of the next request yet
    bool close_after = false;    // kWriting: the answer ends the connection
    std::string in;              // received, not yet parsed
    std::string out;             // kWriting: the answer
    size_t sent = 0;             // ... how much of it has been written
    Clock::time_point since;     // when the phase began (eviction order)
    Clock::time_point deadline;  // when the phase has taken too long
  };

  void Accept(Clock::time_point now);
  void Evict();
  void Service(Connection& c, Clock::time_point now);
  void Read(Connection& c, Clock::time_point now);
  void AnswerIfComplete(Connection& c, Clock::time_point now);
  void StartAnswer(Connection& c, std::string answer, bool close_after, Clock::time_point now);
  void Write(Connection& c, Clock::time_point now);
  static void Close(Connection& c) {
    close(c.fd);
    c.fd = -1;
  }

  const HttpGetServer& server_;
  const Options& options_;
  std::vector<std::unique_ptr<Connection>> connections_;
  Clock::time_point accept_paused_until_;
};

void HttpGetServer::Loop::Run() {
  std::vector<pollfd> fds;
  for (;;) {
    Clock::time_point now = Clock::now();
    const bool accepting = now >= accept_paused_until_;
    Clock::time_point next = accepting ? Clock::time_point::max() : accept_paused_until_;
    fds.clear();
    fds.push_back({server_.wake_fd_, POLLIN, 0});
    fds.push_back({accepting ? server_.listen_fd_ : -1, POLLIN, 0});  // poll() skips fd -1
    for (const std::unique_ptr<Connection>& c : connections_) {
      const bool writing = c->phase == Connection::Phase::kWriting;
      fds.push_back({c->fd, static_cast<int16_t>(writing ? POLLOUT : POLLIN), 0});
      next = std::min(next, c->deadline);
    }
    int timeout_ms = -1;
    if (next != Clock::time_point::max()) {
      const auto wait = std::chrono::ceil<std::chrono::milliseconds>(next - now).count();
      timeout_ms = static_cast<int>(std::clamp<int64_t>(wait, 0, std::numeric_limits<int>::max()));
    }
    if (poll(fds.data(), fds.size(), timeout_ms) < 0) {
      if (errno == EINTR) continue;
      // Only ENOMEM is possible with these arguments; try again shortly.
      poll(nullptr, 0, 10);
      continue;
    }
    if (fds[0].revents != 0) return;
    now = Clock::now();
    // Connections are only added below, so fds[i + 2] is still connections_[i].
    for (size_t i = 0; i < connections_.size(); ++i) {
      if (fds[i + 2].revents != 0) Service(*connections_[i], now);
    }
    for (const std::unique_ptr<Connection>& c : connections_) {
      if (c->fd >= 0 && c->deadline <= now) Close(*c);
    }
    connections_.erase(
        std::remove_if(connections_.begin(), connections_.end(),
                       [](const std::unique_ptr<Connection>& c) { return c->fd < 0; }),
        connections_.end());
    if (fds[1].revents != 0) Accept(now);
  }
}

void HttpGetServer::Loop::Accept(Clock::time_point now) {
  // At most max_connections per turn, so that a flood of connects cannot
  // keep the loop from serving the ones it has.
  for (int i = 0; i < options_.max_connections; ++i) {
    const int fd = accept4(server_.listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        accept_paused_until_ = now + kAcceptBackoff;
      }
      return;  // EAGAIN: none left
    }
    if (static_cast<int>(connections_.size()) >= options_.max_connections) Evict();
    auto c = std::make_unique<Connection>();
    c->fd = fd;
    c->since = now;
    c->deadline = now + ToClock(options_.head_timeout);
    connections_.push_back(std::move(c));
  }
}

void HttpGetServer::Loop::Evict() {
  // Least useful first: a connection already answered and closing, then the
  // one that has waited longest for a request head (idle or dripping), and
  // only then an answer still being written.
  auto rank = [](const Connection& c) {
    switch (c.phase) {
      case Connection::Phase::kLingering:
        return 0;
      case Connection::Phase::kReading:
        return 1;
      case Connection::Phase::kWriting:
        return 2;
    }
    return 2;
  };
  auto victim = std::min_element(
      connections_.begin(), connections_.end(),
      [&rank](const std::unique_ptr<Connection>& a, const std::unique_ptr<Connection>& b) {
        return std::make_pair(rank(*a), a->since) < std::make_pair(rank(*b), b->since);
      });
  if (victim == connections_.end()) return;
  close((*victim)->fd);
  connections_.erase(victim);
}

void HttpGetServer::Loop::Service(Connection& c, Clock::time_point now) {
  switch (c.phase) {
    case Connection::Phase::kReading:
      Read(c, now);
      return;
    case Connection::Phase::kWriting:
      Write(c, now);
      return;
    case Connection::Phase::kLingering: {
      char drop[4096];
      const ssize_t n = read(c.fd, drop, sizeof(drop));
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        Close(c);
      }
      return;
    }
  }
}

void HttpGetServer::Loop::Read(Connection& c, Clock::time_point now) {
  // Never more than one byte past the cap: enough to know the head is too long.
  char buffer[4096];
  const size_t room = std::min(sizeof(buffer), options_.max_head_bytes + 1 - c.in.size());
  const ssize_t n = read(c.fd, buffer, room);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
  if (n <= 0) {  // the client is gone, mid-request or between requests
    Close(c);
    return;
  }
  c.in.append(buffer, static_cast<size_t>(n));
  if (c.idle) {
    c.idle = false;
    c.deadline = now + ToClock(options_.head_timeout);
  }
  AnswerIfComplete(c, now);
}

void HttpGetServer::Loop::AnswerIfComplete(Connection& c, Clock::time_point now) {
  // Empty lines before a request line are allowed (RFC 9112, 2.2).
  const size_t start = c.in.find_first_not_of("\r\n");
  c.in.erase(0, start == std::string::npos ? c.in.size() : start);
  const size_t end = HeadEnd(c.in);
  if (end == std::string::npos || end > options_.max_head_bytes) {
    if (c.in.size() > options_.max_head_bytes) StartAnswer(c, ErrorAnswer(431, false), true, now);
    return;
  }
  absl::string_view head = absl::string_view(c.in).substr(0, end);
  while (absl::ConsumeSuffix(&head, "\n") || absl::ConsumeSuffix(&head, "\r")) {
  }
  const std::optional<Request> request = ParseHead(head);
  c.in.erase(0, end);
  if (!request) {
    StartAnswer(c, ErrorAnswer(400, false), true, now);
    return;
  }
  // A body is never read, so the connection cannot carry another request.
  const bool keep_alive = request->keep_alive && !request->has_body;
  const bool head_only = request->method == "HEAD";
  if (request->method != "GET" && !head_only) {
    StartAnswer(c, ErrorAnswer(405, keep_alive), !keep_alive, now);
    return;
  }
  auto resource = server_.resources_.find(request->path);
  if (resource == server_.resources_.end()) {
    StartAnswer(c, ErrorAnswer(404, keep_alive), !keep_alive, now);
    return;
  }
  StartAnswer(
      c, Answer(200, resource->second.content_type, resource->second.body(), keep_alive, head_only),
      !keep_alive, now);
}

void HttpGetServer::Loop::StartAnswer(Connection& c, std::string answer, bool close_after,
                                      Clock::time_point now) {
  // Written once poll() reports the socket writable, in the next turn: one
  // write per connection per turn keeps a client that pipelines requests
  // from holding the loop.
  c.phase = Connection::Phase::kWriting;
  c.out = std::move(answer);
  c.sent = 0;
  c.close_after = close_after;
  c.since = now;
  c.deadline = now + ToClock(options_.write_timeout);
}

void HttpGetServer::Loop::Write(Connection& c, Clock::time_point now) {
  const ssize_t n = send(c.fd, c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL);
  if (n < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) Close(c);
    return;
  }
  c.sent += static_cast<size_t>(n);
  if (c.sent < c.out.size()) return;
  c.out = std::string();
  c.since = now;
  if (c.close_after) {
    shutdown(c.fd, SHUT_WR);
    c.phase = Connection::Phase::kLingering;
    c.in = std::string();
    c.deadline = now + kLinger;
    return;
  }
  c.phase = Connection::Phase::kReading;
  c.idle = c.in.empty();
  c.deadline = now + ToClock(c.idle ? options_.idle_timeout : options_.head_timeout);
  AnswerIfComplete(c, now);  // a request pipelined behind the last one
}

HttpGetServer::HttpGetServer(Options options) : options_(options) {}

HttpGetServer::~HttpGetServer() { Stop(); }

void HttpGetServer::Serve(std::string path, std::string content_type,
                          std::function<std::string()> body) {
  resources_[std::move(path)] = Resource{std::move(content_type), std::move(body)};
}

absl::StatusOr<int> HttpGetServer::Start(absl::string_view listen) {
  if (thread_.joinable()) return absl::FailedPreconditionError("already serving");
  std::string host;
  int port = 0;
  if (!SplitHostPort(listen, &host, &port)) {
    return absl::InvalidArgumentError(absl::StrCat("address \"", listen, "\" is not host:port"));
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (const int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &found); rc != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", listen, ": ", gai_strerror(rc)));
  }
  int fd = -1;
  std::string error = "no address";
  for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      error = std::strerror(errno);
      continue;
    }
    const int yes = 1;
    const int no = 0;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    // "[::]:port" takes IPv4 too, whatever the system's default.
    if (a->ai_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &no, sizeof(no));
    if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 && ::listen(fd, SOMAXCONN) == 0) break;
    error = std::strerror(errno);
    close(fd);
    fd = -1;
  }
  freeaddrinfo(found);
  if (fd < 0) return absl::UnavailableError(absl::StrCat("cannot listen on ", listen, ": ", error));
  sockaddr_storage bound{};
  socklen_t bound_size = sizeof(bound);
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bound_size);
  const int bound_port =
      ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                        : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  const int wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake < 0) {
    close(fd);
    return absl::UnavailableError(
        absl::StrCat("cannot serve on ", listen, ": ", std::strerror(errno)));
  }
  listen_fd_ = fd;
  wake_fd_ = wake;
  const bool v6 = host.find(':') != std::string::npos;
  address_ = absl::StrCat(v6 ? "[" : "", host, v6 ? "]" : "", ":", bound_port);
  thread_ = std::thread([this] { Loop(*this).Run(); });
  return bound_port;
}

void HttpGetServer::Stop() {
  if (!thread_.joinable()) return;
  const uint64_t one = 1;
  while (write(wake_fd_, &one, sizeof(one)) < 0 && errno == EINTR) {
  }
  thread_.join();
  close(listen_fd_);
  close(wake_fd_);
  listen_fd_ = -1;
  wake_fd_ = -1;
}

}  // namespace tokens
