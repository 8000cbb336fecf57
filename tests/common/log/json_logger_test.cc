#include "common/log/json_logger.h"

#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/text/utf8.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "spdlog/details/log_msg.h"
#include "spdlog/logger.h"
#include "spdlog/sinks/ostream_sink.h"

namespace tokens {
namespace {

using ::testing::ElementsAre;
using ::testing::Key;

// A strict parser for exactly what the formatter claims to write: one JSON
// object whose values are all strings. Independent of the code under test,
// so a bad escape shows up as a parse failure or a changed value.
class FlatJsonParser {
 public:
  explicit FlatJsonParser(absl::string_view text) : text_(text) {}

  std::optional<std::map<std::string, std::string>> Parse() {
    std::map<std::string, std::string> object;
    if (!Consume('{')) return std::nullopt;
    if (Consume('}')) return Done(object);
    do {
      std::optional<std::string> key = String();
      if (!key.has_value() || !Consume(':')) return std::nullopt;
      std::optional<std::string> value = String();
      if (!value.has_value() || !object.emplace(*key, *value).second) return std::nullopt;
    } while (Consume(','));
    if (!Consume('}')) return std::nullopt;
    return Done(object);
  }

 private:
  std::optional<std::map<std::string, std::string>> Done(
      const std::map<std::string, std::string>& object) {
    if (pos_ != text_.size()) return std::nullopt;
    return object;
  }

  bool Consume(char c) {
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  static int HexValue(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  // Only \u0000-\u007f and \ufffd are needed: the escaper never writes more.
  std::optional<std::string> String() {
    if (!Consume('"')) return std::nullopt;
    std::string out;
    while (pos_ < text_.size()) {
      const char c = text_[pos_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) return std::nullopt;  // raw control
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= text_.size()) return std::nullopt;
      switch (const char e = text_[pos_++]; e) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          if (pos_ + 4 > text_.size()) return std::nullopt;
          int cp = 0;
          for (int i = 0; i < 4; ++i) {
            const int v = HexValue(text_[pos_++]);
            if (v < 0) return std::nullopt;
            cp = cp * 16 + v;
          }
          if (cp == 0xfffd) {
            out += "\xEF\xBF\xBD";  // what the escaper writes for bytes that are not UTF-8
            break;
          }
          if (cp > 0x7f) return std::nullopt;
          out += static_cast<char>(cp);
          break;
        }
        default:
          return std::nullopt;
      }
    }
    return std::nullopt;  // unterminated
  }

