#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "pqxx/pqxx"
#include "services/token_service/domain/ports/sync_store.h"

namespace tokens::service {

// The PostgreSQL channel on which every versioned change is announced (by
// the trigger in migrations/0002_change_feed.sql), at commit.
inline constexpr char kChangeChannel[] = "token_changes";

// ChangeListener over LISTEN token_changes. Notifications reach only the
// session that listens, so it keeps a connection of its own, outside the
// pool, opened on the first Wait. A lost connection is reopened by the next
// Wait, which keeps trying every 100 ms until its timeout and reports a
// change as soon as it is back (notifications may have been missed).
// Wait() must be called from one thread at a time; Interrupt() from any.
class PgChangeListener final : public ChangeListener {
 public:
  explicit PgChangeListener(std::string url);
  ~PgChangeListener() override;

  PgChangeListener(const PgChangeListener&) = delete;
  PgChangeListener& operator=(const PgChangeListener&) = delete;

  bool Wait(absl::Duration timeout) override;
  void Interrupt() override;

 private:
  class Receiver;

  // Opens the connection and listens; false if the database is unreachable.
  bool Connect();
  void Disconnect();
  // Waits until the connection's socket or the interrupt is readable, or
  // `timeout` passes. True if the socket is readable.
  bool AwaitReadable(absl::Duration timeout);
  // Reads what arrived; true if it held a notification. Disconnects if the
  // connection turned out to be lost.
  bool Consume();

  const std::string url_;
  // Written by Interrupt(), polled by Wait(): makes the wait return at once.
  const int wake_fd_;
  std::atomic<bool> interrupted_{false};
  std::unique_ptr<pqxx::connection> conn_;
  std::unique_ptr<Receiver> receiver_;
  bool notified_ = false;
  bool ever_connected_ = false;
  bool unreachable_logged_ = false;
};

}  // namespace tokens::service
