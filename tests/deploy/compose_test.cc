// docker-compose.yml: the services everyone relies on, wired to each other,
// to deploy/envoy/envoy.yaml and to deploy/Dockerfile, without a committed
// secret; TLS between the sidecar and token-service with the files the
// certs service really makes (deploy/tls/make-certs.sh, run here); health
// checks by the binaries' own probes. (The deploy_compose_config ctest has
// docker-compose validate it.)
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/net/forwarded_for.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/deploy/deploy_files.h"
#include "yaml-cpp/yaml.h"

namespace tokens::deploy_testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kEnvoyConfig[] = "deploy/envoy/envoy.yaml";

class DeployComposeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<YAML::Node> docs = LoadYamlDocuments(RepoPath("docker-compose.yml"));
    ASSERT_EQ(docs.size(), 1u);
    services_ = docs[0]["services"];
    ASSERT_TRUE(services_.IsMap());
    top_level_volumes_ = docs[0]["volumes"];
  }

  // Undefined (not a map) if there is no such service.
  YAML::Node Service(const std::string& name) const { return Get(services_, {name.c_str()}); }
  std::string Env(const std::string& service, const std::string& name) const {
    return ComposeEnvironment(Service(service))[name];
  }

  // The named volume `service` mounts at `target` ("" if none).
  std::string VolumeAt(const std::string& service, const std::string& target) const {
    for (const YAML::Node& volume : Service(service)["volumes"]) {
      std::vector<std::string> parts = absl::StrSplit(volume.as<std::string>(), ':');
      if (parts.size() >= 2 && parts[1] == target) return parts[0];
    }
    return "";
  }

  // The named volume and the path inside it of a file `service` reads at
  // `path` through a volume mount; {"", ""} if no mount holds it.
  std::pair<std::string, std::string> VolumeFileOf(const std::string& service,
                                                   const std::string& path) const {
    for (const YAML::Node& volume : Service(service)["volumes"]) {
      std::vector<std::string> parts = absl::StrSplit(volume.as<std::string>(), ':');
      if (parts.size() >= 2 && absl::StartsWith(path, parts[1] + "/")) {
        EXPECT_TRUE(parts.size() == 3 && parts[2] == "ro")
            << service << " mounts " << parts[0] << " writable";
        return {parts[0], path.substr(parts[1].size() + 1)};
      }
    }
    return {"", ""};
  }

  // depends_on: {name: {condition: ...}}; "" if `service` does not wait for `on`.
  std::string Condition(const std::string& service, const std::string& on) const {
    const YAML::Node depends = Service(service)["depends_on"];
    if (!depends.IsMap() || !depends[on]) return "";
    return depends[on]["condition"].as<std::string>();
  }

  YAML::Node services_;
  YAML::Node top_level_volumes_;
};

TEST_F(DeployComposeTest, HasEveryService) {
  for (const char* name :
       {"postgres", "certs", "init", "token-service", "token-sidecar", "envoy", "demo-upstream"}) {
    EXPECT_TRUE(Service(name).IsMap()) << "no service " << name;
  }
}

// The port an Envoy listener of kEnvoyConfig binds; -1 if there is no such listener.
int EnvoyListenerPort(const std::string& name) {
  std::vector<YAML::Node> docs = LoadYamlDocuments(RepoPath(kEnvoyConfig));
  if (docs.size() != 1) return -1;
  std::optional<YAML::Node> listener =
      FindNamed(Get(docs[0], {"static_resources", "listeners"}), name);
  if (!listener) return -1;
  return Get(*listener, {"address", "socket_address", "port_value"}).as<int>(-1);
}

TEST_F(DeployComposeTest, EnvoyRunsTheCheckedConfigAndIsTheOnlyPublishedPort) {
  const YAML::Node envoy = Service("envoy");
  EXPECT_THAT(envoy["image"].as<std::string>(), StartsWith("envoyproxy/envoy:v"))
      << "pin Envoy's version";
  const std::string volume = VolumeAt("envoy", "/etc/envoy/envoy.yaml");
  absl::string_view source = volume;
  absl::ConsumePrefix(&source, "./");
  EXPECT_EQ(source, kEnvoyConfig);
  // The checked app on every address; the console, whose plain HTTP carries
  // admins' bearer tokens, on the Docker host's loopback only.
  ASSERT_EQ(envoy["ports"].size(), 2u);
  EXPECT_EQ(envoy["ports"][0].as<std::string>(),
            absl::StrCat(EnvoyListenerPort("ingress"), ":", EnvoyListenerPort("ingress")));
  EXPECT_EQ(
      envoy["ports"][1].as<std::string>(),
      absl::StrCat("127.0.0.1:", EnvoyListenerPort("console"), ":", EnvoyListenerPort("console")));
  for (const auto& entry : services_) {
    if (entry.first.as<std::string>() != "envoy") {
      EXPECT_FALSE(entry.second["ports"]) << entry.first.as<std::string>() << " publishes a port";
    }
  }
}

