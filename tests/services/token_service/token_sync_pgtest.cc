// tokens.v1.TokenSync end to end: the real token-service binary (two of them
// on one database for the cross-replica case), a real PostgreSQL, real
// gRPC. Streams are read with a deadline; nothing here sleeps.
#include <sys/wait.h>

#include <chrono>
#include <csignal>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/token/token_codec.h"
#include "google/protobuf/util/time_util.h"
#include "tests/services/token_service/service_fixture.h"
#include "tests/support/user_change.h"

namespace tokens::testing {
namespace {

using ::google::protobuf::util::TimeUtil;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAreArray;

constexpr std::chrono::seconds kStreamDeadline(60);
constexpr std::chrono::seconds kProcessTimeout(60);

std::string HashOf(const std::string& secret) {
  const TokenHash hash = TokenCodec::Hash(secret);
  return std::string(hash.begin(), hash.end());
}

// One SyncTokens call, read message by message; every read is bounded by
// the call's deadline.
class SyncCall {
 public:
  SyncCall(v1::TokenSync::Stub& stub, const std::string& token, int64_t from_version) {
    ctx_.AddMetadata("authorization", "Bearer " + token);
    ctx_.set_deadline(std::chrono::system_clock::now() + kStreamDeadline);
    v1::SyncTokensRequest request;
    request.set_from_version(from_version);
    reader_ = stub.SyncTokens(&ctx_, request);
  }

  ~SyncCall() {
    if (!finished_) Cancel();
  }

  std::optional<v1::SyncTokensResponse> Read() {
    v1::SyncTokensResponse message;
    if (finished_ || !reader_->Read(&message)) return std::nullopt;
    return message;
  }

  // Reads through SNAPSHOT_END; every SNAPSHOT message merged into one.
  struct Snapshot {
    std::map<std::string, v1::SyncedToken> tokens;  // by token id
    std::map<std::string, v1::SyncedUser> users;    // by user id
    int64_t version = -1;
    bool complete = false;
  };
  Snapshot ReadSnapshot() {
    Snapshot snapshot;
    while (std::optional<v1::SyncTokensResponse> m = Read()) {
      if (m->kind() == v1::SyncTokensResponse::SNAPSHOT_END) {
        snapshot.version = m->version();
        snapshot.complete = true;
        break;
      }
      EXPECT_EQ(m->kind(), v1::SyncTokensResponse::SNAPSHOT);
      for (const v1::SyncedToken& t : m->tokens()) {
        EXPECT_TRUE(snapshot.tokens.emplace(t.token_id(), t).second) << "twice: " << t.token_id();
      }
      for (const v1::SyncedUser& u : m->users()) {
        EXPECT_TRUE(snapshot.users.emplace(u.user_id(), u).second) << "twice: " << u.user_id();
      }
    }
    return snapshot;
  }

  // Reads DELTA messages until one satisfies `wanted`; nullopt if the call
  // ends first (e.g. at its deadline).
  std::optional<v1::SyncTokensResponse> ReadDeltaUntil(
      const std::function<bool(const v1::SyncTokensResponse&)>& wanted) {
    while (std::optional<v1::SyncTokensResponse> m = Read()) {
      EXPECT_EQ(m->kind(), v1::SyncTokensResponse::DELTA);
      EXPECT_GT(m->version(), last_version_) << "versions must increase";
      last_version_ = m->version();
      if (wanted(*m)) return m;
    }
    return std::nullopt;
  }

  std::optional<v1::SyncTokensResponse> ReadDeltaWithToken(const std::string& token_id) {
    return ReadDeltaUntil([&](const v1::SyncTokensResponse& m) {
      for (const v1::SyncedToken& t : m.tokens()) {
        if (t.token_id() == token_id) return true;
      }
      return false;
    });
  }

  std::optional<v1::SyncTokensResponse> ReadDeltaWithUser(const std::string& user_id) {
    return ReadDeltaUntil([&](const v1::SyncTokensResponse& m) {
      for (const v1::SyncedUser& u : m.users()) {
        if (u.user_id() == user_id) return true;
      }
      return false;
    });
  }

  // Waits for the call to end by itself.
  grpc::Status Finish() {
    while (Read()) {
    }
    finished_ = true;
    return reader_->Finish();
  }

  grpc::Status Cancel() {
    ctx_.TryCancel();
    return Finish();
  }

