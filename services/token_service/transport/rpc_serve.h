#pragma once

#include <cstdlib>
#include <iterator>
#include <optional>
#include <random>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/grpc/peer_address.h"
#include "common/grpc/request_parsing.h"
#include "common/log/json_logger.h"
#include "common/metrics/rpc_metrics.h"
#include "google/protobuf/descriptor.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/method_handler.h"
#include "grpcpp/support/sync_stream.h"
#include "services/token_service/domain/authenticator.h"
#include "services/token_service/domain/model.h"
#include "services/token_service/transport/failed_auth_log.h"
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

// The metadata keys by which the HTTP face (connect_http.h) tells the gRPC
// services the address of its HTTP client. Its calls reach them through the
// server's in-process channel, whose peer has no IP address; without them
// every HTTP client would be one unknown client to the failed-authentication
// limit and the access log.
inline constexpr char kHttpClientMetadata[] = "x-tokens-http-client";
inline constexpr char kHttpFaceKeyMetadata[] = "x-tokens-http-face-key";

// A random key of this process (256 bits, hex), drawn at first use. The HTTP
// face sends it with every call; it never leaves the process (the in-process
// channel carries it) and is never logged.
inline const std::string& HttpFaceKey() {
  static const std::string key = [] {
    std::random_device random;  // the kernel's generator (libstdc++)
    std::string hex;
    for (int i = 0; i < 8; ++i) {
      absl::StrAppend(&hex, absl::Hex(random(), absl::kZeroPad8));
    }
    return hex;
  }();
  return key;
}

// Whether `peer` (ServerContext::peer()) is a network peer: gRPC names those
// "ipv4:…", "ipv6:…" or "unix:…"; the in-process channel's peer is none of
// them ("unknown" in gRPC 1.51).
inline bool IsNetworkPeer(absl::string_view peer) {
  return absl::StartsWith(peer, "ipv4:") || absl::StartsWith(peer, "ipv6:") ||
         absl::StartsWith(peer, "unix");
}

// The one value of metadata `key`, or nullopt when it is absent or repeated.
inline std::optional<absl::string_view> OnlyMetadata(const grpc::ServerContextBase& ctx,
                                                     absl::string_view key) {
  const auto [first, end] =
      ctx.client_metadata().equal_range(grpc::string_ref(key.data(), key.size()));
  if (first == end || std::next(first) != end) return std::nullopt;
  return absl::string_view(first->second.data(), first->second.size());
}

