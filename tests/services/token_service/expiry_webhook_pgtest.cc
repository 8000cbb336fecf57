// Expiry warnings end to end: the real token-service on a real PostgreSQL
// posts them to a small HTTP receiver run by the test (cpp-httplib, port 0).
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "httplib.h"
#include "tests/services/token_service/service_fixture.h"
#include "tests/support/prometheus_text.h"
#include "tests/support/test_certs.h"

namespace tokens::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::UnorderedElementsAre;

constexpr char kSecret[] = "expiry-webhook-secret-4f1c9a0d";

// HMAC-SHA256 written here from OpenSSL, apart from token-service's code.
std::string ExpectedSignature(const std::string& body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  HMAC(EVP_sha256(), kSecret, sizeof(kSecret) - 1,
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &size);
  return "sha256=" +
         absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(mac), size));
}

// One request the receiver got.
struct Hit {
  std::string id_header;
  std::string signature;
  std::string content_type;
  std::string body;
  int answered = 0;
  google::protobuf::Struct json;

  std::string Str(const std::string& key) const {
    auto it = json.fields().find(key);
    return it == json.fields().end() ? "<absent>" : it->second.string_value();
  }
  double Num(const std::string& key) const {
    auto it = json.fields().find(key);
    return it == json.fields().end() ? -1000 : it->second.number_value();
  }
};

// The webhook receiver: records every POST and answers 200, or 500 to the
// first `fail_next` requests.
class Receiver {
 public:
  // Plain HTTP; with `tls` (a certificate and key), HTTPS.
  explicit Receiver(const TestCerts::Pair& tls = {})
      : server_(tls.cert.empty()
                    ? std::make_unique<httplib::Server>()
                    : std::make_unique<httplib::SSLServer>(tls.cert.c_str(), tls.key.c_str())),
        scheme_(tls.cert.empty() ? "http" : "https") {
    server_->Post("/hooks/expiry", [this](const httplib::Request& req, httplib::Response& res) {
      Hit hit;
      hit.id_header = req.get_header_value("X-Webhook-Id");
      hit.signature = req.get_header_value("X-Webhook-Signature-256");
      hit.content_type = req.get_header_value("Content-Type");
      hit.body = req.body;
      if (!google::protobuf::util::JsonStringToMessage(req.body, &hit.json).ok()) {
        hit.json.Clear();
      }
      absl::MutexLock lock(&mu_);
      hit.answered = fail_next_ > 0 ? 500 : 200;
      if (fail_next_ > 0) --fail_next_;
      res.status = hit.answered;
      res.set_content(hit.answered == 200 ? "ok" : "receiver error: please retry", "text/plain");
      hits_.push_back(std::move(hit));
    });
    port_ = server_->bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_->listen_after_bind(); });
  }
  ~Receiver() {
    server_->stop();
    thread_.join();
  }

  // A path and a query, as receivers' URLs often have.
  std::string url() const {
    return absl::StrCat(scheme_, "://127.0.0.1:", port_, "/hooks/expiry?k=1");
  }
  void FailNext(int n) {
    absl::MutexLock lock(&mu_);
    fail_next_ = n;
  }
  std::vector<Hit> hits() const {
    absl::MutexLock lock(&mu_);
    return hits_;
  }
  std::vector<Hit> HitsFor(const std::string& token_id) const {
    std::vector<Hit> out;
    for (const Hit& h : hits()) {
      if (h.Str("token_id") == token_id) out.push_back(h);
    }
    return out;
  }

 private:
  std::unique_ptr<httplib::Server> server_;
  std::string scheme_;
  int port_ = 0;
  std::thread thread_;
  mutable absl::Mutex mu_;
  int fail_next_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<Hit> hits_ ABSL_GUARDED_BY(mu_);
};

