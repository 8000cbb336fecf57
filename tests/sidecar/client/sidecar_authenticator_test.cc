#include "user_tokens/auth_client/sidecar_authenticator.h"

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "echo.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sidecar/transport/authenticator_service.h"
#include "tests/sidecar/transport/fake_verifier.h"

namespace tokens::auth_client {
namespace {

using sidecar::AuthenticatorService;
using sidecar::testing::Allow;
using sidecar::testing::Deny;
using sidecar::testing::kSampleTokenId;
using sidecar::testing::LocalServer;
using sidecar::testing::MockTokenVerifier;
using ::testing::_;
using ::testing::Eq;
using ::testing::Optional;
using ::testing::Return;
using tokens::DenyReason;
using tokens::Role;
namespace echo = examples::echo::v1;

constexpr char kBearer[] = "Bearer utk_3q8ZbXw0RkT2vLmN5pQs7YdHcJfG9aUe1iOo0z4Kx";

// What a microservice's handler does once the helper let a call through:
// remembers the caller. An empty message is refused by the handler itself,
// to show that a handler's absl::Status reaches the client.
class Recorder {
 public:
  absl::Status Handle(const Caller& caller, const echo::EchoRequest* request,
                      echo::EchoResponse* response) {
    {
      absl::MutexLock lock(&mu_);
      callers_.push_back(caller);
    }
    if (request->message().empty()) return absl::InvalidArgumentError("message is empty");
    response->set_message(request->message());
    response->set_user_id(caller.user_id);
    return absl::OkStatus();
  }

  std::vector<Caller> callers() const {
    absl::MutexLock lock(&mu_);
    return callers_;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<Caller> callers_ ABSL_GUARDED_BY(mu_);
};

// The same microservice on each of gRPC's server APIs: the synchronous one
// (Authenticate blocks the handler's thread) and the callback one
// (AuthenticateAsync; the reactor finishes when the sidecar answers).
class SyncEchoService final : public echo::Echo::Service {
 public:
  SyncEchoService(const SidecarAuthenticator& auth, Recorder& recorder,
                  const Requirements& required)
      : auth_(auth), recorder_(recorder), required_(required) {}

  grpc::Status Echo(grpc::ServerContext* ctx, const echo::EchoRequest* req,
                    echo::EchoResponse* resp) override {
    const auto handler = [this](const Caller& caller, const echo::EchoRequest* request,
                                echo::EchoResponse* response) {
      return recorder_.Handle(caller, request, response);
    };
    // Both overloads: without requirements, and with them.
    if (required_.scopes.empty()) return Authenticated(auth_, ctx, req, resp, handler);
    return Authenticated(auth_, ctx, req, resp, required_, handler);
  }

 private:
  const SidecarAuthenticator& auth_;
  Recorder& recorder_;
  const Requirements& required_;
};

class CallbackEchoService final : public echo::Echo::CallbackService {
 public:
  CallbackEchoService(const SidecarAuthenticator& auth, Recorder& recorder,
                      const Requirements& required)
      : auth_(auth), recorder_(recorder), required_(required) {}

  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* ctx, const echo::EchoRequest* req,
                                 echo::EchoResponse* resp) override {
    const auto handler = [this](const Caller& caller, const echo::EchoRequest* request,
                                echo::EchoResponse* response) {
      return recorder_.Handle(caller, request, response);
    };
    // Both overloads: without requirements, and with them.
    if (required_.scopes.empty()) return Authenticated(auth_, ctx, req, resp, handler);
    return Authenticated(auth_, ctx, req, resp, required_, handler);
  }