  absl::string_view text_;
  size_t pos_ = 0;
};

std::optional<std::map<std::string, std::string>> ParseFlatJson(absl::string_view text) {
  return FlatJsonParser(text).Parse();
}

// Text and its escaped form.
const std::pair<std::string, std::string> kEscapes[] = {
    {"", ""},
    {"plain text", "plain text"},
    {"say \"hi\"", R"(say \"hi\")"},
    {R"(C:\dir)", R"(C:\\dir)"},
    {"\\\"", R"(\\\")"},
    {"a\nb", R"(a\nb)"},
    {"a\rb", R"(a\rb)"},
    {"a\tb", R"(a\tb)"},
    // Other control characters as \u00XX.
    {std::string(1, '\0'), R"(\u0000)"},
    {"\x01", R"(\u0001)"},
    {"\b", R"(\u0008)"},
    {"\f", R"(\u000c)"},
    {"\x1b[31m", R"(\u001b[31m)"},
    {"\x1f", R"(\u001f)"},
    // DEL and '/' are legal inside a JSON string.
    {"\x7f", "\x7f"},
    {"a/b", "a/b"},
    // UTF-8 passes through untouched.
    {"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80", "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"},
    {"\xE2\x80\xA6", "\xE2\x80\xA6"},
    // Bytes that are not UTF-8 (a lone continuation byte, a truncated
    // sequence, an overlong '/', a surrogate, 0xFF) become U+FFFD each.
    {"a\x80z", "a\\ufffdz"},
    {"\xE2\x82", "\\ufffd\\ufffd"},
    {"\xC0\xAF", "\\ufffd\\ufffd"},
    {"\xED\xA0\x80", "\\ufffd\\ufffd\\ufffd"},
    {"caf\xC3\xA9\xFF", "caf\xC3\xA9\\ufffd"},
    // A log injection attempt stays on one line.
    {"x\"}\n{\"level\":\"critical", R"(x\"}\n{\"level\":\"critical)"}};

TEST(JsonEscapeTest, Table) {
  for (const auto& [input, escaped] : kEscapes) {
    EXPECT_EQ(JsonEscape(input), escaped) << absl::CEscape(input);
  }
}

TEST(JsonEscapeTest, RoundTripsThroughAJsonParser) {
  for (const auto& entry : kEscapes) {
    const std::string& input = entry.first;
    std::optional<std::map<std::string, std::string>> parsed =
        ParseFlatJson("{\"k\":\"" + JsonEscape(input) + "\"}");
    ASSERT_TRUE(parsed.has_value()) << absl::CEscape(input);
    // What is not UTF-8 comes back as U+FFFD.
    if (IsValidUtf8(input)) {
      EXPECT_EQ(parsed->at("k"), input) << absl::CEscape(input);
    }
    EXPECT_TRUE(IsValidUtf8(parsed->at("k"))) << absl::CEscape(input);
  }
}

// 2026-11-28T17:35:22.123456Z
absl::Time SampleTime() {
  return absl::FromCivil(absl::CivilSecond(2026, 11, 28, 17, 35, 22), absl::UTCTimeZone()) +
         absl::Microseconds(123456);
}

std::string Format(absl::Time time, spdlog::level::level_enum level, absl::string_view logger,
                   absl::string_view payload) {
  spdlog::details::log_msg msg(absl::ToChronoTime(time), spdlog::source_loc{},
                               spdlog::string_view_t(logger.data(), logger.size()), level,
                               spdlog::string_view_t(payload.data(), payload.size()));
  spdlog::memory_buf_t buf;
  NewJsonFormatter()->format(msg, buf);
  return std::string(buf.data(), buf.size());
}

// The object on one formatted line, which must end in its only newline.
std::optional<std::map<std::string, std::string>> ParseLine(const std::string& line) {
  if (line.empty() || line.find('\n') != line.size() - 1) return std::nullopt;
  return ParseFlatJson(absl::string_view(line).substr(0, line.size() - 1));
}

TEST(JsonFormatterTest, WritesTheDocumentedLine) {
  EXPECT_EQ(Format(SampleTime(), spdlog::level::info, "db", "hello"),
            R"({"ts":"2026-11-28T17:35:22.123456Z","level":"info","logger":"db","msg":"hello"})"
            "\n");
}

TEST(JsonFormatterTest, TimestampIsUtcWithMicroseconds) {
  const absl::Time whole_second =
      absl::FromCivil(absl::CivilSecond(1969, 12, 31, 23, 59, 59), absl::UTCTimeZone());
  std::optional<std::map<std::string, std::string>> parsed =
      ParseLine(Format(whole_second, spdlog::level::info, "x", "y"));
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->at("ts"), "1969-12-31T23:59:59.000000Z");
}

TEST(JsonFormatterTest, EscapesLoggerNameAndMessageOntoOneLine) {
  const std::string nasty = "line1\nline2\r\t\"quoted\" back\\slash \x01 caf\xC3\xA9";
  const std::string line = Format(SampleTime(), spdlog::level::warn, "we\"ird\nlogger", nasty);
  std::optional<std::map<std::string, std::string>> parsed = ParseLine(line);
  ASSERT_TRUE(parsed.has_value()) << line;
  EXPECT_EQ(parsed->at("logger"), "we\"ird\nlogger");
  EXPECT_EQ(parsed->at("msg"), nasty);
  EXPECT_EQ(parsed->at("level"), "warning");
}