TEST_F(DeployComposeTest, EnvoysClustersAreTheServicesWhereTheyListen) {
  std::optional<Endpoint> sidecar = EnvoyClusterEndpoint(kEnvoyConfig, "token_sidecar");
  ASSERT_TRUE(sidecar);
  EXPECT_EQ(sidecar->host, "token-sidecar");
  ASSERT_TRUE(Service(sidecar->host).IsMap()) << "no compose service " << sidecar->host;
  EXPECT_EQ(Env(sidecar->host, "TOKEN_SIDECAR_LISTEN"), absl::StrCat("0.0.0.0:", sidecar->port));

  std::optional<Endpoint> upstream = EnvoyClusterEndpoint(kEnvoyConfig, "demo_upstream");
  ASSERT_TRUE(upstream);
  EXPECT_EQ(upstream->host, "demo-upstream");
  ASSERT_TRUE(Service(upstream->host).IsMap()) << "no compose service " << upstream->host;
  EXPECT_EQ(Env(upstream->host, "DEMO_UPSTREAM_LISTEN"), absl::StrCat("0.0.0.0:", upstream->port));

  // The console listener's cluster: token-service's HTTP face, on every
  // address of its container (the loopback default would refuse Envoy).
  std::optional<Endpoint> http = EnvoyClusterEndpoint(kEnvoyConfig, "token_service_http");
  ASSERT_TRUE(http);
  EXPECT_EQ(http->host, "token-service");
  EXPECT_EQ(Env(http->host, "TOKEN_SERVICE_HTTP_LISTEN"), absl::StrCat("0.0.0.0:", http->port));
}

// Envoy's console listener appends the client to x-forwarded-for
// (envoy_config_test); token-service believes it from Envoy's fixed address
// and from nobody else on the network (any container could write one).
TEST_F(DeployComposeTest, TokenServiceTrustsXForwardedForFromEnvoyAlone) {
  const absl::StatusOr<TrustedProxies> trusted =
      TrustedProxies::Parse(Env("token-service", "TOKEN_SERVICE_HTTP_TRUSTED_PROXIES"));
  ASSERT_TRUE(trusted.ok()) << trusted.status();
  ASSERT_EQ(trusted->prefixes().size(), 1u) << "trust Envoy's address alone";
  EXPECT_EQ(trusted->prefixes()[0].length, 128) << "a prefix, not Envoy's address";

  const std::string envoy_address =
      Get(Service("envoy"), {"networks", "default", "ipv4_address"}).as<std::string>("");
  const std::optional<IpAddressBytes> envoy = ParseIpAddress(envoy_address);
  ASSERT_TRUE(envoy) << "envoy has no fixed ipv4_address on the default network";
  EXPECT_TRUE(trusted->Contains(*envoy)) << envoy_address;

  // The address is one of the network's, which has a fixed subnet.
  const YAML::Node ipam = Get(LoadYamlDocuments(RepoPath("docker-compose.yml"))[0],
                              {"networks", "default", "ipam", "config"});
  ASSERT_EQ(ipam.size(), 1u);
  const absl::StatusOr<IpPrefix> subnet = ParseIpPrefix(ipam[0]["subnet"].as<std::string>(""));
  ASSERT_TRUE(subnet.ok()) << subnet.status();
  EXPECT_TRUE(subnet->Contains(*envoy)) << envoy_address;
  // Every other service is on that network only (none names networks).
  for (const auto& entry : services_) {
    if (entry.first.as<std::string>() == "envoy") continue;
    EXPECT_FALSE(entry.second["networks"]) << entry.first.as<std::string>();
  }
}

