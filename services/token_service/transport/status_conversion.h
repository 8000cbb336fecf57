#pragma once

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace tokens::service {

// absl::Status -> grpc::Status, code for code (the canonical codes are the
// same numbers). A FieldError also carries a google.rpc.Status with a
// google.rpc.BadRequest field violation in the details, which gRPC sends as
// the standard `grpc-status-details-bin` trailer.
grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace tokens::service
