#pragma once

#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "spdlog/formatter.h"
#include "spdlog/logger.h"

namespace tokens {

// Configures spdlog for a binary: one JSON object per line on stderr,
//   {"ts":"2026-11-28T17:35:22.123456Z","level":"info","logger":"db","msg":"..."}
// Every component then takes its own named logger with Logger("name").
// `level` is one of trace, debug, info, warn, error, critical, off;
// an unknown name is an error the caller reports.
bool InitLogging(absl::string_view level);

// The component logger `name`, created on first use with the JSON sink.
std::shared_ptr<spdlog::logger> Logger(const std::string& name);

// Escapes `text` for inclusion inside a JSON string literal. Bytes that are
// not well-formed UTF-8 become U+FFFD.
std::string JsonEscape(absl::string_view text);

// From now on every log line has each occurrence of `secret` replaced by
// "[redacted]", whatever wrote it (our components, libpq's messages quoted
// in an error, gRPC's and protobuf's own logs). For the secrets a binary
// holds (the database password); call it before anything is logged.
void RedactFromLogs(std::string secret);

// `text` with the registered secrets and every credential written as a
// connection string (the password of `scheme://user:password@host`, the value
// of `password=...`) replaced by "[redacted]". What the formatter applies to
// each message; exposed for tests.
std::string RedactSecrets(absl::string_view text);

// The formatter behind Logger(): one JSON object per line. Exposed so tests can
// check the exact lines it writes.
std::unique_ptr<spdlog::formatter> NewJsonFormatter();

}  // namespace tokens

// Lets log calls take absl::string_view (distinct from std::string_view in
// this Abseil build), e.g. a Status's message().
template <>
struct fmt::formatter<absl::string_view> : fmt::formatter<fmt::string_view> {
  template <typename Context>
  auto format(absl::string_view s, Context& ctx) const {
    return fmt::formatter<fmt::string_view>::format(fmt::string_view(s.data(), s.size()), ctx);
  }
};