TEST_F(DeployComposeTest, TheSidecarDialsTheTokenServicesFeedWhereItListens) {
  const std::string listen = Env("token-service", "TOKEN_SERVICE_LISTEN");
  EXPECT_EQ(HostOf(listen), "0.0.0.0");
  const std::string feed = Env("token-service", "TOKEN_SERVICE_SYNC_LISTEN");
  EXPECT_EQ(HostOf(feed), "0.0.0.0");
  EXPECT_NE(PortOf(feed), PortOf(listen));
  EXPECT_EQ(Env("token-sidecar", "TOKEN_SERVICE_ADDR"),
            absl::StrCat("token-service:", PortOf(feed)));
}

TEST_F(DeployComposeTest, TokenServiceGetsOnlyVariablesItReads) {
  const std::set<std::string> known = DocumentedEnvironmentVariables("### token-service");
  for (const char* service : {"init", "token-service"}) {
    for (const auto& [name, value] : ComposeEnvironment(Service(service))) {
      EXPECT_EQ(known.count(name), 1u)
          << service << ": " << name << " is not a token-service variable";
    }
  }
}

TEST_F(DeployComposeTest, TheSidecarGetsOnlyVariablesItReads) {
  const std::set<std::string> known = SidecarEnvironmentVariables();
  for (const auto& [name, value] : ComposeEnvironment(Service("token-sidecar"))) {
    EXPECT_EQ(known.count(name), 1u) << name << " is not a token-sidecar variable";
  }
  EXPECT_EQ(PortOf(Env("token-sidecar", "TOKEN_SIDECAR_METRICS_LISTEN")),
            SidecarDefaultPort("metrics_listen"));
}

TEST_F(DeployComposeTest, StartsInOrder) {
  EXPECT_TRUE(Service("postgres")["healthcheck"]["test"]) << "init waits for postgres' health";
  EXPECT_EQ(Condition("init", "postgres"), "service_healthy");
  EXPECT_EQ(Service("init")["restart"].as<std::string>(), "no");
  EXPECT_EQ(Condition("token-service", "init"), "service_completed_successfully");
  EXPECT_EQ(Condition("token-sidecar", "init"), "service_completed_successfully");
  EXPECT_EQ(Service("certs")["restart"].as<std::string>(), "no");
  EXPECT_EQ(Condition("token-service", "certs"), "service_completed_successfully");
  EXPECT_EQ(Condition("token-sidecar", "certs"), "service_completed_successfully");
  // The health checks below make these mean "answers SERVING".
  EXPECT_EQ(Condition("token-sidecar", "token-service"), "service_healthy");
  EXPECT_EQ(Condition("envoy", "token-sidecar"), "service_healthy");
  EXPECT_EQ(Condition("envoy", "token-service"), "service_healthy") << "it routes :8090 there";
}

TEST_F(DeployComposeTest, InitMigratesAndBootstrapsBothUsers) {
  const std::string script = Service("init")["command"][0].as<std::string>();
  EXPECT_THAT(script, HasSubstr("token-service migrate"));
  EXPECT_THAT(script, HasSubstr("token-service bootstrap-service --user sidecar"));
  EXPECT_THAT(script, HasSubstr("token-service bootstrap-admin --user admin"));
  // The schema comes before the users.
  EXPECT_LT(script.find("migrate"), script.find("bootstrap-service"));
}

TEST_F(DeployComposeTest, ImagesAreBuiltFromTheDockerfilesTargets) {
  const std::vector<DockerStage> stages = ParseDockerfile(ReadFile(RepoPath("deploy/Dockerfile")));
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"certs", "make-certs"},
      {"init", "token-service"},
      {"token-service", "token-service"},
      {"token-sidecar", "token-sidecar"},
      {"demo-upstream", "demo-upstream"}};
  for (const auto& [service, target] : expected) {
    const YAML::Node build = Service(service)["build"];
    ASSERT_TRUE(build.IsMap()) << service;
    EXPECT_EQ(build["context"].as<std::string>(), ".") << service;
    EXPECT_EQ(build["dockerfile"].as<std::string>(), "deploy/Dockerfile") << service;
    EXPECT_EQ(build["target"].as<std::string>(), target) << service;
    EXPECT_NE(FindStage(stages, target), nullptr) << "deploy/Dockerfile has no stage " << target;
  }
}

