#include "tests/support/raw_h2.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <list>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "nghttp2/nghttp2.h"

namespace tokens::testing {

// A request body being sent.
struct Body {
  std::string bytes;
  size_t sent = 0;
};

struct RawH2Connection::Session {
  nghttp2_session* session = nullptr;
  std::list<Body> bodies;
  RawH2Connection* owner = nullptr;

  ~Session() {
    if (session != nullptr) nghttp2_session_del(session);
  }
};

namespace {

ssize_t ReadBody(nghttp2_session*, int32_t, uint8_t* buf, size_t length, uint32_t* flags,
                 nghttp2_data_source* source, void*) {
  Body& body = *static_cast<Body*>(source->ptr);
  const size_t n = std::min(length, body.bytes.size() - body.sent);
  std::memcpy(buf, body.bytes.data() + body.sent, n);
  body.sent += n;
  if (body.sent == body.bytes.size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
  return static_cast<ssize_t>(n);
}

// HTTP/2 frame header: 24-bit length, type, flags, stream id.
constexpr size_t kFrameHeaderSize = 9;
constexpr uint8_t kSettingsFrame = 0x4;
constexpr uint8_t kAckFlag = 0x1;
constexpr uint16_t kMaxConcurrentStreamsSetting = 0x3;

// In a SETTINGS frame (header and payload), raises
// SETTINGS_MAX_CONCURRENT_STREAMS to 2^31 - 1.
void LiftStreamLimit(uint8_t* frame, size_t size) {
  for (size_t at = kFrameHeaderSize; at + 6 <= size; at += 6) {
    const uint16_t id = static_cast<uint16_t>(frame[at] << 8 | frame[at + 1]);
    if (id != kMaxConcurrentStreamsSetting) continue;
    frame[at + 2] = 0x7f;
    frame[at + 3] = frame[at + 4] = frame[at + 5] = 0xff;
  }
}

nghttp2_nv Header(const std::string& name, const std::string& value) {
  return nghttp2_nv{reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
                    reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(),
                    value.size(), NGHTTP2_NV_FLAG_NONE};
}

// The pseudo-headers and headers every gRPC request carries.
std::vector<std::pair<std::string, std::string>> GrpcRequestHeaders(const std::string& path) {
  return {
      {":method", "POST"},         {":scheme", "http"}, {":path", path},
      {":authority", "localhost"}, {"te", "trailers"},  {"content-type", "application/grpc"},
  };
}

// `fixed`, then `metadata`, as nghttp2 takes them: pointing into both, which
// must outlive the submit call (nghttp2 copies them there).
std::vector<nghttp2_nv> Headers(const std::vector<std::pair<std::string, std::string>>& fixed,
                                const std::map<std::string, std::string>& metadata) {
  std::vector<nghttp2_nv> headers;
  for (const auto& [name, value] : fixed) headers.push_back(Header(name, value));
  for (const auto& [name, value] : metadata) headers.push_back(Header(name, value));
  return headers;
}

}  // namespace

absl::StatusOr<std::unique_ptr<RawH2Connection>> RawH2Connection::Connect(
    const std::string& address, Options options) {
  const size_t colon = address.rfind(':');
  int port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(address.substr(colon + 1), &port)) {
    return absl::InvalidArgumentError("address must be host:port: " + address);
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, address.substr(0, colon).c_str(), &addr.sin_addr) != 1) {
    return absl::InvalidArgumentError("not an IPv4 address: " + address);
  }
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", std::strerror(errno)));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    const int error = errno;
    close(fd);
    return absl::UnavailableError(absl::StrCat("connect ", address, ": ", std::strerror(error)));
  }
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return std::unique_ptr<RawH2Connection>(new RawH2Connection(fd, options));
}