 private:
  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientReader<v1::SyncTokensResponse>> reader_;
  bool finished_ = false;
  int64_t last_version_ = 0;
};

const v1::SyncedToken* FindToken(const v1::SyncTokensResponse& m, const std::string& id) {
  for (const v1::SyncedToken& t : m.tokens()) {
    if (t.token_id() == id) return &t;
  }
  return nullptr;
}

const v1::SyncedUser* FindUser(const v1::SyncTokensResponse& m, const std::string& id) {
  for (const v1::SyncedUser& u : m.users()) {
    if (u.user_id() == id) return &u;
  }
  return nullptr;
}

class TokenSyncTest : public TokenServiceTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(TokenServiceTest::SetUp());
    svc_ = NewUserWithToken("svc", v1::SERVICE);
  }

  int64_t DatabaseVersion() {
    return std::stoll(
        Sql("SELECT greatest((SELECT max(version) FROM tokens),"
            " (SELECT max(version) FROM users))")[0]);
  }

  std::string TokenIdOf(const std::string& user_id, const std::string& name) {
    return Sql("SELECT id::text FROM tokens WHERE user_id = '" + user_id + "' AND name = '" + name +
               "' AND revoked_at IS NULL")[0];
  }

  v1::Token Revoke(const std::string& caller, const std::string& id) {
    v1::RevokeTokenRequest request;
    request.set_id(id);
    v1::Token token;
    grpc::Status status = tokens_->RevokeToken(As(caller).get(), request, &token);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return token;
  }