// Polls `done` until it holds; false after a generous deadline.
bool WaitFor(const std::function<bool()>& done, absl::Duration deadline = absl::Seconds(60)) {
  const absl::Time until = absl::Now() + deadline;
  while (absl::Now() < until) {
    if (done()) return true;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return done();
}

double Metric(const std::string& metrics_address, const std::string& series) {
  absl::StatusOr<MetricsText> text = ScrapeMetrics(metrics_address);
  if (!text.ok()) return -1;
  return text->Value(series);
}
double Metric(const TokenServiceProcess& service, const std::string& series) {
  return Metric(service.metrics_address(), series);
}

constexpr char kScans[] = "token_service_expiry_scans_total";

class ExpiryWebhookTest : public TokenServiceTest {
 public:
  static std::vector<std::string> WebhookFlagsFor(const Receiver& receiver) {
    return {"--expiry_webhook_url",   receiver.url(), "--expiry_webhook_secret",          kSecret,
            "--expiry_scan_interval", "200ms",        "--expiry_webhook_initial_backoff", "100ms"};
  }

 protected:
  std::vector<std::string> WebhookFlags() const { return WebhookFlagsFor(receiver_); }

  // Waits until `service` has completed `more` scans beyond those it had:
  // each scan is followed by a delivery round, so by then anything it
  // would have sent has been sent.
  void WaitForMoreScans(const TokenServiceProcess& service, int more) {
    const double start = std::max(0.0, Metric(service, kScans));
    ASSERT_TRUE(WaitFor([&] { return Metric(service, kScans) >= start + more; }))
        << kScans << " stayed at " << Metric(service, kScans);
  }

  // A user "alice" and a token of hers; returns her first token's secret.
  std::string Alice() {
    if (alice_.empty()) alice_ = NewUserWithToken("alice", v1::Role::USER);
    return alice_;
  }

  void ExpectSignedAndClean(const Hit& hit, const std::string& token_secret) {
    EXPECT_EQ(hit.signature, ExpectedSignature(hit.body)) << hit.body;
    EXPECT_EQ(hit.content_type, "application/json");
    EXPECT_EQ(hit.id_header, hit.Str("id"));
    EXPECT_FALSE(hit.id_header.empty());
    EXPECT_THAT(hit.body, Not(HasSubstr(kSecret)));
    EXPECT_THAT(hit.body, Not(HasSubstr(token_secret)));
    EXPECT_THAT(hit.body, Not(HasSubstr("secret")));
  }

  Receiver receiver_;
  std::string alice_;
};

TEST_F(ExpiryWebhookTest, TokenExpiringTomorrowGetsOneSignedWarningPerThresholdEvenAfterRestart) {
  RestartService(WebhookFlags());
  v1::CreateTokenResponse created = MustCreate(Alice(), "nightly build", 1);
  const std::string id = created.token().id();

  ASSERT_TRUE(WaitFor([&] { return receiver_.HitsFor(id).size() >= 2; }))
      << service_->process().Stderr();
  WaitForMoreScans(*service_, 2);
  const std::vector<Hit> hits = receiver_.HitsFor(id);
  ASSERT_EQ(hits.size(), 2u);
  // Nothing about the tokens that expire in a year.
  EXPECT_EQ(receiver_.hits().size(), 2u);
  EXPECT_EQ(hits[0].Num("threshold_days"), 7);
  EXPECT_EQ(hits[1].Num("threshold_days"), 1);
  EXPECT_NE(hits[0].id_header, hits[1].id_header);
  for (const Hit& hit : hits) {
    ExpectSignedAndClean(hit, created.secret());
    EXPECT_EQ(hit.Str("event"), "token.expiring");
    EXPECT_EQ(hit.Str("token_id"), id);
    EXPECT_EQ(hit.Str("name"), "nightly build");
    EXPECT_EQ(hit.Str("hint"), created.token().hint());
    EXPECT_EQ(hit.Str("user_id"), "alice");
    EXPECT_EQ(hit.Str("email"), "alice@example.com");
    EXPECT_EQ(hit.Str("expires_on"), DateFromToday(1));
    EXPECT_EQ(hit.Num("days_left"), 1);
    EXPECT_EQ(hit.answered, 200);
  }
  EXPECT_EQ(Metric(*service_, "token_service_expiry_warnings_recorded_total{event=\"expiring\"}"),
            2);
  EXPECT_EQ(Metric(*service_, "token_service_expiry_webhook_attempts_total{outcome=\"delivered\"}"),
            2);
  EXPECT_EQ(Metric(*service_, "token_service_expiry_warnings_pending"), 0);
  EXPECT_EQ(Metric(*service_, "token_service_expiry_sender"), 1);
  EXPECT_THAT(Sql("SELECT state || ' ' || attempts FROM expiry_warnings ORDER BY threshold_days"),
              ElementsAre("delivered 1", "delivered 1"));
  const std::string log = service_->process().Stderr();
  EXPECT_THAT(log, HasSubstr("\"msg\":\"expiry warning delivered\""));
  EXPECT_THAT(log, Not(HasSubstr(kSecret)));
  EXPECT_THAT(log, Not(HasSubstr("/hooks/expiry")));  // the URL's path is never logged

  // GetProfile tells the console the thresholds, largest first.
  v1::GetProfileResponse profile;
  ASSERT_TRUE(tokens_->GetProfile(As(Alice()).get(), v1::GetProfileRequest(), &profile).ok());
  EXPECT_THAT(profile.expiry_warning_days(), ElementsAre(7, 1));

  // Restarted on the same database: scans, and sends nothing again.
  RestartService(WebhookFlags());
  WaitForMoreScans(*service_, 2);
  EXPECT_EQ(receiver_.hits().size(), 2u);
  EXPECT_EQ(Metric(*service_, "token_service_expiry_webhook_attempts_total{outcome=\"delivered\"}"),
            0);
  EXPECT_EQ(Metric(*service_, "token_service_expiry_warnings_recorded_total{event=\"expiring\"}"),
            0);
}

TEST_F(ExpiryWebhookTest, ReceiverThatFirstAnswers500GetsTheWarningRetriedThenOnce) {
  receiver_.FailNext(1);
  RestartService(WebhookFlags());
  v1::CreateTokenResponse created = MustCreate(Alice(), "deploy", 3);  // 7-day threshold only
  const std::string id = created.token().id();

  ASSERT_TRUE(WaitFor([&] { return receiver_.HitsFor(id).size() >= 2; }))
      << service_->process().Stderr();
  WaitForMoreScans(*service_, 2);
  const std::vector<Hit> hits = receiver_.HitsFor(id);
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0].answered, 500);
  EXPECT_EQ(hits[1].answered, 200);
  // The same warning both times: a receiver can drop a repeat by its id.
  EXPECT_EQ(hits[0].id_header, hits[1].id_header);
  EXPECT_EQ(hits[0].body, hits[1].body);
  for (const Hit& hit : hits) {
    ExpectSignedAndClean(hit, created.secret());
    EXPECT_EQ(hit.Num("threshold_days"), 7);
    EXPECT_EQ(hit.Num("days_left"), 3);
  }
  EXPECT_EQ(Metric(*service_, "token_service_expiry_webhook_attempts_total{outcome=\"rejected\"}"),
            1);
  EXPECT_EQ(Metric(*service_, "token_service_expiry_webhook_attempts_total{outcome=\"delivered\"}"),
            1);
  EXPECT_THAT(Sql("SELECT state || ' ' || attempts || ' [' || last_error || ']'"
                  "  FROM expiry_warnings"),
              ElementsAre("delivered 2 []"));
  // One line for the failed attempt, with its status and not the body.
  const std::string log = service_->process().Stderr();
  EXPECT_THAT(log, HasSubstr("\"msg\":\"expiry webhook attempt failed\""));
  EXPECT_THAT(log, HasSubstr("\"status\":500,\"error\":\"HTTP 500\""));
  EXPECT_THAT(log, Not(HasSubstr("please retry")));
}

