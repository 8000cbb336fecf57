#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpc/health/v1/health.pb.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "grpcpp/support/status.h"

namespace tokens::testing {

// grpc.health.v1.Health/Check through a generic stub.
grpc::Status HealthCheck(const std::shared_ptr<grpc::Channel>& channel, const std::string& service,
                         grpc::health::v1::HealthCheckResponse* response,
                         std::chrono::milliseconds timeout = std::chrono::seconds(30));

// An open grpc.health.v1.Health/Watch stream, read by a thread of its own:
// every status it delivers, in order, and how it ended.
class HealthWatch {
 public:
  using Status = grpc::health::v1::HealthCheckResponse::ServingStatus;

  HealthWatch(const std::shared_ptr<grpc::Channel>& channel, const std::string& service);
  // Cancels the stream if it is still open.
  ~HealthWatch();

  // Waits until `status` has been received; false after `timeout`.
  bool AwaitStatus(Status status, std::chrono::milliseconds timeout) const;
  // Waits until the stream has ended; false after `timeout`.
  bool AwaitEnd(std::chrono::milliseconds timeout) const;

  std::vector<Status> received() const;
  // How the stream ended (meaningful once AwaitEnd() is true).
  grpc::Status end_status() const;

 private:
  grpc::ClientContext context_;
  std::unique_ptr<grpc::health::v1::Health::Stub> stub_;
  mutable absl::Mutex mu_;
  std::vector<Status> received_ ABSL_GUARDED_BY(mu_);
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status end_status_ ABSL_GUARDED_BY(mu_);
  std::thread reader_;
};

}  // namespace tokens::testing