  void Update(const v1::UpdateUserRequest& request) {
    v1::User user;
    grpc::Status status = users_->UpdateUser(As(admin_token_).get(), request, &user);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  grpc::Status Lookup(const std::string& caller, const std::string& hash,
                      v1::LookupTokenResponse* out) {
    v1::LookupTokenRequest request;
    request.set_token_hash(hash);
    return sync_->LookupToken(As(caller).get(), request, out);
  }

  grpc::Status Report(const std::string& caller, const v1::ReportUsageRequest& request,
                      v1::ReportUsageResponse* out) {
    return sync_->ReportUsage(As(caller).get(), request, out);
  }

  std::string svc_;
};

TEST_F(TokenSyncTest, OnlyServiceCallersMayUseTokenSync) {
  const std::string alice = NewUserWithToken("alice", v1::USER);
  for (const std::string& caller : {alice, admin_token_}) {
    SyncCall call(*sync_, caller, 0);
    EXPECT_FALSE(call.Read().has_value());
    EXPECT_EQ(call.Finish().error_code(), grpc::StatusCode::PERMISSION_DENIED);

    v1::LookupTokenResponse found;
    EXPECT_EQ(Lookup(caller, HashOf(alice), &found).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
    v1::ReportUsageRequest report;
    v1::ReportUsageResponse reported;
    EXPECT_EQ(Report(caller, report, &reported).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  }
}

TEST_F(TokenSyncTest, SnapshotThenADeltaForEveryChange) {
  const std::string alice = NewUserWithToken("alice", v1::USER);
  const std::string bob = NewUserWithToken("bob", v1::ADMIN);
  const v1::CreateTokenResponse second = MustCreate(alice, "second");
  const v1::CreateTokenResponse revoked = MustCreate(alice, "revoked");
  Revoke(alice, revoked.token().id());
  const v1::CreateTokenResponse expired = MustCreate(alice, "expired");
  Sql("UPDATE tokens SET expires_on = (now() AT TIME ZONE 'UTC')::date WHERE id = '" +
      expired.token().id() + "' RETURNING id");

  SyncCall call(*sync_, svc_, 0);
  const SyncCall::Snapshot snapshot = call.ReadSnapshot();
  ASSERT_TRUE(snapshot.complete);
  EXPECT_EQ(snapshot.version, DatabaseVersion());
  // Every token that can still authenticate, by hash, and no other.
  std::map<std::string, std::string> live = {
      {TokenIdOf("admin", Sql("SELECT name FROM tokens WHERE user_id = 'admin'")[0]), admin_token_},
      {TokenIdOf("svc", "first token of svc"), svc_},
      {TokenIdOf("alice", "first token of alice"), alice},
      {TokenIdOf("bob", "first token of bob"), bob},
      {second.token().id(), second.secret()},
  };
  std::vector<std::string> expected_ids, got_ids;
  for (const auto& [id, secret] : live) expected_ids.push_back(id);
  for (const auto& [id, token] : snapshot.tokens) got_ids.push_back(id);
  EXPECT_THAT(got_ids, UnorderedElementsAreArray(expected_ids));
  for (const auto& [id, token] : snapshot.tokens) {
    SCOPED_TRACE(id);
    ASSERT_EQ(live.count(id), 1u);
    EXPECT_EQ(token.token_hash(), HashOf(live[id]));
    EXPECT_FALSE(token.revoked());
    EXPECT_EQ(
        token.expires_on(),
        Sql("SELECT to_char(expires_on, 'YYYY-MM-DD') FROM tokens WHERE id = '" + id + "'")[0]);
    EXPECT_GT(token.version(), 0);
    EXPECT_LE(token.version(), snapshot.version);
    ASSERT_EQ(snapshot.users.count(token.user_id()), 1u) << "owner missing";
  }
  ASSERT_EQ(snapshot.users.size(), 4u);
  EXPECT_EQ(snapshot.users.at("admin").role(), v1::ADMIN);
  EXPECT_EQ(snapshot.users.at("alice").role(), v1::USER);
  EXPECT_EQ(snapshot.users.at("bob").role(), v1::ADMIN);
  EXPECT_EQ(snapshot.users.at("svc").role(), v1::SERVICE);
  for (const auto& [id, user] : snapshot.users) EXPECT_FALSE(user.disabled()) << id;

  // Created.
  const v1::CreateTokenResponse created = MustCreate(alice, "created");
  std::optional<v1::SyncTokensResponse> delta = call.ReadDeltaWithToken(created.token().id());
  ASSERT_TRUE(delta.has_value());
  const v1::SyncedToken* t = FindToken(*delta, created.token().id());
  EXPECT_EQ(t->token_hash(), HashOf(created.secret()));
  EXPECT_EQ(t->user_id(), "alice");
  EXPECT_EQ(t->expires_on(), DateFromToday(30));
  EXPECT_FALSE(t->revoked());
  ASSERT_NE(FindUser(*delta, "alice"), nullptr) << "a new token travels with its owner";
  EXPECT_EQ(delta->version(), DatabaseVersion());

  // Revoked.
  Revoke(alice, created.token().id());
  delta = call.ReadDeltaWithToken(created.token().id());
  ASSERT_TRUE(delta.has_value());
  EXPECT_TRUE(FindToken(*delta, created.token().id())->revoked());

  // Rotated: the old token revoked and the new one, in one delta.
  v1::RotateTokenRequest rotate;
  rotate.set_id(second.token().id());
  v1::RotateTokenResponse rotated;
  ASSERT_TRUE(tokens_->RotateToken(As(alice).get(), rotate, &rotated).ok());
  delta = call.ReadDeltaWithToken(rotated.token().id());
  ASSERT_TRUE(delta.has_value());
  const v1::SyncedToken* fresh = FindToken(*delta, rotated.token().id());
  EXPECT_EQ(fresh->token_hash(), HashOf(rotated.secret()));
  EXPECT_EQ(fresh->user_id(), "alice");
  EXPECT_FALSE(fresh->revoked());
  const v1::SyncedToken* old = FindToken(*delta, second.token().id());
  ASSERT_NE(old, nullptr);
  EXPECT_TRUE(old->revoked());

  // A user disabled, enabled, given another role.
  Update(UserChange("alice").Disabled(true));
  delta = call.ReadDeltaWithUser("alice");
  ASSERT_TRUE(delta.has_value());
  EXPECT_TRUE(FindUser(*delta, "alice")->disabled());
  Update(UserChange("alice").Disabled(false));
  delta = call.ReadDeltaWithUser("alice");
  ASSERT_TRUE(delta.has_value());
  EXPECT_FALSE(FindUser(*delta, "alice")->disabled());
  Update(UserChange("bob").Role(v1::USER));
  delta = call.ReadDeltaWithUser("bob");
  ASSERT_TRUE(delta.has_value());
  EXPECT_EQ(FindUser(*delta, "bob")->role(), v1::USER);
  EXPECT_EQ(delta->version(), DatabaseVersion());

  EXPECT_EQ(call.Cancel().error_code(), grpc::StatusCode::CANCELLED);
}

TEST_F(TokenSyncTest, ResumingFromAVersionSendsOnlyLaterChanges) {
  const std::string alice = NewUserWithToken("alice", v1::USER);
  const v1::CreateTokenResponse one = MustCreate(alice, "one");
  const v1::CreateTokenResponse two = MustCreate(alice, "two");
  int64_t applied;
  {
    SyncCall call(*sync_, svc_, 0);
    const SyncCall::Snapshot snapshot = call.ReadSnapshot();
    ASSERT_TRUE(snapshot.complete);
    applied = snapshot.version;
  }
  // While the sidecar is away.
  Revoke(alice, one.token().id());

  SyncCall resumed(*sync_, svc_, applied);
  std::optional<v1::SyncTokensResponse> first = resumed.Read();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->kind(), v1::SyncTokensResponse::DELTA);
  ASSERT_EQ(first->tokens_size(), 1);
  EXPECT_EQ(first->tokens(0).token_id(), one.token().id());
  EXPECT_TRUE(first->tokens(0).revoked());
  EXPECT_GT(first->version(), applied);
  EXPECT_EQ(first->version(), DatabaseVersion());

  // Resuming at the current version: the first message is the next change.
  SyncCall current(*sync_, svc_, first->version());
  Revoke(alice, two.token().id());
  std::optional<v1::SyncTokensResponse> next = current.Read();
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->kind(), v1::SyncTokensResponse::DELTA);
  ASSERT_EQ(next->tokens_size(), 1);
  EXPECT_EQ(next->tokens(0).token_id(), two.token().id());
  // The first stream saw it too.
  EXPECT_TRUE(resumed.ReadDeltaWithToken(two.token().id()).has_value());
}

TEST_F(TokenSyncTest, RevokingTheStreamsOwnTokenEndsItUnauthenticated) {
  SyncCall call(*sync_, svc_, 0);
  ASSERT_TRUE(call.ReadSnapshot().complete);

  const std::string own = TokenIdOf("svc", "first token of svc");
  Revoke(admin_token_, own);
  // The revocation still reaches the sidecar, then the stream ends.
  std::optional<v1::SyncTokensResponse> delta = call.ReadDeltaWithToken(own);
  ASSERT_TRUE(delta.has_value());
  EXPECT_TRUE(FindToken(*delta, own)->revoked());
  const grpc::Status ended = call.Finish();
  EXPECT_EQ(ended.error_code(), grpc::StatusCode::UNAUTHENTICATED) << ended.error_message();
  EXPECT_EQ(ended.error_message(), "the stream's token was revoked");
}

TEST_F(TokenSyncTest, AVersionThisDatabaseNeverIssuedGetsASnapshot) {
  SyncCall call(*sync_, svc_, DatabaseVersion() + 1000000);
  std::optional<v1::SyncTokensResponse> first = call.Read();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->kind(), v1::SyncTokensResponse::SNAPSHOT);
  EXPECT_GT(first->tokens_size(), 0);
  const SyncCall::Snapshot rest = call.ReadSnapshot();
  ASSERT_TRUE(rest.complete);
  EXPECT_EQ(rest.version, DatabaseVersion());
}

