#include "sidecar/sync/sync_client.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/random/random.h"
#include "absl/synchronization/notification.h"
#include "common/log/json_logger.h"
#include "grpcpp/support/client_callback.h"

namespace tokens::sidecar {
namespace {

// The SyncTokens stream on gRPC's callback API, read one message at a time
// by the sync thread. A thread blocked in a synchronous gRPC read polls
// gRPC's shared event loop and so ends up running the server's work too,
// handing part of it to other threads; waiting here on a plain mutex
// instead leaves the event loop to gRPC's own threads.
class StreamReader final : public grpc::ClientReadReactor<v1::SyncTokensResponse> {
 public:
  StreamReader(v1::TokenSync::Stub& stub, grpc::ClientContext* context,
               v1::SyncTokensRequest request)
      : request_(std::move(request)) {
    stub.async()->SyncTokens(context, &request_, this);
    // Reads are started by the sync thread, outside gRPC's reactions. Between
    // two of them no operation is outstanding, and without a hold gRPC would
    // end the call there as soon as the status arrived, leaving the next read
    // on a finished call. The hold goes once no more reads will be started.
    AddHold();
    StartRead(&incoming_);
    StartCall();
  }

  // Waits for the next message; false once the stream has ended.
  bool Read(v1::SyncTokensResponse* message) ABSL_LOCKS_EXCLUDED(mu_) {
    bool ended = false;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](State* state) { return *state != State::kReading; }, &state_));
      ended = state_ == State::kEnded;
      if (!ended) {
        message->Swap(&incoming_);
        state_ = State::kReading;
      }
    }
    if (ended) {
      ReleaseHold();
      return false;
    }
    StartRead(&incoming_);
    return true;
  }

  // Waits until the call is over (every read has completed) and returns its
  // status. After TryCancel() on the context, this returns promptly.
  grpc::Status Finish() {
    ReleaseHold();
    done_.WaitForNotification();
    return status_;
  }

  void OnReadDone(bool ok) override ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    state_ = ok ? State::kHaveMessage : State::kEnded;
  }

  void OnDone(const grpc::Status& status) override {
    status_ = status;
    // Last: the waiter may destroy this reader as soon as it is notified,
    // which a Notification allows.
    done_.Notify();
  }

 private:
  enum class State { kReading, kHaveMessage, kEnded };

  // From the sync thread only, once it will start no more reads.
  void ReleaseHold() {
    if (hold_released_) return;
    hold_released_ = true;
    RemoveHold();
  }

  const v1::SyncTokensRequest request_;  // must outlive the call
  absl::Mutex mu_;
  // Written by gRPC's read (kReading) and handed over under mu_.
  v1::SyncTokensResponse incoming_;
  State state_ ABSL_GUARDED_BY(mu_) = State::kReading;
  bool hold_released_ = false;  // sync thread only
  grpc::Status status_;         // written by OnDone before done_ is notified
  absl::Notification done_;
};

}  // namespace

SyncClient::SyncClient(TokenServiceClient& client, TokenCache& cache, Options options,
                       std::function<void()> on_loaded)
    : client_(client), cache_(cache), options_(options), on_loaded_(std::move(on_loaded)) {}

SyncClient::~SyncClient() { Stop(); }

void SyncClient::Start() {
  thread_ = std::thread([this] { Run(); });
}

void SyncClient::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    if (stream_context_ != nullptr) stream_context_->TryCancel();
  }
  if (thread_.joinable()) thread_.join();
}

SyncClient::Stats SyncClient::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

void SyncClient::Run() {
  absl::BitGen random;
  absl::Duration backoff = options_.initial_backoff;
  while (true) {
    if (RunStream()) backoff = options_.initial_backoff;
    // Full jitter, so that sidecars restarted together do not reconnect in
    // lockstep after a token-service restart.
    const absl::Duration wait = absl::Uniform(random, 0.0, 1.0) * backoff;
    backoff = std::min(backoff * 2, options_.max_backoff);
    absl::MutexLock lock(&mu_);
    if (mu_.AwaitWithTimeout(absl::Condition(&stopping_), wait)) return;
  }
}