TEST_F(ExpiryWebhookTest, RevokedGetsNoneExpiredGetsOneLongExpiredAndDisabledOwnersNone) {
  const std::string alice = Alice();
  const std::string revoked = MustCreate(alice, "revoked", 5).token().id();
  v1::RevokeTokenRequest revoke;
  revoke.set_id(revoked);
  v1::Token ignored;
  ASSERT_TRUE(tokens_->RevokeToken(As(alice).get(), revoke, &ignored).ok());
  const std::string expired = MustCreate(alice, "expired yesterday", 5).token().id();
  const std::string long_expired = MustCreate(alice, "expired a month ago", 5).token().id();
  const std::string bob = NewUserWithToken("bob", v1::Role::USER);
  const std::string disabled = MustCreate(bob, "of a disabled user", 5).token().id();
  // The API refuses past dates; the database is told directly.
  Sql(
      absl::StrCat("UPDATE tokens SET expires_on = (now() AT TIME ZONE 'UTC')::date - 1"
                   " WHERE id = '",
                   expired, "'"));
  Sql(
      absl::StrCat("UPDATE tokens SET expires_on = (now() AT TIME ZONE 'UTC')::date - 30"
                   " WHERE id = '",
                   long_expired, "'"));
  Sql("UPDATE users SET disabled = true WHERE user_id = 'bob'");

  RestartService(WebhookFlags());
  ASSERT_TRUE(WaitFor([&] { return !receiver_.HitsFor(expired).empty(); }))
      << service_->process().Stderr();
  WaitForMoreScans(*service_, 2);
  const std::vector<Hit> hits = receiver_.hits();
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].Str("token_id"), expired);
  EXPECT_EQ(hits[0].Str("event"), "token.expired");
  EXPECT_EQ(hits[0].Num("threshold_days"), 0);
  EXPECT_EQ(hits[0].Num("days_left"), -1);
  EXPECT_EQ(hits[0].Str("expires_on"), DateFromToday(-1));
  EXPECT_EQ(hits[0].signature, ExpectedSignature(hits[0].body));
  EXPECT_EQ(Metric(*service_, "token_service_expiry_warnings_recorded_total{event=\"expired\"}"),
            1);
  EXPECT_THAT(Sql("SELECT count(*) FROM expiry_warnings"), ElementsAre("1"));
}