TEST_F(DeployComposeTest, TheSidecarsTokenTravelsThroughASharedVolumeNotTheFile) {
  const std::string volume = VolumeAt("init", "/run/tokens");
  ASSERT_FALSE(volume.empty()) << "init mounts nothing at /run/tokens";
  EXPECT_TRUE(top_level_volumes_[volume]) << "volume " << volume << " is not declared";
  std::string sidecar_volume = VolumeAt("token-sidecar", "/run/tokens");
  EXPECT_EQ(sidecar_volume, volume);

  EXPECT_THAT(Service("init")["command"][0].as<std::string>(),
              HasSubstr("/run/tokens/sidecar-token"));
  const std::string sidecar_script = Service("token-sidecar")["command"][0].as<std::string>();
  // $$ is compose's escape for the shell's $.
  EXPECT_THAT(sidecar_script,
              HasSubstr("TOKEN_SIDECAR_SERVICE_TOKEN=$$(cat /run/tokens/sidecar-token)"));
  EXPECT_THAT(sidecar_script, HasSubstr("exec token-sidecar"));
  EXPECT_EQ(ComposeEnvironment(Service("token-sidecar")).count("TOKEN_SIDECAR_SERVICE_TOKEN"), 0u);
}

TEST_F(DeployComposeTest, TheAdminTokenGoesToAVolumeOnlyInitMountsNotToTheLog) {
  const std::string volume = VolumeAt("init", "/run/admin");
  ASSERT_FALSE(volume.empty()) << "init mounts nothing at /run/admin";
  EXPECT_TRUE(top_level_volumes_[volume]) << "volume " << volume << " is not declared";
  for (const auto& service : services_) {
    const std::string name = service.first.as<std::string>();
    if (name == "init") continue;
    for (const YAML::Node& mount : service.second["volumes"]) {
      EXPECT_FALSE(absl::StartsWith(mount.as<std::string>(), volume + ":"))
          << name << " mounts the admin token's volume";
    }
  }
  // Redirected into the volume, so nothing reaches init's log.
  EXPECT_THAT(Service("init")["command"][0].as<std::string>(),
              HasSubstr("token-service bootstrap-admin --user admin > /run/admin/"));
}

TEST_F(DeployComposeTest, ThePasswordIsRequiredFromTheEnvironmentNeverCommitted) {
  EXPECT_THAT(Env("postgres", "POSTGRES_PASSWORD"), StartsWith("${POSTGRES_PASSWORD:?"))
      << "no default password: compose must refuse to start without one";
  for (const char* service : {"init", "token-service"}) {
    const std::string url = Env(service, "DATABASE_URL");
    // postgres://user:PASSWORD@host...
    const size_t scheme = url.find("://");
    ASSERT_NE(scheme, std::string::npos) << service << ": " << url;
    const size_t colon = url.find(':', scheme + 3);
    ASSERT_NE(colon, std::string::npos) << service;
    EXPECT_THAT(url.substr(colon + 1), StartsWith("${POSTGRES_PASSWORD")) << service;
    EXPECT_THAT(url, HasSubstr("@postgres:5432/")) << service;
  }
}

// --- TLS ---------------------------------------------------------------

// The TLS file variables of the two servers, and which service sets them.
const std::vector<std::pair<std::string, std::string>> kTlsFiles = {
    {"token-service", "TOKEN_SERVICE_TLS_CERT"},
    {"token-service", "TOKEN_SERVICE_TLS_KEY"},
    {"token-service", "TOKEN_SERVICE_TLS_CLIENT_CA"},
    {"token-sidecar", "TOKEN_SIDECAR_TOKEN_SERVICE_CA"},
    {"token-sidecar", "TOKEN_SIDECAR_TOKEN_SERVICE_CLIENT_CERT"},
    {"token-sidecar", "TOKEN_SIDECAR_TOKEN_SERVICE_CLIENT_KEY"},
};

