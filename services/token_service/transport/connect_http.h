#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/metrics/registry.h"
#include "common/net/forwarded_for.h"
#include "google/protobuf/descriptor.h"
#include "grpcpp/channel.h"
#include "grpcpp/generic/generic_stub.h"

namespace httplib {
class Server;
}

namespace tokens {
class HttpListener;
}

// The HTTP face of token-service (--http_listen): every unary method of the
// services it is given, as Connect-protocol unary JSON
// (https://connectrpc.com/docs/protocol):
//
//   POST /tokens.v1.TokenService/ListTokens
//   Content-Type: application/json
//   Authorization: Bearer utk_...
//   {"pageSize": 10}
//
// Generic: the method table is built from the services' descriptors, and a
// request is JSON -> the method's input message -> bytes, sent through the
// gRPC server's in-process channel with the caller's `authorization` and its
// address (kHttpClientMetadata, rpc_serve.h: the TCP peer's, or for a peer
// in trusted_proxies the client X-Forwarded-For names), and the answer back the same
// way. So the gRPC services authenticate, validate, log, count and audit an
// HTTP call exactly as one over gRPC; nothing here decides anything about a
// caller.
//
// GET and HEAD of one of the options' files (the web console) answer it,
// with `Cache-Control: no-cache`; of any other path, 404 (405 for a method's
// path).
//
// What the face itself answers, before any call:
//   method other than POST (OPTIONS included: no CORS)  405 (Allow: POST)
//   a path that is no unary method of the services      404, unimplemented
//   Content-Type not application/json [; charset=utf-8] 415
//   Content-Encoding other than identity                 501, unimplemented
//   Connect-Protocol-Version other than 1                400, invalid_argument
//   Connect-Timeout-Ms not 1 to 10 digits                400, invalid_argument
//   a body over max_body_bytes                           429, resource_exhausted
//   a body that is not JSON of the input message,
//     unknown fields included                            400, invalid_argument
//   two Authorization headers                            401, unauthenticated
// A call's own error is Connect's JSON error with the HTTP status of Connect's
// code table; its google.rpc.Status details (BadRequest's field violations)
// become `details` entries: type, base64 value without padding, and `debug`,
// the detail as JSON.
//
// Every answer carries the headers of a page that nothing may frame, embed,
// sniff or cache (kSecurityHeaders), and none of CORS.
namespace tokens::service {

struct ConnectHttpOptions {
  // Full names of the services served ("tokens.v1.TokenService"); each must
  // be in the generated descriptor pool.
  std::vector<std::string> services;
  // Files answered to GET (and HEAD) at their path, "/" being
  // "/index.html": the web console, built into the binary.
  struct File {
    const char* path;  // "/app.js"
    const char* content_type;
    const char* body;
  };
  std::vector<File> files;
  // The largest request body read; the JSON of any request of these
  // services is far smaller (a name, a date, ids), so 64 KiB leaves room
  // without letting a client make the process hold much per connection.
  size_t max_body_bytes = 64 * 1024;
  // Connections are cpp-httplib's, one worker thread each while open. These
  // bound how long an idle or slow one holds its thread (see HttpListener:
  // the port is for administrators, loopback by default, not the Internet).
  absl::Duration read_timeout = absl::Seconds(10);
  absl::Duration write_timeout = absl::Seconds(10);
  absl::Duration keep_alive_timeout = absl::Seconds(5);
  // The deadline of a call whose request names none (Connect-Timeout-Ms).
  absl::Duration default_call_timeout = absl::Seconds(30);
  // The reverse proxies (--http_trusted_proxies) whose X-Forwarded-For
  // names the client (ForwardedClient, common/net/forwarded_for.h); empty:
  // the client is always the TCP peer.
  TrustedProxies trusted_proxies;
};

// The response headers of every answer of the face.
extern const std::vector<std::pair<std::string, std::string>> kSecurityHeaders;

// One answer of the face, before HTTP: tested without sockets.
struct ConnectAnswer {
  int http_status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// The HTTP status Connect's code table gives a gRPC status code.
int ConnectHttpStatus(grpc::StatusCode code);
// Connect's name of a gRPC status code ("invalid_argument").
std::string ConnectCodeName(grpc::StatusCode code);
// Connect's JSON error for `status`, its details included.
std::string ConnectErrorJson(const grpc::Status& status);

class ConnectHttpFace {
 public:
  // `channel`: the gRPC server's in-process channel. `registry` (optional)
  // takes token_service_http_requests_total.
  ConnectHttpFace(std::shared_ptr<grpc::Channel> channel, ConnectHttpOptions options,
                  metrics::Registry* registry = nullptr);
  ~ConnectHttpFace();  // Stop()s
  ConnectHttpFace(const ConnectHttpFace&) = delete;
  ConnectHttpFace& operator=(const ConnectHttpFace&) = delete;

  // Binds `listen` (host:port; port 0 picks one) and serves from background
  // threads. INVALID_ARGUMENT for a malformed address, UNAVAILABLE if it
  // cannot bind.
  absl::Status Start(absl::string_view listen);
  // After Start(): the bound "host:port".
  const std::string& address() const;
  // Stops accepting, finishes the requests in progress. Idempotent.
  void Stop();

  // One POST to `path`, after the checks of the HTTP request's head.
  // `headers` are the request's (names in lower case); `client` its IP
  // address.
  ConnectAnswer Post(absl::string_view path, const std::multimap<std::string, std::string>& headers,
                     absl::string_view body, absl::string_view client) const;

 private:
  struct Method {
    const google::protobuf::MethodDescriptor* descriptor;
  };
  // Why the face itself answered a request, for token_service_http_requests_total.
  enum class Outcome { kCalled, kBadMethod, kNotFound, kMediaType, kTooLarge, kMalformed, kFile };
  void Count(Outcome outcome) const;

  const ConnectHttpOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<grpc::GenericStub> stub_;
  std::map<std::string, Method, std::less<>> methods_;  // by path, "/pkg.Service/Method"
  std::vector<metrics::Counter*> outcomes_;             // by Outcome, may be empty
  std::unique_ptr<httplib::Server> server_;
  std::unique_ptr<HttpListener> listener_;
};

}  // namespace tokens::service
