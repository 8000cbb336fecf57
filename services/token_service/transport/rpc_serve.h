#pragma once

#include <iterator>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/log/json_logger.h"
#include "common/metrics/rpc_metrics.h"
#include "grpcpp/server_context.h"
#include "services/token_service/domain/authenticator.h"
#include "services/token_service/domain/model.h"
#include "services/token_service/transport/status_conversion.h"

// What every token-service RPC handler does around its use case; shared by
// the gRPC services of this directory.
namespace tokens::service {

// The `authorization` metadata of a call: nullopt when absent, and
// UNAUTHENTICATED when it comes more than once. Proxies and libraries
// disagree on which copy counts, so picking one could let a header that
// something in front checked differ from the one used here; the sidecar
// and the client library refuse repeated headers too.
inline absl::StatusOr<std::optional<absl::string_view>> AuthorizationOf(
    const grpc::ServerContextBase& ctx) {
  const auto [first, end] = ctx.client_metadata().equal_range("authorization");
  if (first == end) return std::nullopt;
  if (std::next(first) != end) {
    return absl::UnauthenticatedError("more than one authorization header");
  }
  return absl::string_view(first->second.data(), first->second.size());
}

// Writes the access-log line of a finished call and, with `rpc_metrics`,
// records its handling time by code; returns `status` as gRPC's. The line
// names the method, the caller ("-" when unknown) and the outcome; never
// metadata or request fields, which may hold secrets.
inline grpc::Status FinishCall(metrics::RpcMetrics* rpc_metrics, absl::string_view method,
                               absl::string_view who, const absl::Status& status,
                               absl::Duration elapsed) {
  static const auto log = Logger("rpc");
  const double ms = absl::ToDoubleMilliseconds(elapsed);
  if (status.ok()) {
    log->info("{} user={} code=OK ms={:.2f}", method, who, ms);
  } else {
    log->info("{} user={} code={} ms={:.2f} error=\"{}\"", method, who,
              absl::StatusCodeToString(status.code()), ms, status.message());
  }
  grpc::Status result = ToGrpcStatus(status);
  if (rpc_metrics != nullptr) rpc_metrics->Record(method, result.error_code(), elapsed);
  return result;
}

// Authenticates, runs `handler(principal)`, then FinishCall.
template <typename Handler>
grpc::Status Serve(const Authenticator& auth, metrics::RpcMetrics* rpc_metrics,
                   grpc::ServerContext* ctx, absl::string_view method, Handler&& handler) {
  const absl::Time start = absl::Now();
  const absl::StatusOr<std::optional<absl::string_view>> authorization = AuthorizationOf(*ctx);
  absl::StatusOr<Principal> caller =
      authorization.ok() ? auth.Authenticate(*authorization) : authorization.status();
  absl::Status status = caller.ok() ? handler(*caller) : caller.status();
  return FinishCall(rpc_metrics, method, caller.ok() ? caller->user_id : "-", status,
                    absl::Now() - start);
}

}  // namespace tokens::service