 private:
  const SidecarAuthenticator& auth_;
  Recorder& recorder_;
  const Requirements& required_;
};

enum class ServerApi { kSync, kCallback };

// Every case runs against a service on each API, both behind the real
// Authenticator service of the sidecar (with a mock verifier) over real gRPC.
class SidecarAuthenticatorTest : public ::testing::TestWithParam<ServerApi> {
 protected:
  void SetUp() override {
    sidecar_ = std::make_unique<LocalServer>(std::vector<grpc::Service*>{&authenticator_});
    // Generous: the assertions are about outcomes, never about time.
    auth_ = std::make_unique<SidecarAuthenticator>(
        sidecar_->NewChannel(), SidecarAuthenticator::Options{absl::Seconds(30)});
    if (GetParam() == ServerApi::kSync) {
      echo_service_ = std::make_unique<SyncEchoService>(*auth_, recorder_, required_);
    } else {
      echo_service_ = std::make_unique<CallbackEchoService>(*auth_, recorder_, required_);
    }
    echo_server_ = std::make_unique<LocalServer>(std::vector<grpc::Service*>{echo_service_.get()});
    echo_ = echo::Echo::NewStub(echo_server_->NewChannel());
  }

  void TearDown() override {
    echo_server_->Stop();
    sidecar_->Stop();
  }

  grpc::Status CallEcho(std::optional<std::string> authorization, echo::EchoResponse* response,
                        const std::string& message = "hello") {
    grpc::ClientContext ctx;
    if (authorization.has_value()) ctx.AddMetadata("authorization", *authorization);
    echo::EchoRequest request;
    request.set_message(message);
    return echo_->Echo(&ctx, request, response);
  }

  ::testing::StrictMock<MockTokenVerifier> verifier_;
  WorkerPool lookups_{2, 16};
  AuthenticatorService authenticator_{verifier_, lookups_};
  std::unique_ptr<LocalServer> sidecar_;
  std::unique_ptr<SidecarAuthenticator> auth_;
  Recorder recorder_;
  Requirements required_;  // what the echo service asks of every call
  std::unique_ptr<grpc::Service> echo_service_;
  std::unique_ptr<LocalServer> echo_server_;
  std::unique_ptr<echo::Echo::Stub> echo_;
};

INSTANTIATE_TEST_SUITE_P(BothServerApis, SidecarAuthenticatorTest,
                         ::testing::Values(ServerApi::kSync, ServerApi::kCallback),
                         [](const ::testing::TestParamInfo<ServerApi>& api) {
                           return api.param == ServerApi::kSync ? "Sync" : "Callback";
                         });

TEST_P(SidecarAuthenticatorTest, GoodTokenReachesTheHandlerWithTheCaller) {
  // The echo service's caller dialled from 127.0.0.1; that is the address
  // the sidecar records.
  EXPECT_CALL(verifier_, CheckHeader(Optional(Eq(kBearer)), Eq("127.0.0.1")))
      .WillOnce(Return(Allow("alice", Role::kService)));

  echo::EchoResponse response;
  const grpc::Status status = CallEcho(kBearer, &response);

  ASSERT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
  EXPECT_EQ(response.message(), "hello");
  EXPECT_EQ(response.user_id(), "alice");
  const std::vector<Caller> callers = recorder_.callers();
  ASSERT_EQ(callers.size(), 1u);
  EXPECT_EQ(callers[0].user_id, "alice");
  EXPECT_EQ(callers[0].role, "SERVICE");
  EXPECT_EQ(callers[0].token_id, kSampleTokenId);
  EXPECT_EQ(callers[0].expires_on, "2027-04-11");
  EXPECT_TRUE(callers[0].scopes.empty());
}

TEST_P(SidecarAuthenticatorTest, ATokenWithTheRequiredScopeReachesTheHandlerWithItsScopes) {
  required_.scopes = {"things:read"};
  EXPECT_CALL(verifier_, CheckHeader(Optional(Eq(kBearer)), _))
      .WillOnce(Return(sidecar::testing::AllowScoped({"things:read", "things:write"})));

  echo::EchoResponse response;
  const grpc::Status status = CallEcho(kBearer, &response);

  ASSERT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
  const std::vector<Caller> callers = recorder_.callers();
  ASSERT_EQ(callers.size(), 1u);
  EXPECT_EQ(callers[0].scopes, (std::vector<std::string>{"things:read", "things:write"}));
  EXPECT_EQ(callers[0].expires_on, "2027-04-11");
}

TEST_P(SidecarAuthenticatorTest, ATokenLackingARequiredScopeIsPermissionDeniedAndNeverHandled) {
  required_.scopes = {"things:read", "things:write"};
  EXPECT_CALL(verifier_, CheckHeader(Optional(Eq(kBearer)), _))
      .WillOnce(Return(sidecar::testing::AllowScoped({"things:read"})));

  echo::EchoResponse response;
  const grpc::Status status = CallEcho(kBearer, &response);

  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << status.error_message();
  EXPECT_EQ(status.error_message(), "insufficient_scope: token lacks things:write");
  EXPECT_TRUE(recorder_.callers().empty());
}

TEST_P(SidecarAuthenticatorTest, ATokenWithoutScopesMeetsAnyRequirement) {
  required_.scopes = {"things:write"};
  EXPECT_CALL(verifier_, CheckHeader(Optional(Eq(kBearer)), _)).WillOnce(Return(Allow()));

  echo::EchoResponse response;
  const grpc::Status status = CallEcho(kBearer, &response);

  ASSERT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
  ASSERT_EQ(recorder_.callers().size(), 1u);
  EXPECT_TRUE(recorder_.callers()[0].scopes.empty());
}

TEST_P(SidecarAuthenticatorTest, ARequiredScopeThatIsNoScopeNameIsInternalAndNeverAllowed) {
  required_.scopes = {"things:read things:write"};
  // StrictMock: the sidecar refuses the request before any check.

  echo::EchoResponse response;
  const grpc::Status status = CallEcho(kBearer, &response);

  EXPECT_EQ(status.error_code(), grpc::StatusCode::INTERNAL) << status.error_message();
  EXPECT_THAT(status.error_message(), ::testing::HasSubstr("required_scopes"));
  EXPECT_TRUE(recorder_.callers().empty());
}

TEST_P(SidecarAuthenticatorTest, HeaderValueOverloadsTakeRequirementsToo) {
  EXPECT_CALL(verifier_, CheckHeader(Optional(Eq(kBearer)), Eq("192.0.2.10")))
      .Times(2)
      .WillRepeatedly(Return(sidecar::testing::AllowScoped({"things:read"})));

  const absl::StatusOr<Caller> read =
      auth_->Authenticate(kBearer, "192.0.2.10", Requirements{{"things:read"}});
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->scopes, std::vector<std::string>{"things:read"});