TEST_F(DeployComposeTest, EveryTlsFileComesReadOnlyFromAVolumeOnlyCertsWrites) {
  std::map<std::string, std::string> volume_of;  // volume -> the server that reads it
  for (const auto& [service, variable] : kTlsFiles) {
    const std::string path = Env(service, variable);
    ASSERT_FALSE(path.empty()) << service << " does not set " << variable;
    const std::string volume = VolumeFileOf(service, path).first;
    ASSERT_FALSE(volume.empty()) << service << ": " << variable << "=" << path
                                 << " is in no volume it mounts";
    EXPECT_TRUE(top_level_volumes_[volume]) << "volume " << volume << " is not declared";
    EXPECT_TRUE(volume_of.emplace(volume, service).first->second == service)
        << "token-service and the sidecar share volume " << volume;
    volume_of[volume] = service;
  }
  // Each server has a volume of its own, which only certs and it mount:
  // neither can read the other's key.
  EXPECT_EQ(volume_of.size(), 2u);
  for (const auto& [volume, reader] : volume_of) {
    for (const auto& entry : services_) {
      const std::string name = entry.first.as<std::string>();
      bool mounts = false;
      for (const YAML::Node& mount : entry.second["volumes"]) {
        mounts |= absl::StartsWith(mount.as<std::string>(), volume + ":");
      }
      EXPECT_EQ(mounts, name == "certs" || name == reader) << name << " and volume " << volume;
    }
  }
}

// Runs the certs service's command as written, with deploy/tls/make-certs.sh
// and /run/tls moved to a fresh directory, and returns that directory.
std::string RunCertsService(const YAML::Node& certs) {
  static int runs = 0;
  const std::string root =
      absl::StrCat(::testing::TempDir(), "/compose-certs-", getpid(), "-", ++runs);
  std::string command = certs["command"][0].as<std::string>();
  // $$ is compose's escape for the shell's $.
  command = absl::StrReplaceAll(command, {{"$$", "$"}, {"/run/tls", root}});
  for (const YAML::Node& volume : certs["volumes"]) {
    std::vector<std::string> parts = absl::StrSplit(volume.as<std::string>(), ':');
    EXPECT_TRUE(absl::StartsWith(parts[1], "/run/tls/")) << parts[1];
    std::filesystem::create_directories(root + parts[1].substr(std::string("/run/tls").size()));
  }
  const ToolResult result =
      RunTool("/bin/sh", {"-ec", command},
              {{"PATH", absl::StrCat(RepoPath("deploy/tls"), ":", getenv("PATH"))}});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  return root;
}

// openssl verify of `cert` against `ca`, with extra options; "" if it passes.
std::string Verify(const std::string& ca, const std::string& cert,
                   std::vector<std::string> options) {
  std::vector<std::string> args = {"verify", "-CAfile", ca};
  args.insert(args.end(), options.begin(), options.end());
  args.push_back(cert);
  const ToolResult result = RunTool("/usr/bin/openssl", args);
  return result.exit_code == 0 ? "" : "openssl verify failed: " + result.out + result.err;
}

TEST_F(DeployComposeTest, TheCertsServiceMakesWhatTheServersRead) {
  const std::string root = RunCertsService(Service("certs"));
  // Where each server's file is, on this machine.
  auto local = [&](const std::string& service, const std::string& variable) {
    const std::string path = Env(service, variable);
    const auto [volume, file] = VolumeFileOf(service, path);
    for (const YAML::Node& mount : Service("certs")["volumes"]) {
      std::vector<std::string> parts = absl::StrSplit(mount.as<std::string>(), ':');
      if (parts[0] == volume) {
        return absl::StrCat(root, parts[1].substr(std::string("/run/tls").size()), "/", file);
      }
    }
    ADD_FAILURE() << "certs does not mount " << volume;
    return std::string();
  };
  for (const auto& [service, variable] : kTlsFiles) {
    EXPECT_TRUE(std::filesystem::is_regular_file(local(service, variable)))
        << service << ": " << variable << " names a file certs does not make";
  }
  const std::string server_cert = local("token-service", "TOKEN_SERVICE_TLS_CERT");
  const std::string client_ca = local("token-service", "TOKEN_SERVICE_TLS_CLIENT_CA");
  const std::string sidecar_ca = local("token-sidecar", "TOKEN_SIDECAR_TOKEN_SERVICE_CA");
  const std::string client_cert = local("token-sidecar", "TOKEN_SIDECAR_TOKEN_SERVICE_CLIENT_CERT");
  // The sidecar accepts token-service's certificate for the host it dials.
  const std::string host = HostOf(Env("token-sidecar", "TOKEN_SERVICE_ADDR"));
  EXPECT_EQ(Verify(sidecar_ca, server_cert, {"-purpose", "sslserver", "-verify_hostname", host}),
            "");
  // token-service accepts the sidecar's client certificate, and its own as
  // the probe's client certificate.
  EXPECT_EQ(Verify(client_ca, client_cert, {"-purpose", "sslclient"}), "");
  EXPECT_EQ(Verify(client_ca, server_cert, {"-purpose", "sslclient"}), "");
  // ... and the check can fail: not for a host the certificate does not name.
  EXPECT_NE(Verify(sidecar_ca, server_cert, {"-verify_hostname", "elsewhere.example"}), "");

  // No server volume holds a key but its own; the CA's stays in certs' own.
  for (const auto& [service, variable] :
       {std::pair<std::string, std::string>{"token-service", "TOKEN_SERVICE_TLS_KEY"},
        {"token-sidecar", "TOKEN_SIDECAR_TOKEN_SERVICE_CLIENT_KEY"}}) {
    const std::string key = local(service, variable);
    std::vector<std::string> keys;
    for (const auto& entry :
         std::filesystem::directory_iterator(std::filesystem::path(key).parent_path())) {
      if (entry.path().extension() == ".key") keys.push_back(entry.path().string());
    }
    EXPECT_THAT(keys, ::testing::ElementsAre(key)) << service;
  }
  std::filesystem::remove_all(root);
}

