#include "common/grpc/probe.h"

#include <chrono>
#include <cstdio>
#include <future>
#include <memory>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "grpc/health/v1/health.pb.h"
#include "grpc/support/log.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/impl/codegen/proto_utils.h"
#include "grpcpp/support/channel_arguments.h"

namespace tokens {

std::string ProbeAddressFor(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return listen;
  const std::string host = listen.substr(0, colon);
  const std::string port = listen.substr(colon + 1);
  if (host.empty() || host == "0.0.0.0") return "127.0.0.1:" + port;
  if (host == "[::]" || host == "::" || host == "[::0]") return "[::1]:" + port;
  return listen;
}

int RunProbe(const ProbeOptions& options) {
  // One line of output, ours: gRPC's own log (a failed handshake, a refused
  // connection) would add lines of its format to what the kubelet records.
  gpr_set_log_function([](gpr_log_func_args*) {});
  const auto fail = [&](const std::string& why) {
    std::fprintf(stderr, "%s: %s: %s\n", options.program.c_str(), options.address.c_str(),
                 why.c_str());
    return 1;
  };
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      UnverifiedChannelCredentials(options.tls);
  if (!credentials.ok()) return fail(std::string(credentials.status().message()));
  grpc::ChannelArguments args;
  // A subchannel pool of this channel's own: the probe must open a
  // connection of its own, as a new client would, not reuse one.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  // One connection attempt within the timeout, not a retry after backoff.
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS,
              static_cast<int>(absl::ToInt64Milliseconds(options.timeout)) + 1000);
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateCustomChannel(options.address, *credentials, args);

  grpc::TemplatedGenericStub<grpc::health::v1::HealthCheckRequest,
                             grpc::health::v1::HealthCheckResponse>
      stub(channel);
  grpc::health::v1::HealthCheckRequest request;  // service "": the server as a whole
  grpc::health::v1::HealthCheckResponse response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       absl::ToChronoMilliseconds(options.timeout));
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request,
                 &response, [&done](grpc::Status status) { done.set_value(std::move(status)); });
  const grpc::Status status = done.get_future().get();
  if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    return fail(absl::StrCat("no answer within ", absl::FormatDuration(options.timeout),
                             ": the listener may be wedged"));
  }
  if (!status.ok()) {
    const std::string& message = status.error_message();
    if (absl::StrContains(message, "Connection refused")) {
      return fail("connection refused: nothing listens there");
    }
    return fail(absl::StrCat("health check failed: ", message));
  }
  if (response.status() != grpc::health::v1::HealthCheckResponse::SERVING) {
    return fail(absl::StrCat(grpc::health::v1::HealthCheckResponse::ServingStatus_Name(
                    response.status())));
  }
  std::printf("%s: %s: SERVING\n", options.program.c_str(), options.address.c_str());
  return 0;
}

}  // namespace tokens
