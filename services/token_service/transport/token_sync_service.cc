#include "services/token_service/transport/token_sync_service.h"

#include <deque>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/log/json_logger.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/proto_buffer_writer.h"
#include "services/token_service/transport/rpc_serve.h"
#include "services/token_service/transport/sync_conversion.h"

namespace tokens::service {
namespace {

// A message of a shared image as a ByteBuffer that points into the image's
// own bytes; the buffer keeps the image alive until gRPC has sent it.
grpc::ByteBuffer ImageMessage(const std::shared_ptr<const SnapshotImage>& image, size_t index) {
  const std::string& bytes = image->messages[index];
  auto* owner = new std::shared_ptr<const SnapshotImage>(image);
  grpc::Slice slice(
      const_cast<char*>(bytes.data()), bytes.size(),
      [](void* p) { delete static_cast<std::shared_ptr<const SnapshotImage>*>(p); }, owner);
  return grpc::ByteBuffer(&slice, 1);
}

grpc::ByteBuffer Serialized(const v1::SyncTokensResponse& message) {
  grpc::ByteBuffer buffer;
  bool own = false;
  (void)grpc::SerializationTraits<v1::SyncTokensResponse>::Serialize(message, &buffer, &own);
  return buffer;
}

}  // namespace

SnapshotEncoding SyncTokensEncoding() {
  SnapshotEncoding encoding;
  encoding.chunk = [](const SnapshotChunk& chunk, std::vector<std::string>* out) {
    for (const v1::SyncTokensResponse& message : SnapshotMessages(chunk)) {
      out->push_back(message.SerializeAsString());
    }
  };
  encoding.end = [](int64_t version) { return SnapshotEndMessage(version).SerializeAsString(); };
  return encoding;
}

// One SyncTokens call. gRPC owns the reactor until OnDone; the opening job,
// the hub's wake and the checker reach it through weak pointers, and it
// holds itself (self_) until OnDone, so none of them can outlive it.
//
// At most one write is outstanding. Advance() takes the next message when
// there is none: from `pending_` (a delta's messages), else from the
// session; with nothing to write it goes idle until a wake. An end decided
// elsewhere (the caller leaving, a stall, an expired token) is recorded in
// `end_` and carried out as soon as no write is outstanding.
class TokenSyncServiceImpl::Stream final : public grpc::ServerWriteReactor<grpc::ByteBuffer>,
                                           public std::enable_shared_from_this<Stream> {
 public:
  Stream(TokenSyncServiceImpl& service, grpc::CallbackServerContext* ctx)
      : service_(service), ctx_(ctx), started_(absl::Now()) {}

  // Right after construction: holds itself, parses the request and queues
  // the opening.
  void Begin(const grpc::ByteBuffer& request) {
    self_ = shared_from_this();
    CountStarted(service_.rpc_metrics_, "SyncTokens");
    v1::SyncTokensRequest parsed;
    if (absl::Status status = ParseRequest(request, &parsed); !status.ok()) {
      EndWith(status);
      return;
    }
    const absl::StatusOr<std::optional<absl::string_view>> value = AuthorizationOf(*ctx_);
    if (!value.ok()) {
      {
        absl::MutexLock lock(&mu_);
        unauthenticated_ = true;
      }
      EndWith(value.status());
      return;
    }
    std::optional<std::string> authorization;
    if (value->has_value()) authorization = std::string(**value);
    const int64_t from_version = parsed.from_version();
    const bool queued = service_.opener_.TrySchedule(
        [weak = weak_from_this(), authorization = std::move(authorization), from_version] {
          if (std::shared_ptr<Stream> stream = weak.lock())
            stream->Open(authorization, from_version);
        });
    if (!queued) {
      EndWith(absl::ResourceExhaustedError(
          "token-service has too many SyncTokens streams waiting to open; retry later"));
    }
  }

  // From the checker: drops the stream if a write has waited longer than
  // the stall timeout, ends it once its caller's token has expired.
  void Check(absl::Time now) {
    {
      absl::MutexLock lock(&mu_);
      if (finished_) return;
      if (write_in_flight_ && !end_.has_value() &&
          absl::Now() - write_started_ >= service_.options_.stall_timeout) {
        const std::string stall = absl::FormatDuration(service_.options_.stall_timeout);
        end_ = absl::ResourceExhaustedError(absl::StrCat(
            "the caller took no message for ", stall, " (--sync_stall_timeout); stream dropped"));
        // Counted and logged before the caller can see the stream end.
        static const auto log = Logger("feed");
        LogEvent(*log, spdlog::level::warn,
                 absl::StrCat("SyncTokens stream dropped: no message taken for ", stall),
                 {{"method", "SyncTokens"}, {"user_id", user_}, {"peer", ctx_client_}});
        service_.CountStall();
        // Fails the outstanding write (OnWriteDone(false)); the reaction
        // runs on gRPC's threads, never inline, so mu_ may be held.
        ctx_->TryCancel();
      } else if (session_ != nullptr && !end_.has_value()) {
        if (absl::Status s = session_->CheckNotExpired(now); !s.ok()) end_ = s;
      }
    }
    Advance();
  }

  // What the hub runs when it queued something for this stream.
  std::function<void()> Wake() {
    return [weak = weak_from_this()] {
      if (std::shared_ptr<Stream> stream = weak.lock()) stream->Advance();
    };
  }

  void OnWriteDone(bool ok) override {
    {
      absl::MutexLock lock(&mu_);
      write_in_flight_ = false;
      writing_.Clear();
      if (!ok && !end_.has_value()) end_ = absl::CancelledError("the caller went away");
    }
    Advance();
  }

  void OnCancel() override { EndWith(absl::CancelledError("the caller went away")); }

  void OnDone() override {
    // The last reference may be this one: nothing below may touch members.
    std::shared_ptr<Stream> last = std::move(self_);
  }

 private:
  // On an opening thread: authenticate, then open the session (its first
  // read may wait for the database or for a snapshot being read).
  void Open(const std::optional<std::string>& authorization, int64_t from_version) {
    bool abandoned = false;  // ended (the caller left) while waiting to open
    {
      absl::MutexLock lock(&mu_);
      abandoned = end_.has_value();
      if (abandoned) opening_ = false;
    }
    if (!abandoned) {
      absl::StatusOr<Principal> caller = service_.auth_.Authenticate(authorization, ctx_client_);
      absl::StatusOr<std::unique_ptr<FeedSession>> session =
          caller.ok() ? service_.sync_.Open(*caller, from_version, Wake()) : caller.status();
      if (session.ok()) LogOpened(**session, from_version);
      absl::MutexLock lock(&mu_);
      opening_ = false;
      if (caller.ok()) {
        user_ = caller->user_id;
        token_id_ = caller->token_id;
      }
      unauthenticated_ = !caller.ok();
      if (!session.ok() && !end_.has_value()) end_ = session.status();
      if (session.ok()) session_ = *std::move(session);
    }
    Advance();
  }

  void LogOpened(const FeedSession& session, int64_t from_version) {
    static const auto log = Logger("feed");
    LogFields fields{{"method", "SyncTokens"},
                     {"user_id", session.caller().user_id},
                     {"peer", ctx_client_},
                     {"from_version", from_version}};
    if (const SnapshotImage* image = session.snapshot()) {
      fields.Add("snapshot_tokens", image->tokens).Add("snapshot_version", image->version);
      LogEvent(*log, spdlog::level::info, "SyncTokens starts with a snapshot", fields);
    } else {
      LogEvent(*log, spdlog::level::info, "SyncTokens resumes from version", fields);
    }
  }

  void EndWith(const absl::Status& why) {
    {
      absl::MutexLock lock(&mu_);
      if (!end_.has_value()) end_ = why;
    }
    Advance();
  }

  // Starts the next write, finishes the call, or goes idle.
  void Advance() {
    const std::shared_ptr<Stream> keep = shared_from_this();  // Finish may run OnDone inline
    std::optional<absl::Status> finish;
    std::unique_ptr<FeedSession> session;
    std::string user;
    std::string token_id;
    bool unauthenticated = false;
    {
      absl::MutexLock lock(&mu_);
      if (finished_ || write_in_flight_) return;
      if (!end_.has_value() && !opening_) {
        if (pending_.empty()) TakeNext();
        if (!pending_.empty()) {
          writing_ = std::move(pending_.front());
          pending_.pop_front();
          write_in_flight_ = true;
          write_started_ = absl::Now();
        }
      }
      if (!write_in_flight_) {
        if (!end_.has_value()) return;  // idle, or still opening
        finished_ = true;
        finish = *end_;
        session = std::move(session_);
        user = user_;
        token_id = token_id_;
        unauthenticated = unauthenticated_;
      }
    }
    if (finish.has_value()) {
      session.reset();  // leaves the hub, frees its place under the caps
      const absl::Duration elapsed = absl::Now() - started_;
      const CallRecord call{"SyncTokens", user, token_id, ctx_client_, *finish, elapsed};
      Finish(unauthenticated
                 ? FinishUnauthenticated(service_.rpc_metrics_, service_.failed_auth_, call)
                 : FinishCall(service_.rpc_metrics_, call));
      return;
    }
    StartWrite(&writing_);
  }

  // Moves the session's next item into pending_, or records how it ends.
  void TakeNext() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    absl::StatusOr<std::optional<FeedItem>> next = session_->Next();
    if (!next.ok()) {
      end_ = next.status();
      return;
    }
    if (!next->has_value()) return;
    const FeedItem& item = **next;
    if (item.image != nullptr) {
      pending_.push_back(ImageMessage(item.image, item.message));
      return;
    }
    for (const v1::SyncTokensResponse& message : DeltaMessages(*item.delta)) {
      pending_.push_back(Serialized(message));
    }
  }

