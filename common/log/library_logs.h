#pragma once

namespace tokens {

// Sends what protobuf and gRPC core log on their own through the JSON logger
// (loggers "protobuf" and "grpc"), instead of their default handlers' plain
// text on stderr: a client can make protobuf complain (a string that is not
// UTF-8), and every stderr line must stay one JSON object. Call once at
// start, after InitLogging; both libraries read the hook unsynchronized.
void RouteLibraryLogsToJson();

}  // namespace tokens
