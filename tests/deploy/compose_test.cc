// docker-compose.yml: the services everyone relies on, wired to each other,
// to deploy/envoy/envoy.yaml and to deploy/Dockerfile, without a committed
// secret. (The deploy_compose_config ctest has docker-compose validate it.)
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
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
       {"postgres", "init", "token-service", "token-sidecar", "envoy", "demo-upstream"}) {
    EXPECT_TRUE(Service(name).IsMap()) << "no service " << name;
  }
}

TEST_F(DeployComposeTest, EnvoyRunsTheCheckedConfigAndIsTheOnlyPublishedPort) {
  const YAML::Node envoy = Service("envoy");
  EXPECT_THAT(envoy["image"].as<std::string>(), StartsWith("envoyproxy/envoy:v"))
      << "pin Envoy's version";
  const std::string volume = VolumeAt("envoy", "/etc/envoy/envoy.yaml");
  absl::string_view source = volume;
  absl::ConsumePrefix(&source, "./");
  EXPECT_EQ(source, kEnvoyConfig);
  ASSERT_EQ(envoy["ports"].size(), 1u);
  EXPECT_EQ(envoy["ports"][0].as<std::string>(), "8080:8080");
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
}

TEST_F(DeployComposeTest, TheSidecarDialsTheTokenServiceWhereItListens) {
  const std::string listen = Env("token-service", "TOKEN_SERVICE_LISTEN");
  EXPECT_EQ(HostOf(listen), "0.0.0.0");
  EXPECT_EQ(Env("token-sidecar", "TOKEN_SERVICE_ADDR"),
            absl::StrCat("token-service:", PortOf(listen)));
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
  EXPECT_NE(Condition("token-sidecar", "token-service"), "");
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

}  // namespace
}  // namespace tokens::deploy_testing