TEST_F(ExpiryWebhookTest, TwoReplicasDeliverEachWarningOnceAndTheSurvivorTakesOver) {
  const std::string alice = Alice();
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    ids.push_back(MustCreate(alice, absl::StrCat("tomorrow ", i), 1).token().id());
  }
  std::vector<std::unique_ptr<TokenServiceProcess>> replicas;
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<std::unique_ptr<TokenServiceProcess>> replica =
        TokenServiceProcess::Start(database_url_, WebhookFlags());
    ASSERT_TRUE(replica.ok()) << replica.status();
    replicas.push_back(*std::move(replica));
  }
  ASSERT_TRUE(WaitFor([&] { return receiver_.hits().size() >= 6; }));
  int sender = -1;
  ASSERT_TRUE(WaitFor([&] {
    for (int i = 0; i < 2; ++i) {
      if (Metric(*replicas[i], "token_service_expiry_sender") == 1) sender = i;
    }
    return sender >= 0;
  }));
  const int other = 1 - sender;
  WaitForMoreScans(*replicas[sender], 2);
  EXPECT_EQ(Metric(*replicas[other], "token_service_expiry_sender"), 0);
  EXPECT_EQ(Metric(*replicas[other], kScans), 0);

  std::multiset<std::string> warned;
  std::set<std::string> warning_ids;
  for (const Hit& hit : receiver_.hits()) {
    warned.insert(absl::StrCat(hit.Str("token_id"), "/", hit.Num("threshold_days")));
    warning_ids.insert(hit.id_header);
    EXPECT_EQ(hit.signature, ExpectedSignature(hit.body));
  }
  EXPECT_THAT(warned, UnorderedElementsAre(absl::StrCat(ids[0], "/7"), absl::StrCat(ids[0], "/1"),
                                           absl::StrCat(ids[1], "/7"), absl::StrCat(ids[1], "/1"),
                                           absl::StrCat(ids[2], "/7"), absl::StrCat(ids[2], "/1")));
  EXPECT_EQ(warning_ids.size(), 6u);

  // The sender dies (SIGKILL): its session ends, the other takes the lock.
  replicas[sender].reset();
  ASSERT_TRUE(WaitFor([&] { return Metric(*replicas[other], "token_service_expiry_sender") == 1; }))
      << replicas[other]->process().Stderr();
  const std::string late = MustCreate(alice, "created after the takeover", 1).token().id();
  ASSERT_TRUE(WaitFor([&] { return receiver_.HitsFor(late).size() >= 2; }));
  WaitForMoreScans(*replicas[other], 2);
  EXPECT_EQ(receiver_.hits().size(), 8u);
  EXPECT_EQ(receiver_.HitsFor(late).size(), 2u);
}