  TokenSyncServiceImpl& service_;
  grpc::CallbackServerContext* const ctx_;
  const std::string ctx_peer_ = ctx_->peer();
  const std::string ctx_client_ = PeerHost(ctx_peer_);  // its IP address, for the Authenticator
  const absl::Time started_;
  std::shared_ptr<Stream> self_;  // until OnDone

  absl::Mutex mu_;
  bool opening_ ABSL_GUARDED_BY(mu_) = true;
  std::string user_ ABSL_GUARDED_BY(mu_);              // the caller once authenticated
  std::string token_id_ ABSL_GUARDED_BY(mu_);          // and the token it presented
  bool unauthenticated_ ABSL_GUARDED_BY(mu_) = false;  // refused by the Authenticator
  std::unique_ptr<FeedSession> session_ ABSL_GUARDED_BY(mu_);
  std::optional<absl::Status> end_ ABSL_GUARDED_BY(mu_);
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  bool write_in_flight_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time write_started_ ABSL_GUARDED_BY(mu_);
  std::deque<grpc::ByteBuffer> pending_ ABSL_GUARDED_BY(mu_);
  grpc::ByteBuffer writing_;  // owned by the outstanding write
};

TokenSyncServiceImpl::TokenSyncServiceImpl(const Authenticator& auth, TokenSyncManager& sync,
                                           SnapshotImages& images, const Clock& clock,
                                           metrics::RpcMetrics* rpc_metrics,
                                           FailedAuthLog* failed_auth,
                                           TokenSyncServiceOptions options)
    : auth_(auth),
      sync_(sync),
      images_(images),
      clock_(clock),
      rpc_metrics_(rpc_metrics),
      failed_auth_(failed_auth),
      options_(options),
      opener_(options.open_threads, options.max_waiting_opens),
      checker_([this] {
        while (!stop_.WaitForNotificationWithTimeout(options_.check_interval)) CheckStreams();
      }) {
  const std::string service = "tokens.v1.TokenSync.";
  ParseRequestsOf(this, service + "ReportUsage", &TokenSyncServiceImpl::ReportUsage, rpc_metrics);
  ParseRequestsOf(this, service + "LookupToken", &TokenSyncServiceImpl::LookupToken, rpc_metrics);
}

