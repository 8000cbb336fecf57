#include "common/log/library_logs.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "common/log/json_logger.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/stubs/logging.h"
#include "google/protobuf/util/json_util.h"
#include "grpc/support/log.h"
#include "gtest/gtest.h"

namespace tokens {
namespace {

using ::testing::HasSubstr;

// What the process writes to its stderr while `write` runs: the JSON
// logger writes to the file descriptor, so the test points it at a file.
template <typename Write>
std::string CaptureStderr(Write write) {
  std::fflush(stderr);
  char path[] = "/tmp/library_logs_test_XXXXXX";
  const int file = mkstemp(path);
  const int saved = dup(STDERR_FILENO);
  dup2(file, STDERR_FILENO);
  write();
  std::fflush(stderr);
  dup2(saved, STDERR_FILENO);
  close(saved);
  close(file);
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  unlink(path);
  return text.str();
}

google::protobuf::Struct ParseJson(const std::string& line) {
  google::protobuf::Struct object;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(line, &object).ok()) << line;
  return object;
}

TEST(LibraryLogsTest, ProtobufAndGrpcWriteJsonLinesThroughTheirOwnLoggers) {
  ASSERT_TRUE(InitLogging("info"));
  RouteLibraryLogsToJson();
  const std::string out = CaptureStderr([] {
    GOOGLE_LOG(ERROR) << "protobuf says \"no\"\nover two lines";
    GOOGLE_LOG(WARNING) << "a protobuf warning";
    gpr_log(GPR_ERROR, "grpc says %d", 42);
  });
  const std::vector<std::string> lines = absl::StrSplit(out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 3u) << out;

  google::protobuf::Struct first = ParseJson(lines[0]);
  EXPECT_EQ(first.fields().at("logger").string_value(), "protobuf");
  EXPECT_EQ(first.fields().at("level").string_value(), "error");
  EXPECT_THAT(first.fields().at("msg").string_value(),
              HasSubstr("protobuf says \"no\"\nover two lines"));

  EXPECT_EQ(ParseJson(lines[1]).fields().at("level").string_value(), "warning");

  google::protobuf::Struct third = ParseJson(lines[2]);
  EXPECT_EQ(third.fields().at("logger").string_value(), "grpc");
  EXPECT_EQ(third.fields().at("level").string_value(), "error");
  EXPECT_THAT(third.fields().at("msg").string_value(), HasSubstr("grpc says 42"));
}

TEST(LibraryLogsTest, WhatSpdlogCannotFormatIsAJsonLineToo) {
  ASSERT_TRUE(InitLogging("info"));
  const std::string out = CaptureStderr(
      [] { Logger("careless")->info(fmt::runtime("two fields {} {}, one argument"), 1); });
  const std::vector<std::string> lines = absl::StrSplit(out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 1u) << out;
  google::protobuf::Struct line = ParseJson(lines[0]);
  EXPECT_EQ(line.fields().at("logger").string_value(), "careless");
  EXPECT_EQ(line.fields().at("level").string_value(), "error");
  EXPECT_THAT(line.fields().at("msg").string_value(), HasSubstr("cannot log: "));
}

}  // namespace
}  // namespace tokens