bool SyncClient::RunStream() {
  const auto log = Logger("sync");
  std::unique_ptr<grpc::ClientContext> context = client_.NewContext();
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return false;
    stream_context_ = context.get();
    ++stats_.streams_opened;
  }
  v1::SyncTokensRequest request;
  // A warm cache resumes; token-service answers with a fresh snapshot if it
  // cannot serve the history since that version.
  request.set_from_version(cache_.loaded() ? cache_.version() : 0);
  log->info("opening SyncTokens stream from version {}", request.from_version());
  StreamReader reader(client_.stub(), context.get(), request);

  bool progressed = false;
  std::unique_ptr<TokenCache::SnapshotBuilder> snapshot;
  size_t snapshot_tokens = 0;
  absl::Time snapshot_started;
  v1::SyncTokensResponse message;
  absl::Status bad_message;
  while (bad_message.ok() && reader.Read(&message)) {
    std::vector<SyncedUser> users;
    users.reserve(message.users_size());
    for (const v1::SyncedUser& user : message.users()) users.push_back(SyncedUserFromProto(user));
    std::vector<SyncedToken> tokens;
    tokens.reserve(message.tokens_size());
    for (const v1::SyncedToken& token : message.tokens()) {
      absl::StatusOr<SyncedToken> state = SyncedTokenFromProto(token);
      if (!state.ok()) {
        bad_message = state.status();
        break;
      }
      tokens.push_back(*std::move(state));
    }
    if (!bad_message.ok()) break;

    switch (message.kind()) {
      case v1::SyncTokensResponse::SNAPSHOT:
      case v1::SyncTokensResponse::SNAPSHOT_END:
        // SNAPSHOT_END may come alone (an empty database) and may carry rows.
        if (snapshot == nullptr) {
          snapshot = cache_.StartSnapshot();
          snapshot_started = absl::Now();
        }
        for (const SyncedUser& user : users) snapshot->AddUser(user);
        for (const SyncedToken& token : tokens) snapshot->AddToken(token);
        snapshot_tokens += tokens.size();
        if (message.kind() == v1::SyncTokensResponse::SNAPSHOT) break;
        cache_.Publish(std::move(snapshot), message.version());
        log->info("snapshot loaded: {} tokens at version {}", snapshot_tokens, message.version());
        {
          absl::MutexLock lock(&mu_);
          ++stats_.snapshots_loaded;
          stats_.stream_up = true;
          stats_.last_message_at = absl::Now();
          stats_.last_snapshot_duration = stats_.last_message_at - snapshot_started;
          stats_.last_snapshot_tokens = snapshot_tokens;
        }
        snapshot_tokens = 0;
        progressed = true;
        if (!loaded_reported_ && on_loaded_) on_loaded_();
        loaded_reported_ = true;
        break;
      case v1::SyncTokensResponse::DELTA:
        if (snapshot != nullptr) {
          bad_message = absl::InternalError("DELTA inside a snapshot");
          break;
        }
        cache_.ApplyDelta(users, tokens, message.version());
        log->debug("delta applied: {} users, {} tokens, version {}", users.size(), tokens.size(),
                   message.version());
        {
          absl::MutexLock lock(&mu_);
          ++stats_.deltas_applied;
          stats_.stream_up = true;
          stats_.last_message_at = absl::Now();
        }
        progressed = true;
        break;
      default:
        bad_message = absl::InternalError("message of unknown kind");
        break;
    }
  }
  if (!bad_message.ok()) context->TryCancel();
  const grpc::Status status = reader.Finish();
  {
    absl::MutexLock lock(&mu_);
    stream_context_ = nullptr;
    stats_.stream_up = false;
    if (stopping_) return progressed;
  }
  if (!bad_message.ok()) {
    log->error("SyncTokens sent a message the sidecar cannot apply ({}); reconnecting",
               std::string(bad_message.message()));
  } else {
    log->warn("SyncTokens stream ended ({}); cache kept at version {}, reconnecting",
              FromGrpc(status).ToString(), cache_.version());
  }
  return progressed;
}

}  // namespace tokens::sidecar
