#pragma once

#include <memory>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/channel.h"

// What grpcurl sees of a server, read through
// grpc.reflection.v1alpha.ServerReflection with hand-encoded messages (the
// project does not compile reflection.proto).
namespace tokens::testing {

// The fully qualified names of the services the server lists.
absl::StatusOr<std::set<std::string>> ReflectedServices(
    const std::shared_ptr<grpc::Channel>& channel);

// Whether asking for `symbol` yields the descriptor of `file` with a
// service that has `method`: what grpcurl needs to describe and call it.
absl::StatusOr<bool> ReflectionDescribesMethod(const std::shared_ptr<grpc::Channel>& channel,
                                               const std::string& symbol, const std::string& file,
                                               const std::string& method);

}  // namespace tokens::testing
