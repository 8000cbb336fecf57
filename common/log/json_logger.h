#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <type_traits>
#include <variant>

#include "absl/container/inlined_vector.h"
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

// One value of a structured log line: a string, an integer, a number or a
// boolean, written as that JSON type. Holds a view of a string: build it
// where the line is written, in the call's arguments.
class LogValue {
 public:
  LogValue(absl::string_view text) : value_(text) {}
  LogValue(const char* text) : value_(absl::string_view(text)) {}
  LogValue(const std::string& text) : value_(absl::string_view(text)) {}
  LogValue(bool b) : value_(b) {}
  template <typename T,
            std::enable_if_t<
                std::is_integral_v<T> && !std::is_same_v<T, bool> && std::is_signed_v<T>, int> = 0>
  LogValue(T n) : value_(static_cast<int64_t>(n)) {}
  template <typename T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool> &&
                                             std::is_unsigned_v<T>,
                                         int> = 0>
  LogValue(T n) : value_(static_cast<uint64_t>(n)) {}
  LogValue(double x) : value_(x) {}

  // The JSON text: a string escaped (JsonEscape) with the secrets of
  // RedactSecrets replaced; a number that is not finite as null.
  void AppendJson(std::string& out) const;

 private:
  std::variant<absl::string_view, int64_t, uint64_t, double, bool> value_;
};

// The keys and values a line carries besides ts, level, logger and msg, in
// order. A key that is one of those four is written with a '_' appended.
class LogFields {
 public:
  LogFields() = default;
  LogFields(std::initializer_list<std::pair<absl::string_view, LogValue>> fields)
      : fields_(fields.begin(), fields.end()) {}

  LogFields& Add(absl::string_view key, LogValue value) {
    fields_.emplace_back(key, value);
    return *this;
  }
  // `,"key":value` for each field.
  std::string ToJson() const;

 private:
  absl::InlinedVector<std::pair<absl::string_view, LogValue>, 8> fields_;
};

// Writes `msg` at `level` to `logger` with `fields` as keys of the line's
// JSON object, e.g.
//   LogEvent(*log, spdlog::level::info, "CreateToken",
//            {{"method", "CreateToken"}, {"code", "OK"}, {"duration_ms", 0.7}});
//   {"ts":…,"level":"info","logger":"rpc","msg":"CreateToken","method":"CreateToken",
//    "code":"OK","duration_ms":0.7}
// Nothing is formatted when the level is off. The fields reach the formatter
// on this thread, so `logger` must write synchronously, as Logger()'s do;
// they never pass through the message, so no text a client chose can add a
// key.
void LogEvent(spdlog::logger& logger, spdlog::level::level_enum level, absl::string_view msg,
              const LogFields& fields);

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
