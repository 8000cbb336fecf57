#include "tests/support/health_check.h"

#include <future>
#include <thread>
#include <utility>

#include "grpcpp/client_context.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/impl/codegen/proto_utils.h"
#include "grpcpp/support/sync_stream.h"

namespace tokens::testing {

grpc::Status HealthCheck(const std::shared_ptr<grpc::Channel>& channel, const std::string& service,
                         grpc::health::v1::HealthCheckResponse* response,
                         std::chrono::milliseconds timeout) {
  grpc::TemplatedGenericStub<grpc::health::v1::HealthCheckRequest,
                             grpc::health::v1::HealthCheckResponse>
      stub(channel);
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + timeout);
  std::promise<grpc::Status> done;
  stub.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request, response,
                 [&done](grpc::Status status) { done.set_value(std::move(status)); });
  return done.get_future().get();
}

HealthWatch::HealthWatch(const std::shared_ptr<grpc::Channel>& channel,
                         const std::string& service)
    : stub_(grpc::health::v1::Health::NewStub(channel)) {
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  reader_ = std::thread([this, request] {
    std::unique_ptr<grpc::ClientReader<grpc::health::v1::HealthCheckResponse>> reader =
        stub_->Watch(&context_, request);
    grpc::health::v1::HealthCheckResponse response;
    while (reader->Read(&response)) {
      absl::MutexLock lock(&mu_);
      received_.push_back(response.status());
    }
    grpc::Status status = reader->Finish();
    absl::MutexLock lock(&mu_);
    end_status_ = std::move(status);
    ended_ = true;
  });
}

HealthWatch::~HealthWatch() {
  context_.TryCancel();
  reader_.join();
}

bool HealthWatch::AwaitStatus(Status status, std::chrono::milliseconds timeout) const {
  absl::MutexLock lock(&mu_);
  const auto seen = [this, status]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (Status s : received_) {
      if (s == status) return true;
    }
    return ended_;
  };
  mu_.AwaitWithTimeout(absl::Condition(&seen), absl::FromChrono(timeout));
  for (Status s : received_) {
    if (s == status) return true;
  }
  return false;
}

bool HealthWatch::AwaitEnd(std::chrono::milliseconds timeout) const {
  absl::MutexLock lock(&mu_);
  return mu_.AwaitWithTimeout(absl::Condition(&ended_), absl::FromChrono(timeout));
}

std::vector<HealthWatch::Status> HealthWatch::received() const {
  absl::MutexLock lock(&mu_);
  return received_;
}

grpc::Status HealthWatch::end_status() const {
  absl::MutexLock lock(&mu_);
  return end_status_;
}

}  // namespace tokens::testing