  absl::Notification done;
  absl::Status write;
  auth_->AuthenticateAsync(kBearer, "192.0.2.10", Requirements{{"things:write"}},
                           [&](absl::StatusOr<Caller> caller) {
                             write = caller.status();
                             done.Notify();
                           });
  done.WaitForNotification();
  EXPECT_EQ(write.code(), absl::StatusCode::kPermissionDenied) << write;
}

TEST_P(SidecarAuthenticatorTest, HandlerErrorReachesTheClient) {
  EXPECT_CALL(verifier_, CheckHeader(Optional(Eq(kBearer)), _)).WillOnce(Return(Allow()));

  echo::EchoResponse response;
  const grpc::Status status = CallEcho(kBearer, &response, "");

  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "message is empty");
  EXPECT_EQ(recorder_.callers().size(), 1u);
}

TEST_P(SidecarAuthenticatorTest, BadTokenIsUnauthenticatedAndTheHandlerNeverRuns) {
  EXPECT_CALL(verifier_, CheckHeader(Optional(Eq(kBearer)), _))
      .WillOnce(Return(Deny(DenyReason::kRevoked)));

  echo::EchoResponse response;
  const grpc::Status status = CallEcho(kBearer, &response);

  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(status.error_message(), "revoked: token revoked");
  EXPECT_TRUE(recorder_.callers().empty());
  EXPECT_EQ(response.user_id(), "");
}

TEST_P(SidecarAuthenticatorTest, NoMetadataIsMissing) {
  EXPECT_CALL(verifier_, CheckHeader(Eq(std::nullopt), _))
      .WillOnce(Return(Deny(DenyReason::kMissing)));

  echo::EchoResponse response;
  const grpc::Status status = CallEcho(std::nullopt, &response);

  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(status.error_message(), "missing: missing bearer token");
  EXPECT_TRUE(recorder_.callers().empty());
}

