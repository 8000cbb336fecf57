// bench-empty-authz: Envoy's Authorization/Check answering "allowed" without
// looking at the request. The ceiling token-sidecar's Check is measured
// against: same gRPC build, same server setup (the callback API with the
// request and answer on one arena per call, as the sidecar serves Check),
// no work.
#include "bench/bench_server.h"
#include "common/grpc/arena_messages.h"
#include "envoy/service/auth/v3/external_auth.grpc.pb.h"

namespace {

using envoy::service::auth::v3::CheckRequest;
using envoy::service::auth::v3::CheckResponse;

class EmptyAuthorization final : public envoy::service::auth::v3::Authorization::CallbackService {
 public:
  EmptyAuthorization() { SetMessageAllocatorFor_Check(&allocator_); }

  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* ctx, const CheckRequest*,
                                  CheckResponse* response) override {
    response->mutable_status();  // code 0: OK
    response->mutable_ok_response();
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

 private:
  tokens::ArenaMessageAllocator<CheckRequest, CheckResponse> allocator_;
};

}  // namespace

int main(int argc, char** argv) {
  const std::string listen = tokens::bench::InitServer(
      argc, argv, "bench-empty-authz: Authorization/Check that allows everything, for benchmarks");
  EmptyAuthorization service;
  return tokens::bench::Serve(service, listen);
}
