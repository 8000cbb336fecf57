#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/support/child_process.h"
#include "tokens/v1/sync.grpc.pb.h"
#include "tokens/v1/tokens.grpc.pb.h"

// Integration-test support for the token-service: the real binary against a
// fresh database on the test binary's private PostgreSQL, over real gRPC.
namespace tokens::testing {

// Path of the token-service binary under test.
std::string TokenServiceBinary();

// Runs `token-service <args...>` to completion.
absl::StatusOr<ChildProcess::Result> RunTokenService(std::vector<std::string> args);

// A running `token-service` listening on 127.0.0.1 at a port it chose.
class TokenServiceProcess {
 public:
  // Starts the server and waits for its ready file.
  static absl::StatusOr<std::unique_ptr<TokenServiceProcess>> Start(
      const std::string& database_url, std::vector<std::string> extra_args = {});

  const std::string& address() const { return address_; }
  // host:port of the Prometheus endpoint (started on a free port).
  const std::string& metrics_address() const { return metrics_address_; }
  // host:port of TokenSync's own listener with --sync_listen, else "".
  const std::string& sync_address() const { return sync_address_; }
  // host:port of the HTTP face (started on a free port), or "" if a flag
  // turned it off.
  const std::string& http_address() const { return http_address_; }
  ChildProcess& process() { return *process_; }
  std::shared_ptr<grpc::Channel> NewChannel() const;

 private:
  std::unique_ptr<ChildProcess> process_;
  std::string address_;
  std::string metrics_address_;
  std::string sync_address_;
  std::string http_address_;
};

// The UTC date `days` from today, as YYYY-MM-DD.
std::string DateFromToday(int days);

// The google.rpc.BadRequest field violations carried by `status`, as
// "field" strings, in order; empty if there are none.
std::vector<std::string> ViolatedFields(const grpc::Status& status);

// Base fixture: a fresh database, migrated; admin user "admin" bootstrapped
// (its token in admin_token_); token-service running; stubs of its
// TokenService, UserService and TokenSync connected.
class TokenServiceTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Runs token-service again on the same database with `flags`, and
  // reconnects the stubs to it.
  void RestartService(std::vector<std::string> flags);

  // A ClientContext carrying "authorization: Bearer <token>".
  static std::unique_ptr<grpc::ClientContext> As(const std::string& token);

  // Creates a user with `role` (as admin) and returns a fresh token of theirs.
  std::string NewUserWithToken(const std::string& user_id, v1::Role role);

  // Creates a token for the owner of `token`; fails the test on error.
  v1::CreateTokenResponse MustCreate(const std::string& token, const std::string& name,
                                     int days_ahead = 30);

  // `count` live tokens of a user "bulk", written straight into the
  // database (no feed version bookkeeping beyond the columns' defaults), for
  // tests that need a snapshot far larger than an HTTP/2 flow-control window.
  void LoadBulkTokens(int count);

  // Runs SQL on the test database and returns the first column of each row.
  std::vector<std::string> Sql(const std::string& query);

  // Row counts and a digest of every row of every table: equal before and
  // after a call means the call wrote nothing.
  std::string DatabaseDigest();

  std::string database_url_;
  std::string admin_token_;
  std::unique_ptr<TokenServiceProcess> service_;
  std::unique_ptr<v1::TokenService::Stub> tokens_;
  std::unique_ptr<v1::UserService::Stub> users_;
  std::unique_ptr<v1::TokenSync::Stub> sync_;
};

}  // namespace tokens::testing
