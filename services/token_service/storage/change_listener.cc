#include "services/token_service/storage/change_listener.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <exception>
#include <utility>

#include "absl/time/clock.h"
#include "common/log/json_logger.h"

namespace tokens::service {
namespace {

// How often an unreachable database is tried again.
constexpr absl::Duration kReconnectInterval = absl::Milliseconds(100);

std::string FirstLine(const char* text) {
  const std::string s(text);
  return s.substr(0, s.find('\n'));
}

}  // namespace

// Records that a notification arrived; get_notifs() calls it.
class PgChangeListener::Receiver final : public pqxx::notification_receiver {
 public:
  Receiver(pqxx::connection_base& conn, bool* notified)
      : pqxx::notification_receiver(conn, kChangeChannel), notified_(notified) {}
  void operator()(const std::string&, int) override { *notified_ = true; }

 private:
  bool* notified_;
};

PgChangeListener::PgChangeListener(std::string url)
    : url_(std::move(url)), wake_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

PgChangeListener::~PgChangeListener() {
  Disconnect();
  if (wake_fd_ >= 0) close(wake_fd_);
}

void PgChangeListener::Interrupt() {
  interrupted_ = true;
  const uint64_t one = 1;
  if (wake_fd_ >= 0) (void)!write(wake_fd_, &one, sizeof(one));
}

bool PgChangeListener::Connect() {
  static const auto log = Logger("db");
  try {
    auto conn = std::make_unique<pqxx::connection>(url_);
    // Registering the receiver sends LISTEN.
    receiver_ = std::make_unique<Receiver>(*conn, &notified_);
    conn_ = std::move(conn);
  } catch (const std::exception& e) {
    receiver_.reset();
    // Once per outage, not once per retry.
    if (!unreachable_logged_) {
      log->warn("change listener cannot connect: {}; retrying", FirstLine(e.what()));
    }
    unreachable_logged_ = true;
    return false;
  }
  if (ever_connected_) log->info("change listener reconnected");
  ever_connected_ = true;
  unreachable_logged_ = false;
  return true;
}

void PgChangeListener::Disconnect() {
  // The receiver refers to the connection, so it goes first.
  receiver_.reset();
  conn_.reset();
}

bool PgChangeListener::AwaitReadable(absl::Duration timeout) {
  pollfd fds[2] = {{wake_fd_, POLLIN, 0}, {conn_ != nullptr ? conn_->sock() : -1, POLLIN, 0}};
  // poll() takes int milliseconds; the callers loop until their deadline.
  const int64_t ms = std::clamp<int64_t>(
      absl::ToInt64Milliseconds(absl::Ceil(timeout, absl::Milliseconds(1))), 0, 3600 * 1000);
  const int ready = poll(fds, 2, static_cast<int>(ms));
  return ready > 0 && fds[1].fd >= 0 && (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0;
}

bool PgChangeListener::Consume() {
  static const auto log = Logger("db");
  try {
    conn_->get_notifs();
  } catch (const std::exception& e) {
    log->warn("change listener lost its connection: {}", FirstLine(e.what()));
    Disconnect();
    return false;
  }
  // libpq may close a connection the server ended without get_notifs()
  // throwing; it then reads as not open.
  if (!conn_->is_open() || conn_->sock() < 0) {
    log->warn("change listener lost its connection");
    Disconnect();
    return false;
  }
  return std::exchange(notified_, false);
}

bool PgChangeListener::Wait(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!interrupted_) {
    // A new connection may have missed notifications: report a change.
    if (conn_ == nullptr && Connect()) return true;
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return false;
    if (conn_ == nullptr) {
      // Unreachable: try again shortly (interruptibly), so that the first
      // change after the database is back is read as soon as it can be,
      // not a whole poll interval later. A refused connection costs little.
      AwaitReadable(std::min(left, kReconnectInterval));
      continue;
    }
    if (AwaitReadable(left) && !interrupted_ && Consume()) return true;
  }
  return false;
}

}  // namespace tokens::service
