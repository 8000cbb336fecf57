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

absl::string_view GrpcType(bool client_streaming, bool server_streaming) {
  if (client_streaming && server_streaming) return "bidi_stream";
  if (client_streaming) return "client_stream";
  if (server_streaming) return "server_stream";
  return "unary";
}

RpcMetrics::RpcMetrics(Registry& registry, absl::string_view service) {
  const google::protobuf::ServiceDescriptor* descriptor =
      google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(std::string(service));
  if (descriptor == nullptr) {
    Logger("metrics")->critical("no descriptor for gRPC service {}", service);
    std::abort();
  }
  for (int m = 0; m < descriptor->method_count(); ++m) {
    const google::protobuf::MethodDescriptor& method = *descriptor->method(m);
    const Labels labels = {
        {"grpc_type", std::string(GrpcType(method.client_streaming(), method.server_streaming()))},
        {"grpc_service", std::string(service)},
        {"grpc_method", method.name()}};
    Method& series = methods_[method.name()];
    series.started = &registry.AddCounter("grpc_server_started_total",
                                          "gRPC calls started on the server.", labels);
    for (int code = 0; code < kCodes; ++code) {
      Labels with_code = labels;
      with_code.emplace_back("grpc_code",
                             std::string(GrpcCodeName(static_cast<grpc::StatusCode>(code))));
      series.handled[code] =
          &registry.AddCounter("grpc_server_handled_total",
                               "gRPC calls completed on the server, by status code.", with_code);
    }
    series.handling = &registry.AddHistogram(
        "grpc_server_handling_seconds",
        "Time to handle a gRPC call, from its start to its status (for a stream: its lifetime).",
        labels, LatencyBuckets());
  }
}

void RpcMetrics::Started(absl::string_view method) {
  auto it = methods_.find(method);
  if (it != methods_.end()) it->second.started->Increment();
}

void RpcMetrics::Handled(absl::string_view method, grpc::StatusCode code, absl::Duration elapsed) {
  auto it = methods_.find(method);
  const int i = static_cast<int>(code);
  if (it == methods_.end() || i < 0 || i >= kCodes) return;
  it->second.handled[i]->Increment();
  it->second.handling->Observe(absl::ToDoubleSeconds(elapsed));
}

}  // namespace tokens::metrics