RawH2Connection::RawH2Connection(int fd, Options options)
    : fd_(fd),
      session_(std::make_unique<Session>()),
      ignore_stream_limit_(options.ignore_stream_limit) {
  session_->owner = this;
  nghttp2_session_callbacks* callbacks = nullptr;
  nghttp2_session_callbacks_new(&callbacks);
  nghttp2_session_callbacks_set_on_header_callback(
      callbacks,
      [](nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name, size_t namelen,
         const uint8_t* value, size_t valuelen, uint8_t, void* user) -> int {
        auto* self = static_cast<RawH2Connection*>(user);
        const std::string n(reinterpret_cast<const char*>(name), namelen);
        const std::string v(reinterpret_cast<const char*>(value), valuelen);
        Stream& s = self->streams_[frame->hd.stream_id];
        int code = 0;
        if (n == "grpc-status" && absl::SimpleAtoi(v, &code)) s.grpc_status = code;
        if (n == "grpc-message") s.grpc_message = v;
        return 0;
      });
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(
      callbacks,
      [](nghttp2_session*, uint8_t, int32_t stream_id, const uint8_t*, size_t len,
         void* user) -> int {
        static_cast<RawH2Connection*>(user)->streams_[stream_id].data_bytes += len;
        return 0;
      });
  nghttp2_session_callbacks_set_on_frame_recv_callback(
      callbacks, [](nghttp2_session*, const nghttp2_frame* frame, void* user) -> int {
        auto* self = static_cast<RawH2Connection*>(user);
        if (frame->hd.type == NGHTTP2_RST_STREAM) {
          self->streams_[frame->hd.stream_id].reset_code = frame->rst_stream.error_code;
        }
        if (frame->hd.type == NGHTTP2_GOAWAY) self->closed_ = true;
        if (frame->hd.type == NGHTTP2_PING && (frame->hd.flags & NGHTTP2_FLAG_ACK) != 0) {
          ++self->pings_acked_;
        }
        if (frame->hd.type == NGHTTP2_SETTINGS && (frame->hd.flags & NGHTTP2_FLAG_ACK) != 0) {
          self->settings_acked_ = true;
        }
        return 0;
      });
  nghttp2_session_callbacks_set_on_stream_close_callback(
      callbacks, [](nghttp2_session*, int32_t stream_id, uint32_t, void* user) -> int {
        static_cast<RawH2Connection*>(user)->streams_[stream_id].closed = true;
        return 0;
      });
  nghttp2_option* option = nullptr;
  nghttp2_option_new(&option);
  if (!options.window_updates) nghttp2_option_set_no_auto_window_update(option, 1);
  // Oversized metadata is the point of some tests (nghttp2's own default
  // bound on a header block it sends is 64 KiB).
  nghttp2_option_set_max_send_header_block_length(option, 64 << 20);
  nghttp2_session_client_new2(&session_->session, callbacks, this, option);
  nghttp2_option_del(option);
  nghttp2_session_callbacks_del(callbacks);
  const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, options.initial_window_size},
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 100000},
  };
  nghttp2_submit_settings(session_->session, NGHTTP2_FLAG_NONE, settings,
                          sizeof(settings) / sizeof(settings[0]));
  thread_ = std::thread([this] { Run(); });
}

RawH2Connection::~RawH2Connection() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
  session_.reset();
  close(fd_);
}

int32_t RawH2Connection::StartGrpcCall(const std::string& path,
                                       const std::map<std::string, std::string>& metadata,
                                       const std::string& message) {
  absl::MutexLock lock(&mu_);
  Body& body = session_->bodies.emplace_back();
  body.bytes.push_back('\0');  // not compressed
  const uint32_t length = htonl(static_cast<uint32_t>(message.size()));
  body.bytes.append(reinterpret_cast<const char*>(&length), sizeof(length));
  body.bytes += message;
  const std::vector<std::pair<std::string, std::string>> fixed = GrpcRequestHeaders(path);
  const std::vector<nghttp2_nv> headers = Headers(fixed, metadata);
  nghttp2_data_provider provider{};
  provider.source.ptr = &body;
  provider.read_callback = ReadBody;
  const int32_t id = nghttp2_submit_request(session_->session, nullptr, headers.data(),
                                            headers.size(), &provider, nullptr);
  if (id > 0) streams_[id];
  all_sent_ = false;
  return id;
}