TEST_F(DeployComposeTest, HealthChecksRunTheProbeOnEveryGrpcListener) {
  const std::vector<std::pair<std::string, std::vector<std::string>>> servers = {
      {"token-service", {"TOKEN_SERVICE_LISTEN", "TOKEN_SERVICE_SYNC_LISTEN"}},
      {"token-sidecar", {"TOKEN_SIDECAR_LISTEN"}}};
  for (const auto& [service, listens] : servers) {
    const YAML::Node check = Service(service)["healthcheck"];
    ASSERT_TRUE(check["test"]) << service << " has no health check";
    std::string command;
    for (size_t i = 1; i < check["test"].size(); ++i) {
      absl::StrAppend(&command, " ", check["test"][i].as<std::string>());
    }
    std::set<int> listening;
    for (const std::string& listen : listens) listening.insert(PortOf(Env(service, listen)));
    std::set<int> probed;
    absl::Duration total;
    const std::vector<ProbeCall> calls = ProbeCalls(command, service);
    ASSERT_FALSE(calls.empty()) << service << " is not checked by `" << service << " probe`";
    for (const ProbeCall& call : calls) {
      const std::string address =
          call.address.empty() ? DefaultProbeAddress(Env(service, listens[0])) : call.address;
      EXPECT_EQ(HostOf(address), "127.0.0.1") << service;
      // The real binary takes these flags, with the service's settings but
      // its TLS files, which exist only in the volumes.
      std::map<std::string, std::string> env;
      for (const auto& [name, value] : ComposeEnvironment(Service(service))) {
        if (absl::StrContains(name, "_TLS_") || absl::StrContains(name, "_TOKEN_SERVICE_"))
          continue;
        env[name] = value;
      }
      ExpectProbeDials(service == "token-service" ? TOKEN_SERVICE_BINARY : TOKEN_SIDECAR_BINARY,
                       service, call, env, address);
      probed.insert(PortOf(address));
      total += call.timeout;
    }
    EXPECT_EQ(probed, listening) << service;
    if (service == "token-service") {
      // ... and its HTTP face answers the console (HEAD / within 1 s).
      const int http_port = PortOf(Env(service, "TOKEN_SERVICE_HTTP_LISTEN"));
      EXPECT_THAT(command, HasSubstr(absl::StrCat("timeout 1 bash -c 'exec 3<>/dev/tcp/127.0.0.1/",
                                                  http_port, " ")));
      EXPECT_THAT(command, HasSubstr("HEAD / HTTP/1.0"));
      EXPECT_THAT(command, HasSubstr("grep -q \" 200 \""));
      total += absl::Seconds(1);
    }
    absl::Duration timeout;
    ASSERT_TRUE(absl::ParseDuration(check["timeout"].as<std::string>("30s"), &timeout));
    EXPECT_GE(timeout, total) << service << ": the probes' own timeouts must fit";
  }
}

}  // namespace
}  // namespace tokens::deploy_testing