TEST_F(TokenSyncTest, AChangeThroughOneReplicaReachesAStreamOnAnother) {
  // The other replica only polls once an hour: only a notification through
  // PostgreSQL can bring it the change in time.
  absl::StatusOr<std::unique_ptr<TokenServiceProcess>> other =
      TokenServiceProcess::Start(database_url_, {"--sync_poll_interval", "1h"});
  ASSERT_TRUE(other.ok()) << other.status();
  std::unique_ptr<v1::TokenSync::Stub> other_sync = v1::TokenSync::NewStub((*other)->NewChannel());
  const std::string alice = NewUserWithToken("alice", v1::USER);
  const v1::CreateTokenResponse token = MustCreate(alice, "revoke me");

  SyncCall call(*other_sync, svc_, 0);
  const SyncCall::Snapshot snapshot = call.ReadSnapshot();
  ASSERT_TRUE(snapshot.complete);
  ASSERT_EQ(snapshot.tokens.count(token.token().id()), 1u);

  Revoke(alice, token.token().id());  // through the fixture's replica
  std::optional<v1::SyncTokensResponse> delta = call.ReadDeltaWithToken(token.token().id());
  ASSERT_TRUE(delta.has_value()) << (*other)->process().Stderr();
  EXPECT_TRUE(FindToken(*delta, token.token().id())->revoked());
}