TokenSyncServiceImpl::~TokenSyncServiceImpl() {
  stop_.Notify();
  checker_.join();
}

grpc::ServerWriteReactor<grpc::ByteBuffer>* TokenSyncServiceImpl::SyncTokens(
    grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* request) {
  auto stream = std::make_shared<Stream>(*this, ctx);
  {
    absl::MutexLock lock(&mu_);
    streams_.push_back(stream);
  }
  stream->Begin(*request);
  return stream.get();
}

void TokenSyncServiceImpl::CheckStreams() {
  std::vector<std::shared_ptr<Stream>> live;
  {
    absl::MutexLock lock(&mu_);
    live.reserve(streams_.size());
    for (const std::weak_ptr<Stream>& weak : streams_) {
      if (std::shared_ptr<Stream> stream = weak.lock()) live.push_back(std::move(stream));
    }
    streams_.assign(live.begin(), live.end());
  }
  const absl::Time now = clock_.Now();
  for (const std::shared_ptr<Stream>& stream : live) stream->Check(now);
  images_.ReleaseIdle(options_.snapshot_idle);
}

void TokenSyncServiceImpl::CountStall() {
  absl::MutexLock lock(&mu_);
  ++stalled_;
}

TokenSyncServiceImpl::Stats TokenSyncServiceImpl::stats() const {
  Stats stats;
  stats.opens_waiting = opener_.stats().queued;
  absl::MutexLock lock(&mu_);
  stats.stalled = stalled_;
  return stats;
}

grpc::Status TokenSyncServiceImpl::ReportUsage(grpc::ServerContext* ctx,
                                               const v1::ReportUsageRequest* req,
                                               v1::ReportUsageResponse* resp) {
  return Serve(auth_, rpc_metrics_, failed_auth_, ctx, "ReportUsage",
               [&](const Principal& caller) -> absl::Status {
                 absl::StatusOr<std::vector<TokenSyncManager::UsageReport>> usages =
                     UsagesFromProto(*req);
                 if (!usages.ok()) return usages.status();
                 absl::StatusOr<int> updated = sync_.ReportUsage(caller, *usages);
                 if (!updated.ok()) return updated.status();
                 resp->set_updated(*updated);
                 return absl::OkStatus();
               });
}

grpc::Status TokenSyncServiceImpl::LookupToken(grpc::ServerContext* ctx,
                                               const v1::LookupTokenRequest* req,
                                               v1::LookupTokenResponse* resp) {
  return Serve(auth_, rpc_metrics_, failed_auth_, ctx, "LookupToken",
               [&](const Principal& caller) -> absl::Status {
                 absl::StatusOr<SyncLookup> found = sync_.LookupToken(caller, req->token_hash());
                 if (!found.ok()) return found.status();
                 ToProto(*found, resp);
                 return absl::OkStatus();
               });
}

}  // namespace tokens::service