// token-service with the webhook at an HTTPS `receiver`, trusting the CA
// file `ca` (OpenSSL's SSL_CERT_FILE: the system's trust store, replaced).
// Returns the metrics address; the process in `out`.
std::string StartWithTrustStore(const std::string& database_url, const Receiver& receiver,
                                const std::string& ca, std::unique_ptr<ChildProcess>& out) {
  std::vector<std::string> args = {"--listen",       "127.0.0.1:0",   "--metrics_listen",
                                   "127.0.0.1:0",    "--http_listen", "",
                                   "--database_url", database_url};
  for (std::string& flag : ExpiryWebhookTest::WebhookFlagsFor(receiver)) {
    args.push_back(std::move(flag));
  }
  ChildProcess::Options options{
      TokenServiceBinary(), args, {{"SSL_CERT_FILE", ca}}, {"DATABASE_URL", "SSL_CERT_DIR"}};
  options.ready_file = true;
  absl::StatusOr<std::unique_ptr<ChildProcess>> child = ChildProcess::Spawn(std::move(options));
  EXPECT_TRUE(child.ok()) << child.status();
  if (!child.ok()) return "";
  out = *std::move(child);
  absl::StatusOr<ReadyFileContents> ready = out->WaitUntilReady(std::chrono::seconds(60));
  EXPECT_TRUE(ready.ok()) << ready.status();
  return ready.ok() ? ready->addresses["metrics"] : "";
}

TEST_F(ExpiryWebhookTest, HttpsReceiverWithATrustedCertificateGetsTheWarnings) {
  absl::StatusOr<std::unique_ptr<TestCerts>> certs = TestCerts::Create();
  ASSERT_TRUE(certs.ok()) << certs.status();
  absl::StatusOr<TestCerts::Pair> pair = (*certs)->Server("hooks-ca", "hooks");
  ASSERT_TRUE(pair.ok()) << pair.status();
  Receiver https(*pair);
  v1::CreateTokenResponse created = MustCreate(Alice(), "over tls", 1);
  std::unique_ptr<ChildProcess> process;
  const std::string metrics =
      StartWithTrustStore(database_url_, https, (*certs)->Ca("hooks-ca"), process);
  ASSERT_FALSE(metrics.empty());
  ASSERT_TRUE(WaitFor([&] { return https.HitsFor(created.token().id()).size() >= 2; }))
      << process->Stderr();
  for (const Hit& hit : https.HitsFor(created.token().id())) {
    ExpectSignedAndClean(hit, created.secret());
  }
  // Counted once the receiver's answer is in.
  EXPECT_TRUE(WaitFor([&] {
    return Metric(metrics, "token_service_expiry_webhook_attempts_total{outcome=\"delivered\"}") ==
           2;
  }));
  EXPECT_EQ(https.hits().size(), 2u);
}