TEST_F(TokenSyncTest, ReportUsageMovesLastUsedForwardOnly) {
  const std::string alice = NewUserWithToken("alice", v1::USER);
  const v1::CreateTokenResponse token = MustCreate(alice, "used");
  const auto last_used = [&]() -> std::optional<google::protobuf::Timestamp> {
    v1::GetTokenRequest request;
    request.set_id(token.token().id());
    v1::Token got;
    EXPECT_TRUE(tokens_->GetToken(As(alice).get(), request, &got).ok());
    if (!got.has_last_used_at()) return std::nullopt;
    return got.last_used_at();
  };
  const auto batch = [&](const google::protobuf::Timestamp& at, const std::string& from) {
    v1::ReportUsageRequest request;
    v1::TokenUsage* usage = request.add_usages();
    usage->set_token_id(token.token().id());
    *usage->mutable_last_used_at() = at;
    usage->set_client_address(from);
    return request;
  };
  const google::protobuf::Timestamp hour_ago = TimeUtil::MicrosecondsToTimestamp(
      TimeUtil::TimestampToMicroseconds(TimeUtil::GetCurrentTime()) - 3600LL * 1000000);
  const google::protobuf::Timestamp two_hours_ago = TimeUtil::MicrosecondsToTimestamp(
      TimeUtil::TimestampToMicroseconds(hour_ago) - 3600LL * 1000000);
  EXPECT_FALSE(last_used().has_value());

  v1::ReportUsageResponse reported;
  ASSERT_TRUE(Report(svc_, batch(hour_ago, "192.0.2.7"), &reported).ok());
  EXPECT_EQ(reported.updated(), 1);
  ASSERT_TRUE(last_used().has_value());
  EXPECT_EQ(*last_used(), hour_ago);

  // The same batch again, and an older use: nothing moves.
  ASSERT_TRUE(Report(svc_, batch(hour_ago, "192.0.2.7"), &reported).ok());
  EXPECT_EQ(reported.updated(), 0);
  ASSERT_TRUE(Report(svc_, batch(two_hours_ago, "192.0.2.8"), &reported).ok());
  EXPECT_EQ(reported.updated(), 0);
  EXPECT_EQ(*last_used(), hour_ago);
  EXPECT_EQ(Sql("SELECT last_used_from FROM tokens WHERE id = '" + token.token().id() + "'"),
            std::vector<std::string>{"192.0.2.7"});

  // The ListTokens page shows it as well.
  v1::ListTokensResponse listed;
  ASSERT_TRUE(tokens_->ListTokens(As(alice).get(), v1::ListTokensRequest(), &listed).ok());
  bool found = false;
  for (const v1::Token& t : listed.tokens()) {
    if (t.id() != token.token().id()) continue;
    found = true;
    EXPECT_EQ(t.last_used_at(), hour_ago);
    EXPECT_EQ(t.last_used_from(), "192.0.2.7") << "the older use's address moved nothing either";
  }
  EXPECT_TRUE(found);

  // A use from the future counts as now, not later.
  const google::protobuf::Timestamp tomorrow = TimeUtil::MicrosecondsToTimestamp(
      TimeUtil::TimestampToMicroseconds(TimeUtil::GetCurrentTime()) + 86400LL * 1000000);
  ASSERT_TRUE(Report(svc_, batch(tomorrow, ""), &reported).ok());
  EXPECT_EQ(reported.updated(), 1);
  EXPECT_GT(*last_used(), hour_ago);
  EXPECT_LT(*last_used(), tomorrow);

  // A bad entry: INVALID_ARGUMENT naming it, nothing written.
  const std::string before = DatabaseDigest();
  v1::ReportUsageRequest bad = batch(TimeUtil::GetCurrentTime(), "");
  v1::TokenUsage* broken = bad.add_usages();
  broken->set_token_id("not a token id");
  *broken->mutable_last_used_at() = TimeUtil::GetCurrentTime();
  grpc::Status status = Report(svc_, bad, &reported);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(ViolatedFields(status), ElementsAre("usages[1].token_id"));
  EXPECT_EQ(DatabaseDigest(), before);
}

