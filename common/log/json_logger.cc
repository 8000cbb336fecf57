#include "common/log/json_logger.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/text/utf8.h"
#include "spdlog/formatter.h"
#include "spdlog/sinks/stdout_sinks.h"
#include "spdlog/spdlog.h"

namespace tokens {
namespace {

// The fields of the LogEvent being written on this thread (already JSON,
// `,"key":value…`), or null. Set only by LogEvent, for the length of its call.
thread_local const std::string* t_event_fields = nullptr;

class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const absl::Time ts = absl::FromChrono(msg.time);
    std::string line = absl::StrCat(
        R"({"ts":")", absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", ts, absl::UTCTimeZone()),
        R"(","level":")", spdlog::level::to_string_view(msg.level).data(), R"(","logger":")",
        JsonEscape(absl::string_view(msg.logger_name.data(), msg.logger_name.size())),
        R"(","msg":")",
        JsonEscape(RedactSecrets(absl::string_view(msg.payload.data(), msg.payload.size()))), "\"",
        t_event_fields != nullptr ? *t_event_fields : std::string(), "}\n");
    dest.append(line.data(), line.data() + line.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

std::shared_ptr<spdlog::sinks::sink> Sink() {
  static auto* sink = [] {
    auto s = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    s->set_formatter(NewJsonFormatter());
    return new std::shared_ptr<spdlog::sinks::sink>(std::move(s));
  }();
  return *sink;
}

std::mutex& RegistryMutex() {
  static auto* mu = new std::mutex;
  return *mu;
}

constexpr absl::string_view kRedacted = "[redacted]";

std::mutex& SecretsMutex() {
  static auto* mu = new std::mutex;
  return *mu;
}

std::vector<std::string>& Secrets() {
  static auto* secrets = new std::vector<std::string>;
  return *secrets;
}

// Replaces the password of every `scheme://user:password@host` in `text`.
// The user info is taken to end at the authority's last '@', which covers
// more than a URI parser would when the password itself holds an '@'.
void RedactUriPasswords(std::string& text) {
  size_t from = 0;
  while ((from = text.find("://", from)) != std::string::npos) {
    const size_t start = from + 3;
    const size_t end = std::min(text.find_first_of("/?# \t\n\"'", start), text.size());
    const size_t at = text.rfind('@', end - 1);
    const size_t colon = text.find(':', start);
    if (at != std::string::npos && at >= start && colon < at) {
      text.replace(colon + 1, at - colon - 1, kRedacted.data(), kRedacted.size());
      from = colon + 1 + kRedacted.size();
    } else {
      from = start;
    }
  }
}

// Replaces the value of every `password=value` in `text` (libpq's key=value
// form and URI query parameters), quoted or not, key in any case.
void RedactPasswordParameters(std::string& text) {
  constexpr absl::string_view kKey = "password=";
  size_t from = 0;
  while (from < text.size()) {
    const auto hit = std::search(text.begin() + from, text.end(), kKey.begin(), kKey.end(),
                                 [](char a, char b) { return absl::ascii_tolower(a) == b; });
    if (hit == text.end()) return;
    const size_t start = (hit - text.begin()) + kKey.size();
    size_t end = start;
    if (end < text.size() && text[end] == '\'') {
      end = text.find('\'', end + 1);
      end = end == std::string::npos ? text.size() : end + 1;
    } else {
      end = std::min(text.find_first_of(" \t\n&\"'", start), text.size());
    }
    text.replace(start, end - start, kRedacted.data(), kRedacted.size());
    from = start + kRedacted.size();
  }
}

}  // namespace

void RedactFromLogs(std::string secret) {
  if (secret.empty()) return;
  std::lock_guard<std::mutex> lock(SecretsMutex());
  Secrets().push_back(std::move(secret));
}

std::string RedactSecrets(absl::string_view text) {
  std::string out(text);
  {
    std::lock_guard<std::mutex> lock(SecretsMutex());
    for (const std::string& secret : Secrets()) {
      out = absl::StrReplaceAll(out, {{secret, kRedacted}});
    }
  }
  RedactUriPasswords(out);
  RedactPasswordParameters(out);
  return out;
}

