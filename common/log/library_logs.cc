#include "common/log/library_logs.h"

#include <memory>
#include <string>

#include "common/log/json_logger.h"
#include "google/protobuf/stubs/logging.h"
#include "grpc/support/log.h"

namespace tokens {
namespace {

// Never destroyed: either library may log from its own threads while the
// process exits, after static destructors have run. Kept in a static
// pointer, so LeakSanitizer sees it reachable.
const std::shared_ptr<spdlog::logger>& LibraryLogger(const char* name) {
  return *new std::shared_ptr<spdlog::logger>(Logger(name));
}

void LogFromProtobuf(google::protobuf::LogLevel level, const char* file, int line,
                     const std::string& message) {
  static const std::shared_ptr<spdlog::logger>* const log = &LibraryLogger("protobuf");
  spdlog::level::level_enum to = spdlog::level::critical;  // LOGLEVEL_FATAL: protobuf aborts next
  switch (level) {
    case google::protobuf::LOGLEVEL_INFO:
      to = spdlog::level::info;
      break;
    case google::protobuf::LOGLEVEL_WARNING:
      to = spdlog::level::warn;
      break;
    case google::protobuf::LOGLEVEL_ERROR:
      to = spdlog::level::err;
      break;
    default:
      break;
  }
  (*log)->log(to, "{} ({}:{})", message, file, line);
}

void LogFromGrpc(gpr_log_func_args* args) {
  static const std::shared_ptr<spdlog::logger>* const log = &LibraryLogger("grpc");
  spdlog::level::level_enum to = spdlog::level::err;
  if (args->severity == GPR_LOG_SEVERITY_DEBUG) to = spdlog::level::debug;
  if (args->severity == GPR_LOG_SEVERITY_INFO) to = spdlog::level::info;
  (*log)->log(to, "{} ({}:{})", args->message, args->file, args->line);
}

}  // namespace

void RouteLibraryLogsToJson() {
  google::protobuf::SetLogHandler(&LogFromProtobuf);
  gpr_set_log_function(&LogFromGrpc);
  // gRPC reads GRPC_VERBOSITY (default: errors only) in grpc_init(); until
  // then it drops every message. Read it now so nothing logged before the
  // server starts is lost.
  gpr_log_verbosity_init();
}

}  // namespace tokens
