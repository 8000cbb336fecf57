#include "common/process/ready_file.h"

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tokens {
namespace {

using ::testing::HasSubstr;

// A private directory, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "ready-file-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

bool Exists(const std::string& path) { return std::filesystem::exists(path); }

TEST(ReadyFileTest, TheTextIsOneJsonObjectWithThePidAndTheAddressesByName) {
  const ReadyFileContents contents{4242, {{"grpc", "127.0.0.1:40123"}, {"metrics", "[::1]:9101"}}};
  EXPECT_EQ(FormatReadyFile(contents),
            "{\"pid\":4242,\"grpc\":\"127.0.0.1:40123\",\"metrics\":\"[::1]:9101\"}\n");
  absl::StatusOr<ReadyFileContents> parsed = ParseReadyFile(FormatReadyFile(contents));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(*parsed, contents);
}

TEST(ReadyFileTest, ParseRefusesWhatFormatDoesNotWrite) {
  for (const char* text : {"", "{}", "{\"grpc\":\"a:1\"}", "{\"pid\":\"12\"}", "{\"pid\":-3}",
                           "{\"pid\":1,\"grpc\":1}", "{\"pid\":1,grpc:\"a:1\"}", "[\"pid\",1]",
                           "{\"pid\":1,\"grpc\":\"\"}"}) {
    EXPECT_EQ(ParseReadyFile(text).status().code(), absl::StatusCode::kInvalidArgument) << text;
  }
}

TEST(ReadyFileTest, AnnounceWritesTheFileWithThisPidAndWithdrawRemovesIt) {
  TempDir dir;
  const std::string path = dir.File("service.ready");
  ReadyFile ready(path);
  ready.SetAddress("grpc", "127.0.0.1:50051");
  EXPECT_FALSE(Exists(path)) << "not ready yet";
  ASSERT_TRUE(ready.Announce().ok());

  absl::StatusOr<ReadyFileContents> read = ReadReadyFile(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->pid, ::getpid());
  EXPECT_EQ(read->addresses, (std::map<std::string, std::string>{{"grpc", "127.0.0.1:50051"}}));
  EXPECT_FALSE(Exists(path + ".tmp"));

  ready.Withdraw();
  EXPECT_FALSE(Exists(path));
  EXPECT_EQ(ReadReadyFile(path).status().code(), absl::StatusCode::kNotFound);
}

TEST(ReadyFileTest, AnAnnounceAfterWithdrawDoesNotWriteTheFileAgain) {
  // A sidecar may finish its first snapshot while it drains: it must not
  // say "ready" then.
  TempDir dir;
  const std::string path = dir.File("sidecar.ready");
  ReadyFile ready(path);
  ready.Withdraw();
  EXPECT_TRUE(ready.Announce().ok());
  EXPECT_FALSE(Exists(path));
}

TEST(ReadyFileTest, TheDestructorRemovesTheFile) {
  TempDir dir;
  const std::string path = dir.File("gone.ready");
  {
    ReadyFile ready(path);
    ready.SetAddress("grpc", "127.0.0.1:1");
    ASSERT_TRUE(ready.Announce().ok());
    ASSERT_TRUE(Exists(path));
  }
  EXPECT_FALSE(Exists(path));
}

TEST(ReadyFileTest, ASecondAnnounceReplacesTheFileWhole) {
  TempDir dir;
  const std::string path = dir.File("twice.ready");
  std::ofstream(path) << "left by a crashed process";
  ReadyFile ready(path);
  ready.SetAddress("grpc", "127.0.0.1:1");
  ASSERT_TRUE(ready.Announce().ok());
  ready.SetAddress("metrics", "127.0.0.1:2");
  ASSERT_TRUE(ready.Announce().ok());
  absl::StatusOr<ReadyFileContents> read = ReadReadyFile(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->addresses.size(), 2u);
}

TEST(ReadyFileTest, AnEmptyPathWritesNothing) {
  ReadyFile ready("");
  ready.SetAddress("grpc", "127.0.0.1:1");
  EXPECT_TRUE(ready.Announce().ok());
  ready.Withdraw();
}

TEST(ReadyFileTest, AnnounceFailsWhenTheDirectoryIsGone) {
  std::string path;
  {
    TempDir dir;
    path = dir.File("x.ready");
  }
  ReadyFile ready(path);
  const absl::Status status = ready.Announce();
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(status.message(), HasSubstr(path + ".tmp"));
}

TEST(ReadyFileTest, ThePathMustBeAFileInAWritableDirectory) {
  TempDir dir;
  EXPECT_TRUE(CheckReadyFilePath("").ok());
  EXPECT_TRUE(CheckReadyFilePath(dir.File("a.ready")).ok());
  EXPECT_EQ(CheckReadyFilePath(dir.File("missing/a.ready")).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CheckReadyFilePath(dir.File("")).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tokens