TEST_P(SidecarAuthenticatorTest, SidecarDownFailsClosed) {
  sidecar_->Stop();
  // StrictMock: the verifier is never asked.

  echo::EchoResponse response;
  const grpc::Status status = CallEcho(kBearer, &response);

  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_TRUE(recorder_.callers().empty());
  EXPECT_EQ(response.user_id(), "");
}

TEST_P(SidecarAuthenticatorTest, HeaderValueOverloadPassesTheGivenAddress) {
  EXPECT_CALL(verifier_, CheckHeader(Optional(Eq(kBearer)), Eq("192.0.2.10")))
      .WillOnce(Return(Allow("carol", Role::kUser)));

  absl::StatusOr<Caller> caller = auth_->Authenticate(kBearer, "192.0.2.10");

  ASSERT_TRUE(caller.ok()) << caller.status();
  EXPECT_EQ(caller->user_id, "carol");
  EXPECT_EQ(caller->role, "USER");
}

// An IPv6 caller's address reaches the sidecar without the brackets and
// port of gRPC's peer URI ("ipv6:%5B::1%5D:PORT").
TEST(SidecarAuthenticatorAddressTest, AnIpv6CallersAddressIsPassedBare) {
  ::testing::StrictMock<MockTokenVerifier> verifier;
  WorkerPool lookups(2, 16);
  AuthenticatorService authenticator(verifier, lookups);
  LocalServer sidecar({&authenticator});
  const SidecarAuthenticator auth(sidecar.NewChannel(),
                                  SidecarAuthenticator::Options{absl::Seconds(30)});
  Recorder recorder;
  const Requirements none;
  SyncEchoService service(auth, recorder, none);
  LocalServer echo_server({&service}, "[::1]");
  EXPECT_CALL(verifier, CheckHeader(Optional(Eq(kBearer)), Eq("::1")))
      .WillOnce(Return(Allow("alice", Role::kService)));

  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", kBearer);
  echo::EchoRequest request;
  request.set_message("hello");
  echo::EchoResponse response;
  const grpc::Status status =
      echo::Echo::NewStub(echo_server.NewChannel())->Echo(&ctx, request, &response);

  ASSERT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
  EXPECT_EQ(response.user_id(), "alice");
  echo_server.Stop();
}

// A sidecar that answers anything but OK or UNAUTHENTICATED (here: one that
// never answers before the deadline) is not a verdict: UNAVAILABLE.
class StalledAuthenticator final : public v1::Authenticator::Service {
 public:
  grpc::Status Authenticate(grpc::ServerContext*, const v1::AuthenticateRequest*,
                            v1::AuthenticateResponse* resp) override {
    release_.WaitForNotification();
    resp->set_user_id("too-late");
    return grpc::Status::OK;
  }
  void Release() { release_.Notify(); }

 private:
  absl::Notification release_;
};

TEST(SidecarAuthenticatorFailureTest, NoAnswerBeforeTheDeadlineIsUnavailable) {
  StalledAuthenticator stalled;
  LocalServer sidecar({&stalled});
  const SidecarAuthenticator auth(sidecar.NewChannel(),
                                  SidecarAuthenticator::Options{absl::Milliseconds(50)});

  absl::StatusOr<Caller> caller = auth.Authenticate(kBearer, "");

  stalled.Release();
  EXPECT_EQ(caller.status().code(), absl::StatusCode::kUnavailable) << caller.status();
}

class BrokenAuthenticator final : public v1::Authenticator::Service {
 public:
  grpc::Status Authenticate(grpc::ServerContext*, const v1::AuthenticateRequest*,
                            v1::AuthenticateResponse*) override {
    return grpc::Status(grpc::StatusCode::INTERNAL, "boom");
  }
};

TEST(SidecarAuthenticatorFailureTest, SidecarErrorIsUnavailableNotAllowed) {
  BrokenAuthenticator broken;
  LocalServer sidecar({&broken});
  const SidecarAuthenticator auth(sidecar.NewChannel());

  absl::StatusOr<Caller> caller = auth.Authenticate(kBearer, "");

  EXPECT_EQ(caller.status().code(), absl::StatusCode::kUnavailable) << caller.status();
}