int32_t RawH2Connection::OpenHalfOpenCall(const std::string& path,
                                          const std::map<std::string, std::string>& metadata) {
  absl::MutexLock lock(&mu_);
  const std::vector<std::pair<std::string, std::string>> fixed = GrpcRequestHeaders(path);
  const std::vector<nghttp2_nv> headers = Headers(fixed, metadata);
  const int32_t id = nghttp2_submit_headers(session_->session, NGHTTP2_FLAG_NONE, -1, nullptr,
                                            headers.data(), headers.size(), nullptr);
  if (id > 0) streams_[id];
  all_sent_ = false;
  return id;
}

bool RawH2Connection::AwaitSettled(absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  const auto settled = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return closed_ || (settings_acked_ && all_sent_);
  };
  return mu_.AwaitWithTimeout(absl::Condition(&settled), timeout) && !closed_;
}

bool RawH2Connection::RoundTrip(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  const int want = pings_acked_ + 1;
  if (nghttp2_submit_ping(session_->session, NGHTTP2_FLAG_NONE, nullptr) != 0) return false;
  const auto answered = [this, want]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return closed_ || pings_acked_ >= want;
  };
  return mu_.AwaitWithTimeout(absl::Condition(&answered), timeout) && pings_acked_ >= want;
}

RawH2Connection::Stream RawH2Connection::stream(int32_t id) const {
  absl::MutexLock lock(&mu_);
  auto it = streams_.find(id);
  return it == streams_.end() ? Stream{} : it->second;
}

bool RawH2Connection::AwaitClosed(int32_t id, absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  const auto closed = [this, id]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto it = streams_.find(id);
    return closed_ || (it != streams_.end() && it->second.closed);
  };
  return mu_.AwaitWithTimeout(absl::Condition(&closed), timeout) &&
         streams_.find(id) != streams_.end() && streams_.find(id)->second.closed;
}

bool RawH2Connection::connection_closed() const {
  absl::MutexLock lock(&mu_);
  return closed_;
}

void RawH2Connection::Run() {
  std::vector<uint8_t> buffer(64 * 1024);
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_ || closed_) return;
      for (;;) {
        const uint8_t* out = nullptr;
        const ssize_t n = nghttp2_session_mem_send(session_->session, &out);
        if (n <= 0) break;
        if (send(fd_, out, static_cast<size_t>(n), MSG_NOSIGNAL) != n) {
          closed_ = true;
          return;
        }
      }
      all_sent_ = nghttp2_session_want_write(session_->session) == 0;
    }
    pollfd pfd{fd_, POLLIN, 0};
    if (poll(&pfd, 1, 20) <= 0) continue;
    const ssize_t got = recv(fd_, buffer.data(), buffer.size(), 0);
    absl::MutexLock lock(&mu_);
    if (got <= 0) {
      closed_ = true;
      return;
    }
    if (!Receive(buffer.data(), static_cast<size_t>(got))) {
      closed_ = true;
      return;
    }
  }
}

bool RawH2Connection::Receive(const uint8_t* data, size_t size) {
  if (!ignore_stream_limit_) {
    return nghttp2_session_mem_recv(session_->session, data, size) >= 0;
  }
  // Whole frames only, so that a SETTINGS frame can be edited before nghttp2
  // reads it.
  inbound_.append(reinterpret_cast<const char*>(data), size);
  size_t at = 0;
  while (inbound_.size() - at >= kFrameHeaderSize) {
    auto* frame = reinterpret_cast<uint8_t*>(inbound_.data() + at);
    const size_t length = static_cast<size_t>(frame[0]) << 16 | frame[1] << 8 | frame[2];
    if (inbound_.size() - at < kFrameHeaderSize + length) break;
    if (frame[3] == kSettingsFrame && (frame[4] & kAckFlag) == 0) {
      LiftStreamLimit(frame, kFrameHeaderSize + length);
    }
    if (nghttp2_session_mem_recv(session_->session, frame, kFrameHeaderSize + length) < 0) {
      return false;
    }
    at += kFrameHeaderSize + length;
  }
  inbound_.erase(0, at);
  return true;
}

}  // namespace tokens::testing