TEST_F(ExpiryWebhookTest, HttpsReceiverWithAnUntrustedCertificateGetsNothing) {
  absl::StatusOr<std::unique_ptr<TestCerts>> certs = TestCerts::Create();
  ASSERT_TRUE(certs.ok()) << certs.status();
  absl::StatusOr<TestCerts::Pair> pair = (*certs)->Server("impostor-ca", "hooks");
  ASSERT_TRUE(pair.ok()) << pair.status();
  ASSERT_TRUE((*certs)->Server("trusted-ca", "other").ok());
  Receiver impostor(*pair);
  MustCreate(Alice(), "over tls", 1);
  std::unique_ptr<ChildProcess> process;
  const std::string metrics =
      StartWithTrustStore(database_url_, impostor, (*certs)->Ca("trusted-ca"), process);
  ASSERT_FALSE(metrics.empty());
  // Both warnings tried, both refused at the handshake, and retried.
  ASSERT_TRUE(WaitFor([&] {
    return Metric(metrics, "token_service_expiry_webhook_attempts_total{outcome=\"failed\"}") >= 4;
  })) << process->Stderr();
  EXPECT_TRUE(impostor.hits().empty());
  EXPECT_EQ(Metric(metrics, "token_service_expiry_webhook_attempts_total{outcome=\"delivered\"}"),
            0);
  EXPECT_EQ(Metric(metrics, "token_service_expiry_warnings_pending"), 2);
  EXPECT_THAT(process->Stderr(), HasSubstr("\"msg\":\"expiry webhook attempt failed\""));
  EXPECT_THAT(Sql("SELECT DISTINCT last_error FROM expiry_warnings"),
              ElementsAre(::testing::Not(::testing::IsEmpty())));
}

TEST_F(ExpiryWebhookTest, StartUpErrorsNameTheFlagAndNeverTheSecret) {
  const auto run = [&](std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
    args.insert(args.begin(), {"--database_url", database_url_, "--listen", "127.0.0.1:0"});
    absl::StatusOr<ChildProcess::Result> result =
        ChildProcess::Run({TokenServiceBinary(), std::move(args), std::move(env), {"DATABASE_URL"}},
                          std::chrono::seconds(60));
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *result : ChildProcess::Result{};
  };
  ChildProcess::Result r = run({"--expiry_webhook_url", receiver_.url()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--expiry_webhook_secret: is required with --expiry_webhook_url"));

  r = run({"--expiry_warning_days", "7,0"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--expiry_warning_days: "));
  r = run({"--expiry_warning_days", "400"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--expiry_warning_days: "));
  r = run({}, {{"TOKEN_SERVICE_EXPIRY_WARNING_DAYS", "weekly"}});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("TOKEN_SERVICE_EXPIRY_WARNING_DAYS (--expiry_warning_days): "));

  // The secret from the environment, a bad URL: the error names the URL flag
  // and quotes neither the URL nor the secret.
  r = run({"--expiry_webhook_url", "ftp://hooks.example.com/x"},
          {{"TOKEN_SERVICE_EXPIRY_WEBHOOK_SECRET", kSecret}});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--expiry_webhook_url: must start with http:// or https://"));
  EXPECT_THAT(r.err + r.out, Not(HasSubstr(kSecret)));
  EXPECT_THAT(r.err, Not(HasSubstr("hooks.example.com")));
  r = run({"--expiry_webhook_url", receiver_.url(), "--expiry_webhook_secret", "short"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--expiry_webhook_secret: must be at least 16 characters"));
  EXPECT_THAT(r.err, Not(HasSubstr("short\n")));

  // --help shows the flags, never the secret's value.
  r = run({"--help"}, {{"TOKEN_SERVICE_EXPIRY_WEBHOOK_SECRET", kSecret}});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("--expiry_webhook_secret"));
  EXPECT_THAT(r.out + r.err, Not(HasSubstr(kSecret)));
}

}  // namespace
}  // namespace tokens::testing
