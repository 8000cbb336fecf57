#include "tests/support/feed_consumer.h"

#include <set>
#include <utility>

namespace tokens::testing {

class FeedConsumer::Reactor final : public grpc::ClientReadReactor<v1::SyncTokensResponse> {
 public:
  Reactor(const std::string& address, const std::string& token, int64_t from_version) {
    grpc::ChannelArguments args;
    // A connection of its own, not one shared with the test's other
    // channels to the same address.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetString("tokens.test.feed_consumer", std::to_string(reinterpret_cast<uintptr_t>(this)));
    channel_ = grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
    stub_ = v1::TokenSync::NewStub(channel_);
    context_.AddMetadata("authorization", "Bearer " + token);
    request_.set_from_version(from_version);
    stub_->async()->SyncTokens(&context_, &request_, this);
    StartRead(&incoming_);
    StartCall();
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;  // OnDone follows
    {
      absl::MutexLock lock(&mu_);
      ++messages_;
      if (incoming_.kind() == v1::SyncTokensResponse::SNAPSHOT_END) {
        snapshot_version_ = incoming_.version();
      }
      if (incoming_.kind() == v1::SyncTokensResponse::DELTA) {
        for (const v1::SyncedToken& t : incoming_.tokens()) {
          if (t.revoked()) revoked_.insert(t.token_id());
        }
      }
    }
    StartRead(&incoming_);
  }

  void OnDone(const grpc::Status& status) override {
    absl::MutexLock lock(&mu_);
    status_ = status;
  }

  bool Await(absl::Duration timeout, bool (*done)(Reactor*)) {
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(done, this), timeout);
    return done(this);
  }

  void Cancel() { context_.TryCancel(); }

  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::TokenSync::Stub> stub_;
  grpc::ClientContext context_;
  v1::SyncTokensRequest request_;
  v1::SyncTokensResponse incoming_;

  mutable absl::Mutex mu_;
  int64_t messages_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t snapshot_version_ ABSL_GUARDED_BY(mu_) = -1;
  std::set<std::string> revoked_ ABSL_GUARDED_BY(mu_);
  std::string awaited_ ABSL_GUARDED_BY(mu_);
  std::optional<grpc::Status> status_ ABSL_GUARDED_BY(mu_);
};

FeedConsumer::FeedConsumer(const std::string& address, const std::string& token,
                           int64_t from_version)
    : reactor_(std::make_unique<Reactor>(address, token, from_version)) {}

FeedConsumer::~FeedConsumer() {
  reactor_->Cancel();
  // OnDone always comes once the call is cancelled.
  (void)AwaitEnd(absl::InfiniteDuration());
}

bool FeedConsumer::AwaitSnapshotEnd(absl::Duration timeout) {
  reactor_->Await(timeout, [](Reactor* r) ABSL_NO_THREAD_SAFETY_ANALYSIS {
    return r->snapshot_version_ >= 0 || r->status_.has_value();
  });
  return snapshot_version() >= 0;
}

bool FeedConsumer::AwaitRevoked(const std::string& token_id, absl::Duration timeout) {
  {
    absl::MutexLock lock(&reactor_->mu_);
    reactor_->awaited_ = token_id;
  }
  reactor_->Await(timeout, [](Reactor* r) ABSL_NO_THREAD_SAFETY_ANALYSIS {
    return r->revoked_.count(r->awaited_) > 0 || r->status_.has_value();
  });
  absl::MutexLock lock(&reactor_->mu_);
  return reactor_->revoked_.count(token_id) > 0;
}

std::optional<grpc::Status> FeedConsumer::AwaitEnd(absl::Duration timeout) {
  reactor_->Await(timeout,
                  [](Reactor* r) ABSL_NO_THREAD_SAFETY_ANALYSIS { return r->status_.has_value(); });
  absl::MutexLock lock(&reactor_->mu_);
  return reactor_->status_;
}

int64_t FeedConsumer::messages() const {
  absl::MutexLock lock(&reactor_->mu_);
  return reactor_->messages_;
}

int64_t FeedConsumer::snapshot_version() const {
  absl::MutexLock lock(&reactor_->mu_);
  return reactor_->snapshot_version_;
}

}  // namespace tokens::testing
