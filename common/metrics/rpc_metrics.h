#pragma once

#include <array>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/metrics/registry.h"
#include "grpcpp/support/status.h"

namespace tokens::metrics {

// The calls of one gRPC service, in the names and labels of
// go-grpc-prometheus (grpc-ecosystem), which stock dashboards and alerts use:
//   grpc_server_started_total{grpc_type,grpc_service,grpc_method}
//   grpc_server_handled_total{grpc_type,grpc_service,grpc_method,grpc_code}
//   grpc_server_handling_seconds{grpc_type,grpc_service,grpc_method} (histogram)
// grpc_type is unary, client_stream, server_stream or bidi_stream, from the
// method's descriptor. Every series of every method (and code) is there from
// the start, at 0, so a rate() sees a method's first call.
class RpcMetrics {
 public:
  // `service`: the full proto name, e.g. "tokens.v1.TokenService"; its
  // methods are read from the linked-in descriptors (a name that is not
  // there is a programming error and aborts).
  RpcMetrics(Registry& registry, absl::string_view service);

  // A call of `method` (the short name, e.g. "CreateToken") has begun.
  // Lock-free, as is Handled.
  void Started(absl::string_view method);
  // A call of `method` has ended with `code`, `elapsed` after it began.
  void Handled(absl::string_view method, grpc::StatusCode code, absl::Duration elapsed);

 private:
  static constexpr int kCodes = 17;  // OK .. UNAUTHENTICATED
  struct Method {
    Counter* started = nullptr;
    std::array<Counter*, kCodes> handled{};
    Histogram* handling = nullptr;
  };
  absl::flat_hash_map<std::string, Method> methods_;
};

// The canonical name of a gRPC status code, e.g. "NOT_FOUND".
absl::string_view GrpcCodeName(grpc::StatusCode code);

// go-grpc-prometheus' grpc_type of a method: "unary", "client_stream",
// "server_stream" or "bidi_stream".
absl::string_view GrpcType(bool client_streaming, bool server_streaming);

}  // namespace tokens::metrics
