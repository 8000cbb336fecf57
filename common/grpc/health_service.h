#pragma once

#include <map>
#include <set>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/health_check_service_interface.h"

namespace tokens {

// grpc.health.v1.Health (Check and Watch), served by every server here in
// place of gRPC's default service. Why not the default: in gRPC 1.51 its
// Watch stream ends only when the client cancels it, so one open Watch kept
// Server::Shutdown() waiting for its whole deadline, and nothing told the
// watchers that the process was going away. Drain() does both.
//
// Statuses: service "" starts SERVING (as gRPC's default did); other names
// are unknown until set. Check of an unknown name is NOT_FOUND; a Watch of
// one sees SERVICE_UNKNOWN and stays open for a later change.
class HealthService final : public grpc::health::v1::Health::CallbackService {
 public:
  using Status = grpc::health::v1::HealthCheckResponse::ServingStatus;

  HealthService();
  ~HealthService() override;

  void SetServingStatus(const std::string& service, bool serving);
  // Every known service at once.
  void SetServingStatus(bool serving);

  // For shutdown: every status becomes NOT_SERVING for good (later Set calls
  // are ignored), every watcher is sent NOT_SERVING and its stream is then
  // finished (UNAVAILABLE), so the server's drain does not wait for them.
  // Watches opened afterwards get NOT_SERVING and end at once. Idempotent.
  void Drain();

  // What ServerBuilder's HealthCheckServiceServerBuilderOption takes, so that
  // grpc::Server::GetHealthCheckService() keeps working: it forwards to this
  // object, which must outlive the server.
  std::unique_ptr<grpc::HealthCheckServiceInterface> NewHandle();

  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* context,
                                  const grpc::health::v1::HealthCheckRequest* request,
                                  grpc::health::v1::HealthCheckResponse* response) override;
  grpc::ServerWriteReactor<grpc::health::v1::HealthCheckResponse>* Watch(
      grpc::CallbackServerContext* context,
      const grpc::health::v1::HealthCheckRequest* request) override;

 private:
  class Watcher;
  friend class Watcher;

  Status StatusOfLocked(const std::string& service) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SetLocked(const std::string& service, bool serving) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Unregister(Watcher* watcher);

  mutable absl::Mutex mu_;
  absl::CondVar all_done_;  // signalled when the last watcher is gone
  std::map<std::string, bool> serving_ ABSL_GUARDED_BY(mu_);
  std::set<Watcher*> watchers_ ABSL_GUARDED_BY(mu_);
  bool drained_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace tokens