TEST(JsonFormatterTest, NamesEveryLevel) {
  const std::vector<std::pair<spdlog::level::level_enum, std::string>> levels = {
      {spdlog::level::trace, "trace"}, {spdlog::level::debug, "debug"},
      {spdlog::level::info, "info"},   {spdlog::level::warn, "warning"},
      {spdlog::level::err, "error"},   {spdlog::level::critical, "critical"}};
  for (const auto& [level, name] : levels) {
    std::optional<std::map<std::string, std::string>> parsed =
        ParseLine(Format(SampleTime(), level, "x", "y"));
    ASSERT_TRUE(parsed.has_value()) << name;
    EXPECT_EQ(parsed->at("level"), name);
  }
}

// The formatter behind a real logger and sink: every call is exactly one
// line, and every line is a JSON object with the documented keys.
TEST(JsonFormatterTest, EveryLoggedLineIsAJsonObject) {
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  sink->set_formatter(NewJsonFormatter());
  spdlog::logger logger("component", sink);
  logger.set_level(spdlog::level::trace);

  const absl::string_view status_message = "no such \"token\"\n";
  logger.info("plain");
  logger.warn("with absl::string_view: {}", status_message);
  logger.error("multi\nline\n");
  logger.debug("{} {}", 42, "\x02");
  logger.flush();

  std::vector<std::string> lines = absl::StrSplit(out.str(), '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 4u) << out.str();
  std::vector<std::string> messages;
  for (const std::string& line : lines) {
    std::optional<std::map<std::string, std::string>> parsed = ParseFlatJson(line);
    ASSERT_TRUE(parsed.has_value()) << line;
    EXPECT_THAT(*parsed, ElementsAre(Key("level"), Key("logger"), Key("msg"), Key("ts")));
    EXPECT_EQ(parsed->at("logger"), "component");
    EXPECT_TRUE(
        std::regex_match(parsed->at("ts"), std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)")))
        << parsed->at("ts");
    messages.push_back(parsed->at("msg"));
  }
  EXPECT_THAT(messages, ElementsAre("plain", "with absl::string_view: no such \"token\"\n",
                                    "multi\nline\n", "42 \x02"));
}

// The lines a logger writes through the JSON formatter, each without its
// "ts" (which the clock decides).
class LogEventTest : public ::testing::Test {
 protected:
  LogEventTest() : sink_(std::make_shared<spdlog::sinks::ostream_sink_mt>(out_)) {
    sink_->set_formatter(NewJsonFormatter());
    logger_.set_level(spdlog::level::info);
  }

  std::vector<std::string> LinesAfterTs() {
    std::vector<std::string> lines = absl::StrSplit(out_.str(), '\n', absl::SkipEmpty());
    for (std::string& line : lines) {
      EXPECT_TRUE(std::regex_match(line, std::regex(R"(\{"ts":"[^"]+",.*\})"))) << line;
      line = line.substr(line.find("\"level\""));
    }
    return lines;
  }

  std::ostringstream out_;
  std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink_;
  spdlog::logger logger_{"rpc", sink_};
};

TEST_F(LogEventTest, FieldsAreTypedKeysOfTheLine) {
  const std::string method = "CreateToken";
  LogEvent(logger_, spdlog::level::info, method,
           {{"method", method},
            {"code", "OK"},
            {"duration_ms", 0.703125},
            {"attempt", 3},
            {"version", int64_t{-7}},
            {"big", std::numeric_limits<uint64_t>::max()},
            {"cached", true},
            {"ratio", std::numeric_limits<double>::quiet_NaN()}});
  EXPECT_THAT(LinesAfterTs(),
              ElementsAre(R"("level":"info","logger":"rpc","msg":"CreateToken",)"
                          R"("method":"CreateToken","code":"OK","duration_ms":0.703125,)"
                          R"("attempt":3,"version":-7,"big":18446744073709551615,)"
                          R"("cached":true,"ratio":null})"));
}

TEST_F(LogEventTest, ValuesAreEscapedAndRedactedAndCannotAddKeys) {
  RedactFromLogs("Zq8Wfield%secret");
  LogFields fields;
  fields.Add("error", "x\",\"level\":\"critical\"}\n{\"a\":\"b")
      .Add("peer", "db Zq8Wfield%secret postgresql://u:pw@h/x")
      .Add("msg", "a key of the line's own");
  LogEvent(logger_, spdlog::level::warn, "bad \"news\"", fields);
  const std::vector<std::string> lines = LinesAfterTs();
  ASSERT_EQ(lines.size(), 1u) << out_.str();
  EXPECT_EQ(lines[0], R"("level":"warning","logger":"rpc","msg":"bad \"news\"",)"
                      R"("error":"x\",\"level\":\"critical\"}\n{\"a\":\"b",)"
                      R"("peer":"db [redacted] postgresql://u:[redacted]@h/x",)"
                      R"("msg_":"a key of the line's own"})");
  std::optional<std::map<std::string, std::string>> parsed =
      ParseFlatJson(out_.str().substr(0, out_.str().size() - 1));
  ASSERT_TRUE(parsed.has_value()) << out_.str();
  EXPECT_EQ(parsed->at("level"), "warning");
}

TEST_F(LogEventTest, NothingIsWrittenBelowTheLevelAndLaterLinesHaveNoFields) {
  LogEvent(logger_, spdlog::level::debug, "quiet", {{"method", "Check"}});
  LogEvent(logger_, spdlog::level::info, "loud", {{"method", "Check"}});
  logger_.info("plain {}", 1);
  EXPECT_THAT(LinesAfterTs(),
              ElementsAre(R"("level":"info","logger":"rpc","msg":"loud","method":"Check"})",
                          R"("level":"info","logger":"rpc","msg":"plain 1"})"));
}

TEST(RedactSecretsTest, RegisteredSecretsNeverReachALine) {
  RedactFromLogs("Zq8Wregistered%secret");
  EXPECT_EQ(RedactSecrets("libpq: invalid percent-encoded token: \"Zq8Wregistered%secret\""),
            "libpq: invalid percent-encoded token: \"[redacted]\"");
  const std::string line = Format(SampleTime(), spdlog::level::warn, "db",
                                  "twice Zq8Wregistered%secretZq8Wregistered%secret");
  EXPECT_THAT(line, ::testing::Not(::testing::HasSubstr("Zq8W")));
  EXPECT_THAT(line, ::testing::HasSubstr("twice [redacted][redacted]"));
}

TEST(RedactSecretsTest, PasswordsOfConnectionStringsAreRemoved) {
  const std::pair<std::string, std::string> cases[] = {
      {"connect to postgresql://svc:s3cret@db:5432/tokens failed",
       "connect to postgresql://svc:[redacted]@db:5432/tokens failed"},
      // The user info runs to the authority's last '@'.
      {"postgres://svc:p@ss@db/x", "postgres://svc:[redacted]@db/x"},
      {"\"postgresql://a:b@h\" and redis://:pw@cache",
       "\"postgresql://a:[redacted]@h\" and "
       "redis://:[redacted]@cache"},
      {"host=db user=svc password=s3cret dbname=t",
       "host=db user=svc password=[redacted] dbname=t"},
      {"host=db PASSWORD='with space' x", "host=db PASSWORD=[redacted] x"},
      {"postgresql://svc@db/t?sslmode=require&password=s3cret&x=1",
       "postgresql://svc@db/t?sslmode=require&password=[redacted]&x=1"},
      {"password=", "password=[redacted]"},
      // Nothing secret: left alone.
      {"postgresql://svc@db:5432/tokens", "postgresql://svc@db:5432/tokens"},
      {"https://example.com/a:b@c", "https://example.com/a:b@c"},
      {"user svc@example.com: ok", "user svc@example.com: ok"},
  };
  for (const auto& [input, redacted] : cases) {
    EXPECT_EQ(RedactSecrets(input), redacted) << input;
  }
}

}  // namespace
}  // namespace tokens