// Where AuthenticateAsync's verdict lands, for the tests to wait on.
struct AsyncVerdict {
  SidecarAuthenticator::Done Receiver() {
    return [this](absl::StatusOr<Caller> verdict) {
      caller = std::move(verdict);
      calls.fetch_add(1);
      done.Notify();
    };
  }
  absl::StatusOr<Caller> Wait() {
    done.WaitForNotification();
    return caller;
  }

  absl::Notification done;
  std::atomic<int> calls{0};
  absl::StatusOr<Caller> caller = absl::UnknownError("no verdict");
};

TEST(SidecarAuthenticatorAsyncTest, ReturnsBeforeTheSidecarAnswers) {
  StalledAuthenticator stalled;
  LocalServer sidecar({&stalled});
  const SidecarAuthenticator auth(sidecar.NewChannel(),
                                  SidecarAuthenticator::Options{absl::Seconds(30)});
  AsyncVerdict verdict;

  auth.AuthenticateAsync(kBearer, "192.0.2.10", verdict.Receiver());

  // The sidecar cannot have answered: it holds every call until released.
  EXPECT_FALSE(verdict.done.HasBeenNotified());
  stalled.Release();
  absl::StatusOr<Caller> caller = verdict.Wait();
  ASSERT_TRUE(caller.ok()) << caller.status();
  EXPECT_EQ(caller->user_id, "too-late");
  EXPECT_EQ(verdict.calls.load(), 1);
}

TEST(SidecarAuthenticatorAsyncTest, NoAnswerBeforeTheDeadlineIsUnavailable) {
  StalledAuthenticator stalled;
  LocalServer sidecar({&stalled});
  const SidecarAuthenticator auth(sidecar.NewChannel(),
                                  SidecarAuthenticator::Options{absl::Milliseconds(50)});
  AsyncVerdict verdict;

  auth.AuthenticateAsync(kBearer, "", verdict.Receiver());

  EXPECT_EQ(verdict.Wait().status().code(), absl::StatusCode::kUnavailable);
  stalled.Release();
  EXPECT_EQ(verdict.calls.load(), 1);
}

TEST(SidecarAuthenticatorAsyncTest, SidecarErrorIsUnavailableNotAllowed) {
  BrokenAuthenticator broken;
  LocalServer sidecar({&broken});
  const SidecarAuthenticator auth(sidecar.NewChannel());
  AsyncVerdict verdict;

  auth.AuthenticateAsync(kBearer, "", verdict.Receiver());

  EXPECT_EQ(verdict.Wait().status().code(), absl::StatusCode::kUnavailable);
}

// Destroying the helper waits for its pending calls: their completion holds
// the channel, and gRPC's callback threads do not survive letting go of it
// last. Without the wait, the verdict would not have arrived yet.
TEST(SidecarAuthenticatorAsyncTest, DestroyingItWaitsForItsPendingCalls) {
  StalledAuthenticator stalled;
  LocalServer sidecar({&stalled});
  AsyncVerdict verdict;
  {
    const SidecarAuthenticator auth(sidecar.NewChannel(),
                                    SidecarAuthenticator::Options{absl::Milliseconds(100)});
    auth.AuthenticateAsync(kBearer, "", verdict.Receiver());
  }

  EXPECT_TRUE(verdict.done.HasBeenNotified());
  EXPECT_EQ(verdict.calls.load(), 1);
  EXPECT_EQ(verdict.caller.status().code(), absl::StatusCode::kUnavailable);
  stalled.Release();
}

TEST(SidecarAuthenticatorAsyncTest, SidecarDownIsUnavailable) {
  BrokenAuthenticator broken;
  LocalServer sidecar({&broken});
  const SidecarAuthenticator auth(sidecar.NewChannel());
  sidecar.Stop();
  AsyncVerdict verdict;

  auth.AuthenticateAsync(std::nullopt, "", verdict.Receiver());

  EXPECT_EQ(verdict.Wait().status().code(), absl::StatusCode::kUnavailable);
}

TEST(ToGrpcStatusTest, CodeAndMessageCarryOver) {
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
  const grpc::Status status = ToGrpcStatus(absl::UnauthenticatedError("revoked: gone"));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(status.error_message(), "revoked: gone");
}

}  // namespace
}  // namespace tokens::auth_client
