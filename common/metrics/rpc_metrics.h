#pragma once

#include <array>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/metrics/registry.h"
#include "grpcpp/support/status.h"

namespace tokens::metrics {

// Handling time and outcome of every call to one gRPC service, in the names
// dashboards for gRPC servers already use:
//   grpc_server_handling_seconds{grpc_service,grpc_method,grpc_code} (histogram)
// whose _count is the number of calls handled with that code. A series
// appears once a call has ended with its code.
class RpcMetrics {
 public:
  // `service`: the full proto name, e.g. "tokens.v1.TokenService"; its
  // methods are read from the linked-in descriptors (a name that is not
  // there is a programming error and aborts).
  RpcMetrics(Registry& registry, absl::string_view service);

  // `method`: the short name, e.g. "CreateToken". Lock-free.
  void Record(absl::string_view method, grpc::StatusCode code, absl::Duration elapsed);

 private:
  static constexpr int kCodes = 17;  // OK .. UNAUTHENTICATED
  absl::flat_hash_map<std::string, std::array<Histogram*, kCodes>> methods_;
};

// The canonical name of a gRPC status code, e.g. "NOT_FOUND".
absl::string_view GrpcCodeName(grpc::StatusCode code);

}  // namespace tokens::metrics
