#include "sidecar/sync/grpc_feed_source.h"

#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
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

std::unique_ptr<grpc::ClientContext> StreamContext(const TokenServiceClient& client) {
  std::unique_ptr<grpc::ClientContext> context = client.NewContext();
  // Without it, an attempt made while the channel is still marked
  // TRANSIENT_FAILURE (token-service just came back, gRPC has not retried
  // yet) fails at once, and the sidecar waits out its own backoff.
  context->set_wait_for_ready(true);
  return context;
}

v1::SyncTokensRequest Request(int64_t from_version) {
  v1::SyncTokensRequest request;
  request.set_from_version(from_version);
  return request;
}

class GrpcFeedStream final : public FeedStream {
 public:
  GrpcFeedStream(TokenServiceClient& client, int64_t from_version)
      : context_(StreamContext(client)),
        reader_(client.stub(), context_.get(), Request(from_version)) {}

  // A stream given up without Finish() must still not leave gRPC a reader
  // that is gone; why it ended no longer matters to anyone.
  ~GrpcFeedStream() override {
    if (finished_) return;
    Cancel();
    Finish().IgnoreError();
  }

  bool Read(FeedMessage* message) override {
    if (ended_) return false;
    if (!reader_.Read(&incoming_)) {
      ended_ = true;
      return false;
    }
    absl::StatusOr<FeedMessage> converted = FeedMessageFromProto(incoming_);
    if (!converted.ok()) {
      bad_message_ = absl::InternalError(absl::StrCat(
          "SyncTokens sent a message the sidecar cannot use: ", converted.status().message()));
      ended_ = true;
      Cancel();
      return false;
    }
    *message = *std::move(converted);
    return true;
  }

  void Cancel() override { context_->TryCancel(); }

  absl::Status Finish() override {
    if (!finished_) {
      status_ = FromGrpc(reader_.Finish());
      finished_ = true;
    }
    return bad_message_.ok() ? status_ : bad_message_;
  }

 private:
  // The sync thread's, but Cancel(), which may come from any thread, only
  // calls TryCancel(), which gRPC allows.
  const std::unique_ptr<grpc::ClientContext> context_;
  StreamReader reader_;
  v1::SyncTokensResponse incoming_;
  bool ended_ = false;
  bool finished_ = false;
  absl::Status bad_message_;
  absl::Status status_;
};

}  // namespace

std::unique_ptr<FeedStream> GrpcFeedSource::Open(int64_t from_version) {
  return std::make_unique<GrpcFeedStream>(client_, from_version);
}

}  // namespace tokens::sidecar
