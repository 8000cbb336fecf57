// deploy/k8s: every manifest well-formed and listed by kustomization.yaml;
// token-service and the example app wired to each other and to the pod's
// Envoy configuration; secrets only ever referenced; nothing runs as root.
#include <algorithm>
#include <filesystem>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/deploy/deploy_files.h"
#include "yaml-cpp/yaml.h"

namespace tokens::deploy_testing {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kDir[] = "deploy/k8s";
constexpr char kPodEnvoyConfig[] = "deploy/k8s/envoy/envoy-pod.yaml";
// Environment variables that carry secrets: only ever from a Secret.
constexpr const char* kSecretVariables[] = {"DATABASE_URL", "TOKEN_SIDECAR_SERVICE_TOKEN",
                                            "TOKEN_SERVICE_PAGE_TOKEN_KEY"};

// The manifests: deploy/k8s/*.yaml but kustomization.yaml.
std::vector<std::string> ManifestFiles() {
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(RepoPath(kDir))) {
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && absl::EndsWith(name, ".yaml") && name != "kustomization.yaml") {
      files.push_back(name);
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

bool IsTemplate(const std::string& file) { return absl::EndsWith(file, ".example.yaml"); }

// Every resource of the non-template manifests.
std::vector<YAML::Node> Resources() {
  std::vector<YAML::Node> resources;
  for (const std::string& file : ManifestFiles()) {
    if (IsTemplate(file)) continue;
    for (const YAML::Node& doc : LoadYamlDocuments(RepoPath(absl::StrCat(kDir, "/", file)))) {
      resources.push_back(doc);
    }
  }
  return resources;
}

std::optional<YAML::Node> Resource(const std::string& kind, const std::string& name) {
  for (const YAML::Node& r : Resources()) {
    if (r["kind"].as<std::string>() == kind && r["metadata"]["name"].as<std::string>() == name) {
      return r;
    }
  }
  return std::nullopt;
}

// Calls `f(pod_spec, container)` for every container and init container.
void ForEachContainer(const std::function<void(const YAML::Node&, const YAML::Node&)>& f) {
  for (const YAML::Node& r : Resources()) {
    const YAML::Node pod = Get(r, {"spec", "template", "spec"});
    if (!pod.IsMap()) continue;
    for (const char* list : {"initContainers", "containers"}) {
      for (const YAML::Node& container : pod[list]) f(pod, container);
    }
  }
}

// A container's env entry `name` (undefined if absent).
YAML::Node EnvEntry(const YAML::Node& container, const std::string& name) {
  std::optional<YAML::Node> entry = FindNamed(container["env"], name);
  return entry ? *entry : YAML::Node(YAML::NodeType::Undefined);
}

// A cluster's endpoint port in the pod's Envoy configuration.
int PodEnvoyPort(const std::string& cluster) {
  std::optional<Endpoint> endpoint = EnvoyClusterEndpoint(kPodEnvoyConfig, cluster);
  EXPECT_TRUE(endpoint) << kPodEnvoyConfig << ": no cluster " << cluster;
  return endpoint ? endpoint->port : -1;
}

TEST(DeployK8sTest, EveryDocumentIsAResourceWithAName) {
  ASSERT_FALSE(ManifestFiles().empty());
  for (const std::string& file : ManifestFiles()) {
    std::vector<YAML::Node> docs = LoadYamlDocuments(RepoPath(absl::StrCat(kDir, "/", file)));
    EXPECT_FALSE(docs.empty()) << file;
    for (const YAML::Node& doc : docs) {
      ASSERT_TRUE(doc.IsMap()) << file;
      EXPECT_TRUE(doc["apiVersion"]) << file;
      EXPECT_TRUE(doc["kind"]) << file;
      EXPECT_TRUE(doc["metadata"]["name"]) << file;
    }
  }
}

TEST(DeployK8sTest, KustomizationListsEveryManifestButTheSecretTemplates) {
  std::vector<YAML::Node> docs = LoadYamlDocuments(RepoPath("deploy/k8s/kustomization.yaml"));
  ASSERT_EQ(docs.size(), 1u);
  const YAML::Node kustomization = docs[0];
  EXPECT_EQ(kustomization["kind"].as<std::string>(), "Kustomization");
  std::set<std::string> listed;
  for (const YAML::Node& r : kustomization["resources"]) listed.insert(r.as<std::string>());
  for (const std::string& file : ManifestFiles()) {
    // A template applied by accident would replace a real secret.
    EXPECT_EQ(listed.count(file), IsTemplate(file) ? 0u : 1u) << file;
  }
  for (const std::string& r : listed) {
    EXPECT_TRUE(std::filesystem::exists(RepoPath(absl::StrCat(kDir, "/", r)))) << r;
  }
  // Our images have their tag set in one place.
  std::set<std::string> images;
  for (const YAML::Node& image : kustomization["images"]) {
    images.insert(image["name"].as<std::string>());
  }
  ForEachContainer([&](const YAML::Node&, const YAML::Node& container) {
    const std::string image = container["image"].as<std::string>();
    if (absl::StartsWith(image, "user-tokens/")) {
      EXPECT_EQ(images.count(image), 1u) << image << " has no entry under images:";
    }
  });
}

TEST(DeployK8sTest, TheEnvoyConfigMapIsGeneratedFromThePodConfig) {
  std::vector<YAML::Node> docs = LoadYamlDocuments(RepoPath("deploy/k8s/kustomization.yaml"));
  ASSERT_EQ(docs.size(), 1u);
  std::optional<YAML::Node> generator = FindNamed(docs[0]["configMapGenerator"], "envoy-config");
  ASSERT_TRUE(generator);
  ASSERT_EQ((*generator)["files"].size(), 1u);
  EXPECT_EQ((*generator)["files"][0].as<std::string>(), "envoy.yaml=envoy/envoy-pod.yaml");

  std::optional<YAML::Node> app = Resource("Deployment", "example-app");
  ASSERT_TRUE(app);
  const YAML::Node pod = (*app)["spec"]["template"]["spec"];
  std::optional<YAML::Node> volume = FindNamed(pod["volumes"], "envoy-config");
  ASSERT_TRUE(volume);
  EXPECT_EQ((*volume)["configMap"]["name"].as<std::string>(), "envoy-config");
  std::optional<YAML::Node> envoy = FindNamed(pod["containers"], "envoy");
  ASSERT_TRUE(envoy);
  std::optional<YAML::Node> mount = FindNamed((*envoy)["volumeMounts"], "envoy-config");
  ASSERT_TRUE(mount);
  EXPECT_EQ((*mount)["mountPath"].as<std::string>(), "/etc/envoy");
  EXPECT_THAT((*envoy)["args"].as<std::vector<std::string>>(), Contains("/etc/envoy/envoy.yaml"));
}

TEST(DeployK8sTest, TokenServiceRunsTwoReplicasAfterTheMigration) {
  std::optional<YAML::Node> deployment = Resource("Deployment", "token-service");
  ASSERT_TRUE(deployment);
  EXPECT_EQ((*deployment)["spec"]["replicas"].as<int>(), 2);
  const YAML::Node pod = (*deployment)["spec"]["template"]["spec"];

  ASSERT_EQ(pod["initContainers"].size(), 1u);
  const YAML::Node migrate = pod["initContainers"][0];
  EXPECT_THAT(migrate["args"].as<std::vector<std::string>>(), ElementsAre("migrate"));

  std::optional<YAML::Node> server = FindNamed(pod["containers"], "token-service");
  ASSERT_TRUE(server);
  EXPECT_EQ(migrate["image"].as<std::string>(), (*server)["image"].as<std::string>());
  for (const YAML::Node& container : {migrate, *server}) {
    const YAML::Node url = EnvEntry(container, "DATABASE_URL");
    EXPECT_EQ(url["valueFrom"]["secretKeyRef"]["name"].as<std::string>(), "token-service-db");
    EXPECT_EQ(url["valueFrom"]["secretKeyRef"]["key"].as<std::string>(), "DATABASE_URL");
  }
  // Both replicas seal page tokens with one key, so that the next page may
  // land on either (without it, each has a random key of its own).
  const YAML::Node page_key = EnvEntry(*server, "TOKEN_SERVICE_PAGE_TOKEN_KEY");
  ASSERT_TRUE(page_key) << "the replicas need one --page_token_key";
  EXPECT_EQ(page_key["valueFrom"]["secretKeyRef"]["name"].as<std::string>(),
            "token-service-page-token");
  EXPECT_EQ(page_key["valueFrom"]["secretKeyRef"]["key"].as<std::string>(),
            "TOKEN_SERVICE_PAGE_TOKEN_KEY");

  const int grpc_port =
      PortOf(EnvEntry(*server, "TOKEN_SERVICE_LISTEN")["value"].as<std::string>());
  EXPECT_EQ((*server)["readinessProbe"]["grpc"]["port"].as<int>(), grpc_port);
  EXPECT_EQ((*server)["livenessProbe"]["grpc"]["port"].as<int>(), grpc_port);
  EXPECT_TRUE((*server)["resources"]["requests"]);
  EXPECT_TRUE((*server)["resources"]["limits"]["memory"]);

  // The Service exposes the gRPC and metrics ports the container listens on.
  std::optional<YAML::Node> service = Resource("Service", "token-service");
  ASSERT_TRUE(service);
  const int metrics_port =
      PortOf(EnvEntry(*server, "TOKEN_SERVICE_METRICS_LISTEN")["value"].as<std::string>());
  std::set<int> ports;
  for (const YAML::Node& port : (*service)["spec"]["ports"]) ports.insert(port["port"].as<int>());
  EXPECT_EQ(ports, (std::set<int>{grpc_port, metrics_port}));
}

TEST(DeployK8sTest, TheExampleAppPodIsEnvoyTheSidecarAndTheApp) {
  std::optional<YAML::Node> app = Resource("Deployment", "example-app");
  ASSERT_TRUE(app);
  const YAML::Node pod = (*app)["spec"]["template"]["spec"];
  std::optional<YAML::Node> sidecar = FindNamed(pod["containers"], "token-sidecar");
  std::optional<YAML::Node> envoy = FindNamed(pod["containers"], "envoy");
  std::optional<YAML::Node> upstream = FindNamed(pod["containers"], "demo-upstream");
  ASSERT_TRUE(sidecar && envoy && upstream);
  EXPECT_EQ(pod["containers"].size(), 3u);

  // The sidecar: where the pod's Envoy dials it, ready once it has its snapshot.
  const int sidecar_port =
      PortOf(EnvEntry(*sidecar, "TOKEN_SIDECAR_LISTEN")["value"].as<std::string>());
  EXPECT_EQ(sidecar_port, SidecarDefaultPort("listen"));
  EXPECT_EQ(sidecar_port, PodEnvoyPort("token_sidecar"));
  EXPECT_EQ((*sidecar)["readinessProbe"]["grpc"]["port"].as<int>(), sidecar_port);
  const std::set<std::string> known = SidecarEnvironmentVariables();
  for (const YAML::Node& entry : (*sidecar)["env"]) {
    EXPECT_EQ(known.count(entry["name"].as<std::string>()), 1u)
        << entry["name"].as<std::string>() << " is not a token-sidecar variable";
  }
  const int metrics_port =
      PortOf(EnvEntry(*sidecar, "TOKEN_SIDECAR_METRICS_LISTEN")["value"].as<std::string>());
  EXPECT_EQ(metrics_port, SidecarDefaultPort("metrics_listen"));
  std::optional<YAML::Node> metrics = FindNamed((*sidecar)["ports"], "metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ((*metrics)["containerPort"].as<int>(), metrics_port);
  const YAML::Node token = EnvEntry(*sidecar, "TOKEN_SIDECAR_SERVICE_TOKEN");
  EXPECT_EQ(token["valueFrom"]["secretKeyRef"]["name"].as<std::string>(), "token-sidecar");

  // ... and it reaches token-service through its Service.
  std::optional<YAML::Node> service = Resource("Service", "token-service");
  ASSERT_TRUE(service);
  std::optional<YAML::Node> grpc = FindNamed((*service)["spec"]["ports"], "grpc");
  ASSERT_TRUE(grpc);
  EXPECT_EQ(EnvEntry(*sidecar, "TOKEN_SERVICE_ADDR")["value"].as<std::string>(),
            absl::StrCat((*service)["metadata"]["name"].as<std::string>(), ":",
                         (*grpc)["port"].as<int>()));

  // The app trusts the x-auth-* headers: loopback only, behind Envoy.
  const std::string app_listen =
      EnvEntry(*upstream, "DEMO_UPSTREAM_LISTEN")["value"].as<std::string>();
  EXPECT_EQ(HostOf(app_listen), "127.0.0.1");
  EXPECT_EQ(PortOf(app_listen), PodEnvoyPort("demo_upstream"));
  EXPECT_FALSE((*upstream)["ports"]) << "the app must not be reachable from outside the pod";

  // The Service exposes Envoy's listener and nothing else.
  std::optional<YAML::Node> app_service = Resource("Service", "example-app");
  ASSERT_TRUE(app_service);
  const YAML::Node ports = (*app_service)["spec"]["ports"];
  ASSERT_EQ(ports.size(), 1u);
  EXPECT_EQ(ports[0]["port"].as<int>(), 8080);
  std::optional<YAML::Node> envoy_port =
      FindNamed((*envoy)["ports"], ports[0]["targetPort"].as<std::string>());
  ASSERT_TRUE(envoy_port) << "the Service's targetPort is not an Envoy port";
  EXPECT_EQ((*envoy_port)["containerPort"].as<int>(), 8080);
  EXPECT_THAT((*envoy)["image"].as<std::string>(), ::testing::StartsWith("envoyproxy/envoy:v"));
}

TEST(DeployK8sTest, SecretsAreOnlyEverReferenced) {
  int checked = 0;
  ForEachContainer([&](const YAML::Node&, const YAML::Node& container) {
    const std::string name = container["name"].as<std::string>();
    for (const char* variable : kSecretVariables) {
      const YAML::Node entry = EnvEntry(container, variable);
      if (!entry) continue;
      ++checked;
      EXPECT_FALSE(entry["value"]) << name << " sets " << variable << " literally";
      EXPECT_TRUE(entry["valueFrom"]["secretKeyRef"]) << name << ": " << variable;
    }
  });
  EXPECT_EQ(checked, 4) << "migrate, token-service (two) and token-sidecar read a secret";
  for (const YAML::Node& r : Resources()) {
    EXPECT_NE(r["kind"].as<std::string>(), "Secret")
        << r["metadata"]["name"].as<std::string>()
        << ": secrets are created with kubectl, never applied from the repository";
  }
}

TEST(DeployK8sTest, SecretTemplatesHoldOnlyPlaceholders) {
  for (const std::string& file : ManifestFiles()) {
    if (!IsTemplate(file)) continue;
    for (const YAML::Node& doc : LoadYamlDocuments(RepoPath(absl::StrCat(kDir, "/", file)))) {
      EXPECT_EQ(doc["kind"].as<std::string>(), "Secret") << file;
      EXPECT_FALSE(doc["data"]) << file << ": base64 data hides what it holds";
      for (const auto& entry : doc["stringData"]) {
        EXPECT_THAT(entry.second.as<std::string>(), HasSubstr("CHANGE_ME")) << file;
      }
    }
  }
}

TEST(DeployK8sTest, NothingRunsAsRootOrCanEscalate) {
  int containers = 0;
  ForEachContainer([&](const YAML::Node& pod, const YAML::Node& container) {
    ++containers;
    const std::string name = container["name"].as<std::string>();
    const YAML::Node pod_security = pod["securityContext"];
    const YAML::Node security = container["securityContext"];
    EXPECT_TRUE(pod_security["runAsNonRoot"].as<bool>(false)) << name;
    const int uid = security["runAsUser"] ? security["runAsUser"].as<int>()
                                          : pod_security["runAsUser"].as<int>(0);
    EXPECT_NE(uid, 0) << name;
    EXPECT_FALSE(security["allowPrivilegeEscalation"].as<bool>(true)) << name;
    EXPECT_TRUE(security["readOnlyRootFilesystem"].as<bool>(false)) << name;
  });
  EXPECT_GE(containers, 5);
}

TEST(DeployK8sTest, PrometheusScrapesAPortThePodServes) {
  int scraped = 0;
  for (const YAML::Node& r : Resources()) {
    const YAML::Node annotations = Get(r, {"spec", "template", "metadata", "annotations"});
    if (!annotations.IsMap() || !annotations["prometheus.io/scrape"]) continue;
    ++scraped;
    const int port = std::stoi(annotations["prometheus.io/port"].as<std::string>());
    bool served = false;
    for (const YAML::Node& container : r["spec"]["template"]["spec"]["containers"]) {
      for (const YAML::Node& p : container["ports"]) {
        served |= p["name"].as<std::string>() == "metrics" && p["containerPort"].as<int>() == port;
      }
    }
    EXPECT_TRUE(served) << r["metadata"]["name"].as<std::string>() << ": port " << port;
    EXPECT_EQ(annotations["prometheus.io/path"].as<std::string>(), "/metrics");
  }
  EXPECT_EQ(scraped, 2) << "token-service and the example app's sidecar";
}

}  // namespace
}  // namespace tokens::deploy_testing
