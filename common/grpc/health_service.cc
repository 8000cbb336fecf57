#include "common/grpc/health_service.h"

#include <memory>
#include <optional>
#include <utility>

namespace tokens {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

// One Watch stream. Writes one status at a time; a status set while a write
// is in flight waits in `queued_` (only the newest one), so a watcher always
// ends up seeing the latest status. Lock order: HealthService::mu_, then mu_.
class HealthService::Watcher final : public grpc::ServerWriteReactor<HealthCheckResponse> {
 public:
  Watcher(HealthService& service, std::string name) : service_(service), name_(std::move(name)) {}

  const std::string& name() const { return name_; }

  // Sends `status` unless it is the one last sent or queued.
  void Send(Status status) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    if (finishing_) return;
    if (writing_) {
      queued_ = status;
      return;
    }
    if (last_sent_ == status) return;
    WriteLocked(status);
  }

  // Finishes the stream once what is written or queued has been delivered.
  void End() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    ending_ = true;
    if (!writing_) FinishLocked(ShuttingDown());
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    if (!ok) {
      FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "the watcher went away"));
      return;
    }
    if (queued_.has_value() && *queued_ != last_sent_) {
      const Status next = *queued_;
      queued_.reset();
      WriteLocked(next);
      return;
    }
    queued_.reset();
    if (ending_) FinishLocked(ShuttingDown());
  }

  void OnCancel() override {
    absl::MutexLock lock(&mu_);
    FinishLocked(grpc::Status::CANCELLED);
  }

  void OnDone() override {
    service_.Unregister(this);
    delete this;
  }

 private:
  static grpc::Status ShuttingDown() {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "the server is shutting down");
  }

  void WriteLocked(Status status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    response_.set_status(status);
    last_sent_ = status;
    writing_ = true;
    StartWrite(&response_);
  }

  void FinishLocked(const grpc::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finishing_) return;
    finishing_ = true;
    Finish(status);
  }

  HealthService& service_;
  const std::string name_;
  absl::Mutex mu_;
  HealthCheckResponse response_ ABSL_GUARDED_BY(mu_);  // the message being written
  std::optional<Status> last_sent_ ABSL_GUARDED_BY(mu_);
  std::optional<Status> queued_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool ending_ ABSL_GUARDED_BY(mu_) = false;
  bool finishing_ ABSL_GUARDED_BY(mu_) = false;
};

namespace {

// Lets grpc::Server::GetHealthCheckService() reach a HealthService.
class Handle final : public grpc::HealthCheckServiceInterface {
 public:
  explicit Handle(HealthService& service) : service_(service) {}
  void SetServingStatus(const std::string& service_name, bool serving) override {
    service_.SetServingStatus(service_name, serving);
  }
  void SetServingStatus(bool serving) override { service_.SetServingStatus(serving); }
  void Shutdown() override { service_.Drain(); }

 private:
  HealthService& service_;
};

}  // namespace

HealthService::HealthService() { serving_[""] = true; }

HealthService::~HealthService() {
  // The servers are gone by now, and with them every stream; waits only for
  // an OnDone() that is still returning.
  absl::MutexLock lock(&mu_);
  while (!watchers_.empty()) all_done_.Wait(&mu_);
}

std::unique_ptr<grpc::HealthCheckServiceInterface> HealthService::NewHandle() {
  return std::make_unique<Handle>(*this);
}

void HealthService::SetServingStatus(const std::string& service, bool serving) {
  absl::MutexLock lock(&mu_);
  if (drained_) return;
  SetLocked(service, serving);
}

void HealthService::SetServingStatus(bool serving) {
  absl::MutexLock lock(&mu_);
  if (drained_) return;
  for (auto& [name, status] : serving_) SetLocked(name, serving);
}

void HealthService::Drain() {
  absl::MutexLock lock(&mu_);
  if (drained_) return;
  for (auto& [name, status] : serving_) SetLocked(name, false);
  drained_ = true;
  for (Watcher* watcher : watchers_) {
    // Unknown names included: their watchers end too.
    watcher->Send(StatusOfLocked(watcher->name()));
    watcher->End();
  }
}

HealthService::Status HealthService::StatusOfLocked(const std::string& service) const {
  auto it = serving_.find(service);
  if (it == serving_.end()) return HealthCheckResponse::SERVICE_UNKNOWN;
  return it->second ? HealthCheckResponse::SERVING : HealthCheckResponse::NOT_SERVING;
}

void HealthService::SetLocked(const std::string& service, bool serving) {
  serving_[service] = serving;
  const Status status = StatusOfLocked(service);
  for (Watcher* watcher : watchers_) {
    if (watcher->name() == service) watcher->Send(status);
  }
}

void HealthService::Unregister(Watcher* watcher) {
  absl::MutexLock lock(&mu_);
  watchers_.erase(watcher);
  if (watchers_.empty()) all_done_.SignalAll();
}

grpc::ServerUnaryReactor* HealthService::Check(grpc::CallbackServerContext* context,
                                               const HealthCheckRequest* request,
                                               HealthCheckResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  Status status;
  {
    absl::MutexLock lock(&mu_);
    status = StatusOfLocked(request->service());
  }
  if (status == HealthCheckResponse::SERVICE_UNKNOWN) {
    reactor->Finish(grpc::Status(grpc::StatusCode::NOT_FOUND, "unknown service"));
    return reactor;
  }
  response->set_status(status);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerWriteReactor<HealthCheckResponse>* HealthService::Watch(
    grpc::CallbackServerContext* /*context*/, const HealthCheckRequest* request) {
  auto* watcher = new Watcher(*this, request->service());
  absl::MutexLock lock(&mu_);
  watchers_.insert(watcher);
  watcher->Send(StatusOfLocked(request->service()));
  if (drained_) watcher->End();
  return watcher;
}

}  // namespace tokens