// Compares in time that depends on the lengths only.
inline bool SameSecret(absl::string_view a, absl::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

// The caller's IP address as text, "" when unknown: the network peer's for a
// call from outside, and for a call the HTTP face made, the address it put in
// kHttpClientMetadata. That address is trusted only from a call that is not
// from the network AND carries this process's HttpFaceKey(): nobody can pass
// for another address by sending the keys over gRPC, and the HTTP face never
// copies a header of its client into them; the one header it reads,
// X-Forwarded-For, only from a peer in --http_trusted_proxies and only as
// an IP address (ForwardedClient; http_face_pgtest checks all three).
inline std::string ClientAddressOf(const grpc::ServerContextBase& ctx) {
  const std::string peer = ctx.peer();
  if (IsNetworkPeer(peer)) return PeerHost(peer);
  const std::optional<absl::string_view> key = OnlyMetadata(ctx, kHttpFaceKeyMetadata);
  const std::optional<absl::string_view> client = OnlyMetadata(ctx, kHttpClientMetadata);
  if (!key.has_value() || !client.has_value() || !SameSecret(*key, HttpFaceKey())) return "";
  return std::string(*client);
}

// Counts a call as started with `rpc_metrics`, when there are metrics.
inline void CountStarted(metrics::RpcMetrics* rpc_metrics, absl::string_view method) {
  if (rpc_metrics != nullptr) rpc_metrics->Started(method);
}

// Counts a finished call by code, with its handling time, with
// `rpc_metrics`, and returns `status` as gRPC's.
inline grpc::Status RecordCall(metrics::RpcMetrics* rpc_metrics, absl::string_view method,
                               const absl::Status& status, absl::Duration elapsed) {
  grpc::Status result = ToGrpcStatus(status);
  if (rpc_metrics != nullptr) rpc_metrics->Handled(method, result.error_code(), elapsed);
  return result;
}

// Writes the request-log line of a finished call (LogCall), then
// RecordCall.
inline grpc::Status FinishCall(metrics::RpcMetrics* rpc_metrics, const CallRecord& call) {
  LogCall(call);
  return RecordCall(rpc_metrics, call.method, call.status, call.elapsed);
}

// FinishCall for a call whose caller did not authenticate: its line goes to
// `failed_auth` (which writes a few and sums up the rest) when there is one.
inline grpc::Status FinishUnauthenticated(metrics::RpcMetrics* rpc_metrics,
                                          FailedAuthLog* failed_auth, const CallRecord& call) {
  if (failed_auth == nullptr) return FinishCall(rpc_metrics, call);
  failed_auth->Record(call.method, call.peer, call.status, call.elapsed);
  return RecordCall(rpc_metrics, call.method, call.status, call.elapsed);
}

// Authenticates (by the caller's address too: see Authenticator), runs
// `handler(principal)`, then FinishCall, or FinishUnauthenticated. The call
// was counted as started by ParseRequestsOf's handler, which every unary
// method goes through.
template <typename Handler>
grpc::Status Serve(const Authenticator& auth, metrics::RpcMetrics* rpc_metrics,
                   FailedAuthLog* failed_auth, grpc::ServerContext* ctx, absl::string_view method,
                   Handler&& handler) {
  const absl::Time start = absl::Now();
  const std::string client = ClientAddressOf(*ctx);
  const absl::StatusOr<std::optional<absl::string_view>> authorization = AuthorizationOf(*ctx);
  absl::StatusOr<Principal> caller =
      authorization.ok() ? auth.Authenticate(*authorization, client) : authorization.status();
  if (!caller.ok()) {
    return FinishUnauthenticated(rpc_metrics, failed_auth,
                                 {method, {}, {}, client, caller.status(), absl::Now() - start});
  }
  const absl::Status status = handler(*caller);
  return FinishCall(rpc_metrics, {method, caller->user_id, caller->token_id, client, status,
                                  absl::Now() - start});
}

// A generated service base (`v1::TokenService::Service`, or one with other
// methods already changed) whose unary methods can be told to take their
// request as bytes and parse it here, with ParseRequest: gRPC parses a
// request before any handler runs and answers one that does not parse (a
// string that is not UTF-8) with a bare INTERNAL, no access-log line, and a
// plain-text complaint of protobuf's on stderr. Here that call answers
// INVALID_ARGUMENT naming the field, logged and counted like any other.
//
// Why this way: a server interceptor sees only that parsing failed, not the
// bytes, so it could not name the field; a SerializationTraits
// specialization would have to be visible to the generated code. gRPC's own
// "streamed unary" handler hands the method its one request message as a
// ByteBuffer; on the wire the call is the same unary call.
template <class Base>
class ParsesOwnRequests : public Base {
 protected:
  // Serves unary method `full_name` ("tokens.v1.TokenService.CreateToken")
  // by parsing its request here and calling `method` on `impl`, the derived
  // service. Call from the derived constructor, once per unary method.
  template <class Impl, class Request, class Response>
  void ParseRequestsOf(Impl* impl, const std::string& full_name,
                       grpc::Status (Impl::*method)(grpc::ServerContext*, const Request*,
                                                    Response*),
                       metrics::RpcMetrics* rpc_metrics) {
    const google::protobuf::MethodDescriptor* descriptor =
        google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(full_name);
    // A misspelt name is a bug every test that starts the server finds.
    if (descriptor == nullptr || descriptor->input_type() != Request::descriptor()) {
      Logger("rpc")->critical("{} is not a unary method taking {}", full_name,
                              Request::descriptor()->full_name());
      std::abort();
    }
    using Streamer = grpc::ServerUnaryStreamer<grpc::ByteBuffer, grpc::ByteBuffer>;
    this->MarkMethodStreamed(
        descriptor->index(),
        new grpc::internal::StreamedUnaryHandler<grpc::ByteBuffer, grpc::ByteBuffer>(
            [impl, method, rpc_metrics, name = descriptor->name()](
                grpc::ServerContext* ctx, Streamer* stream) -> grpc::Status {
              const absl::Time start = absl::Now();
              CountStarted(rpc_metrics, name);
              grpc::ByteBuffer bytes;
              Request request;
              const absl::Status parsed =
                  stream->Read(&bytes)
                      ? ParseRequest(bytes, &request)
                      : absl::InvalidArgumentError("the call carried no request message");
              if (!parsed.ok()) {
                const std::string client = ClientAddressOf(*ctx);
                return FinishCall(rpc_metrics, {name, {}, {}, client, parsed, absl::Now() - start});
              }
              Response response;
              grpc::Status status = (impl->*method)(ctx, &request, &response);
              if (!status.ok()) return status;
              grpc::ByteBuffer answer;
              bool own_buffer = false;
              status =
                  grpc::SerializationTraits<Response>::Serialize(response, &answer, &own_buffer);
              if (status.ok()) stream->Write(answer);
              return status;
            }));
  }
};

}  // namespace tokens::service