// A sidecar learns each token's scopes with the token: in the snapshot, in
// the delta that announces a new token, and from a lookup.
TEST_F(TokenSyncTest, ScopesTravelWithTheirTokens) {
  ASSERT_NO_FATAL_FAILURE(RestartService({"--token_scopes=things:read,things:write"}));
  const std::string alice = NewUserWithToken("alice", v1::USER);
  auto create = [&](const std::string& name, std::vector<std::string> scopes) {
    v1::CreateTokenRequest request;
    request.set_name(name);
    request.set_expires_on(DateFromToday(30));
    for (const std::string& scope : scopes) request.add_scopes(scope);
    v1::CreateTokenResponse created;
    grpc::Status status = tokens_->CreateToken(As(alice).get(), request, &created);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return created;
  };
  const v1::CreateTokenResponse reader = create("reader", {"things:read"});

  SyncCall call(*sync_, svc_, 0);
  const SyncCall::Snapshot snapshot = call.ReadSnapshot();
  ASSERT_TRUE(snapshot.complete);
  ASSERT_EQ(snapshot.tokens.count(reader.token().id()), 1u);
  EXPECT_THAT(snapshot.tokens.at(reader.token().id()).scopes(), ElementsAre("things:read"));
  const std::string alice_token_id = TokenIdOf("alice", "first token of alice");
  ASSERT_EQ(snapshot.tokens.count(alice_token_id), 1u);
  EXPECT_THAT(snapshot.tokens.at(alice_token_id).scopes(), IsEmpty());

  const v1::CreateTokenResponse both = create("both", {"things:write", "things:read"});
  std::optional<v1::SyncTokensResponse> delta = call.ReadDeltaWithToken(both.token().id());
  ASSERT_TRUE(delta.has_value());
  EXPECT_THAT(FindToken(*delta, both.token().id())->scopes(),
              ElementsAre("things:read", "things:write"));

  v1::LookupTokenResponse found;
  grpc::Status looked_up = Lookup(svc_, HashOf(reader.secret()), &found);
  ASSERT_TRUE(looked_up.ok()) << looked_up.error_message();
  EXPECT_THAT(found.token().scopes(), ElementsAre("things:read"));
}

TEST_F(TokenSyncTest, LookupTokenByHash) {
  const std::string alice = NewUserWithToken("alice", v1::USER);
  const v1::CreateTokenResponse revoked = MustCreate(alice, "revoked");
  Revoke(alice, revoked.token().id());

  v1::LookupTokenResponse found;
  grpc::Status status = Lookup(svc_, HashOf(alice), &found);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(found.token().token_id(), TokenIdOf("alice", "first token of alice"));
  EXPECT_EQ(found.token().token_hash(), HashOf(alice));
  EXPECT_EQ(found.token().user_id(), "alice");
  EXPECT_FALSE(found.token().revoked());
  EXPECT_EQ(found.user().user_id(), "alice");
  EXPECT_EQ(found.user().role(), v1::USER);
  EXPECT_FALSE(found.user().disabled());

  status = Lookup(svc_, HashOf(revoked.secret()), &found);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(found.token().token_id(), revoked.token().id());
  EXPECT_TRUE(found.token().revoked());

  status = Lookup(svc_, HashOf("utk_never_issued"), &found);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);

  status = Lookup(svc_, HashOf(alice).substr(0, 31), &found);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(ViolatedFields(status), ElementsAre("token_hash"));
}

TEST_F(TokenSyncTest, SigtermWithAnOpenStreamExitsZero) {
  // Draining may wait an hour: the process can only exit in time if the
  // open stream is ended for it.
  absl::StatusOr<std::unique_ptr<TokenServiceProcess>> server =
      TokenServiceProcess::Start(database_url_, {"--shutdown_timeout", "1h"});
  ASSERT_TRUE(server.ok()) << server.status();
  std::unique_ptr<v1::TokenSync::Stub> stub = v1::TokenSync::NewStub((*server)->NewChannel());
  SyncCall call(*stub, svc_, 0);
  ASSERT_TRUE(call.ReadSnapshot().complete);

  // The client keeps reading, as a sidecar would.
  grpc::Status ended;
  std::thread reader([&] { ended = call.Finish(); });
  (*server)->process().Signal(SIGTERM);
  absl::StatusOr<int> exit = (*server)->process().Wait(kProcessTimeout);
  reader.join();
  ASSERT_TRUE(exit.ok()) << exit.status() << (*server)->process().Stderr();
  ASSERT_TRUE(WIFEXITED(*exit)) << "killed by signal " << WTERMSIG(*exit);
  EXPECT_EQ(WEXITSTATUS(*exit), 0);
  EXPECT_EQ(ended.error_code(), grpc::StatusCode::UNAVAILABLE) << ended.error_message();
  const std::string log = (*server)->process().Stderr();
  EXPECT_THAT(log, HasSubstr(R"("method":"SyncTokens","user_id":"svc")"));
  EXPECT_THAT(log, HasSubstr("\"msg\":\"stopped in "));
}

}  // namespace
}  // namespace tokens::testing