std::string JsonEscape(absl::string_view text) {
  std::string out;
  out.reserve(text.size() + 8);
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (static_cast<unsigned char>(c) >= 0x80) {
      // JSON text is UTF-8: a byte that starts no well-formed sequence (a
      // client's bytes quoted in a message) becomes U+FFFD, so the line
      // still parses.
      const size_t length = Utf8SequenceLength(text.substr(i));
      if (length == 0) {
        out += "\\ufffd";
      } else {
        out.append(text.data() + i, length);
        i += length - 1;
      }
      continue;
    }
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += absl::StrFormat("\\u%04x", static_cast<unsigned char>(c));
        } else {
          out += c;
        }
    }
  }
  return out;
}

std::unique_ptr<spdlog::formatter> NewJsonFormatter() { return std::make_unique<JsonFormatter>(); }

void LogValue::AppendJson(std::string& out) const {
  if (const auto* text = std::get_if<absl::string_view>(&value_)) {
    absl::StrAppend(&out, "\"", JsonEscape(RedactSecrets(*text)), "\"");
  } else if (const auto* b = std::get_if<bool>(&value_)) {
    out += *b ? "true" : "false";
  } else if (const auto* x = std::get_if<double>(&value_)) {
    if (!std::isfinite(*x)) {
      out += "null";
      return;
    }
    // The shortest text that reads back as the same double.
    char buffer[32];
    const std::to_chars_result written = std::to_chars(buffer, buffer + sizeof(buffer), *x);
    out.append(buffer, written.ptr);
  } else if (const auto* n = std::get_if<int64_t>(&value_)) {
    absl::StrAppend(&out, *n);
  } else {
    absl::StrAppend(&out, std::get<uint64_t>(value_));
  }
}

std::string LogFields::ToJson() const {
  std::string out;
  for (const auto& [key, value] : fields_) {
    const bool reserved = key == "ts" || key == "level" || key == "logger" || key == "msg";
    absl::StrAppend(&out, ",\"", JsonEscape(key), reserved ? "_" : "", "\":");
    value.AppendJson(out);
  }
  return out;
}

void LogEvent(spdlog::logger& logger, spdlog::level::level_enum level, absl::string_view msg,
              const LogFields& fields) {
  if (!logger.should_log(level)) return;
  const std::string json = fields.ToJson();
  const std::string* const outer = t_event_fields;
  t_event_fields = &json;
  logger.log(level, "{}", msg);
  t_event_fields = outer;
}

bool InitLogging(absl::string_view level) {
  spdlog::level::level_enum parsed = spdlog::level::from_str(std::string(level));
  if (parsed == spdlog::level::off && level != "off") return false;
  spdlog::set_level(parsed);
  auto root = Logger("main");
  spdlog::set_default_logger(root);
  spdlog::flush_on(spdlog::level::trace);
  return true;
}

std::shared_ptr<spdlog::logger> Logger(const std::string& name) {
  std::lock_guard<std::mutex> lock(RegistryMutex());
  if (auto existing = spdlog::get(name)) return existing;
  auto logger = std::make_shared<spdlog::logger>(name, Sink());
  // What spdlog cannot format or write it reports itself, by default as a
  // plain-text "[*** LOG ERROR ***]" line on stderr: a JSON line instead.
  logger->set_error_handler([name](const std::string& what) {
    const std::string line = absl::StrCat(
        R"({"ts":")", absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", absl::Now(), absl::UTCTimeZone()),
        R"(","level":"error","logger":")", JsonEscape(name), R"(","msg":"cannot log: )",
        JsonEscape(RedactSecrets(what)), "\"}\n");
    std::fwrite(line.data(), 1, line.size(), stderr);
  });
  logger->set_level(spdlog::get_level());
  logger->flush_on(spdlog::level::trace);
  spdlog::register_logger(logger);
  return logger;
}

}  // namespace tokens
