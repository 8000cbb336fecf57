#pragma once

#include "absl/status/status.h"
#include "google/protobuf/message.h"
#include "grpcpp/support/byte_buffer.h"

namespace tokens {

// Parses a request from the bytes a client sent, for servers that take the
// bytes themselves rather than let gRPC parse them: gRPC answers a request
// that does not parse with a bare INTERNAL before any handler runs, and
// protobuf logs the reason as its own error.
//
// A string field that is not well-formed UTF-8 (proto3 requires it) is
// INVALID_ARGUMENT naming the field as a FieldError ("name",
// "tokens[2].token_id"), found before protobuf's parser sees the bytes, so
// a client's mistake is not logged as the server's error. Anything else that
// does not parse (a truncated message, a wrong wire type) is
// INVALID_ARGUMENT "the request is not a valid <message type>".
absl::Status ParseRequest(const grpc::ByteBuffer& bytes, google::protobuf::Message* request);

}  // namespace tokens
