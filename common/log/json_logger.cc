#include "common/log/json_logger.h"

#include <cstdio>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "spdlog/formatter.h"
#include "spdlog/sinks/stdout_sinks.h"
#include "spdlog/spdlog.h"

namespace tokens {
namespace {

class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const absl::Time ts = absl::FromChrono(msg.time);
    std::string line = absl::StrCat(
        R"({"ts":")", absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", ts, absl::UTCTimeZone()),
        R"(","level":")", spdlog::level::to_string_view(msg.level).data(), R"(","logger":")",
        JsonEscape(absl::string_view(msg.logger_name.data(), msg.logger_name.size())),
        R"(","msg":")", JsonEscape(absl::string_view(msg.payload.data(), msg.payload.size())),
        "\"}\n");
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

}  // namespace

std::string JsonEscape(absl::string_view text) {
  std::string out;
  out.reserve(text.size() + 8);
  for (char c : text) {
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
  logger->set_level(spdlog::get_level());
  logger->flush_on(spdlog::level::trace);
  spdlog::register_logger(logger);
  return logger;
}

}  // namespace tokens
