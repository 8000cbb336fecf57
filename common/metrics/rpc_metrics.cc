#include "common/metrics/rpc_metrics.h"

#include <cstdlib>

#include "common/log/json_logger.h"
#include "google/protobuf/descriptor.h"

namespace tokens::metrics {

absl::string_view GrpcCodeName(grpc::StatusCode code) {
  static constexpr absl::string_view kNames[] = {
      "OK",        "CANCELLED",         "UNKNOWN",          "INVALID_ARGUMENT",
      "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",   "PERMISSION_DENIED",
      "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
      "UNIMPLEMENTED", "INTERNAL",      "UNAVAILABLE",      "DATA_LOSS",
      "UNAUTHENTICATED"};
  const int i = static_cast<int>(code);
  return i >= 0 && i < static_cast<int>(std::size(kNames)) ? kNames[i] : "UNKNOWN";
}

RpcMetrics::RpcMetrics(Registry& registry, absl::string_view service) {
  const google::protobuf::ServiceDescriptor* descriptor =
      google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(std::string(service));
  if (descriptor == nullptr) {
    Logger("metrics")->critical("no descriptor for gRPC service {}", service);
    std::abort();
  }
  for (int m = 0; m < descriptor->method_count(); ++m) {
    const std::string& method = descriptor->method(m)->name();
    std::array<Histogram*, kCodes>& by_code = methods_[method];
    for (int code = 0; code < kCodes; ++code) {
      by_code[code] = &registry.AddHistogram(
          "grpc_server_handling_seconds",
          "Time to handle a gRPC call, from the handler's start to its status.",
          {{"grpc_service", std::string(service)},
           {"grpc_method", method},
           {"grpc_code", std::string(GrpcCodeName(static_cast<grpc::StatusCode>(code)))}},
          LatencyBuckets(), /*hide_when_empty=*/true);
    }
  }
}

void RpcMetrics::Record(absl::string_view method, grpc::StatusCode code, absl::Duration elapsed) {
  auto it = methods_.find(method);
  const int i = static_cast<int>(code);
  if (it == methods_.end() || i < 0 || i >= kCodes) return;
  it->second[i]->Observe(absl::ToDoubleSeconds(elapsed));
}

}  // namespace tokens::metrics
