#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "grpc/health/v1/health.pb.h"
#include "grpcpp/channel.h"
#include "grpcpp/support/status.h"

namespace tokens::testing {

// grpc.health.v1.Health/Check through a generic stub (the project compiles
// the health messages only; the service is gRPC's built-in one).
grpc::Status HealthCheck(const std::shared_ptr<grpc::Channel>& channel, const std::string& service,
                         grpc::health::v1::HealthCheckResponse* response,
                         std::chrono::milliseconds timeout = std::chrono::seconds(30));

}  // namespace tokens::testing
