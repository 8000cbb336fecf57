// deploy/k8s: every manifest well-formed and listed by kustomization.yaml;
// token-service and the example app wired to each other and to the pod's
// Envoy configuration; secrets only ever referenced; nothing runs as root;
// TLS files mounted from the secrets the templates describe; exec probes of
// the listeners; a network policy that fits the pods.
#include <algorithm>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/net/forwarded_for.h"
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
constexpr char kTlsTemplate[] = "deploy/k8s/tls-secrets.example.yaml";
// The label of every pod that runs a token-sidecar: the network policy
// admits such pods to token-service's feed.
constexpr char kSidecarLabel[] = "user-tokens/token-sidecar";
// Environment variables that name a TLS file (suffixes), of both binaries.
constexpr const char* kTlsFileVariables[] = {"_TLS_CERT",
                                             "_TLS_KEY",
                                             "_TLS_CLIENT_CA",
                                             "_TOKEN_SERVICE_CA",
                                             "_TOKEN_SERVICE_CLIENT_CERT",
                                             "_TOKEN_SERVICE_CLIENT_KEY"};
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

// The token-service container of its Deployment.
std::optional<YAML::Node> TokenServiceContainer() {
  std::optional<YAML::Node> deployment = Resource("Deployment", "token-service");
  if (!deployment) return std::nullopt;
  return FindNamed((*deployment)["spec"]["template"]["spec"]["containers"], "token-service");
}

// The port of token-service's HTTP face, from TOKEN_SERVICE_HTTP_LISTEN.
int HttpFacePort(const YAML::Node& container) {
  return PortOf(EnvEntry(container, "TOKEN_SERVICE_HTTP_LISTEN")["value"].as<std::string>(""));
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
  const int feed_port =
      PortOf(EnvEntry(*server, "TOKEN_SERVICE_SYNC_LISTEN")["value"].as<std::string>());
  EXPECT_GT(feed_port, 0) << "the feed has a port of its own, for the network policy";
  EXPECT_NE(feed_port, grpc_port);
  EXPECT_TRUE((*server)["resources"]["requests"]);
  EXPECT_TRUE((*server)["resources"]["limits"]["memory"]);
  const std::set<std::string> known = DocumentedEnvironmentVariables("### token-service");
  for (const YAML::Node& entry : (*server)["env"]) {
    EXPECT_EQ(known.count(entry["name"].as<std::string>()), 1u)
        << entry["name"].as<std::string>() << " is not a token-service variable";
  }

  // The Service exposes the gRPC, feed and metrics ports the container
  // listens on, each by the container port's name.
  std::optional<YAML::Node> service = Resource("Service", "token-service");
  ASSERT_TRUE(service);
  const int metrics_port =
      PortOf(EnvEntry(*server, "TOKEN_SERVICE_METRICS_LISTEN")["value"].as<std::string>());
  const std::string http_listen =
      EnvEntry(*server, "TOKEN_SERVICE_HTTP_LISTEN")["value"].as<std::string>("");
  // On every address: the loopback default would refuse the gateway's Envoy.
  EXPECT_EQ(HostOf(http_listen), "0.0.0.0");
  const int http_port = PortOf(http_listen);
  std::set<int> ports;
  for (const YAML::Node& port : (*service)["spec"]["ports"]) {
    ports.insert(port["port"].as<int>());
    std::optional<YAML::Node> target =
        FindNamed((*server)["ports"], port["targetPort"].as<std::string>());
    ASSERT_TRUE(target) << "targetPort " << port["targetPort"].as<std::string>();
    EXPECT_EQ((*target)["containerPort"].as<int>(), port["port"].as<int>());
  }
  EXPECT_EQ(ports, (std::set<int>{grpc_port, feed_port, metrics_port, http_port}));
}

TEST(DeployK8sTest, ThePodsEnvoyRoutesTheConsoleToTokenServicesHttpPortThroughItsService) {
  std::optional<YAML::Node> service = Resource("Service", "token-service");
  ASSERT_TRUE(service);
  std::optional<YAML::Node> server = TokenServiceContainer();
  ASSERT_TRUE(server);
  std::optional<YAML::Node> http = FindNamed((*service)["spec"]["ports"], "http");
  ASSERT_TRUE(http) << "token-service's Service has no port named http";
  EXPECT_EQ((*http)["port"].as<int>(), HttpFacePort(*server));

  std::optional<Endpoint> endpoint = EnvoyClusterEndpoint(kPodEnvoyConfig, "token_service_http");
  ASSERT_TRUE(endpoint) << kPodEnvoyConfig << ": no cluster token_service_http";
  EXPECT_EQ(endpoint->host, (*service)["metadata"]["name"].as<std::string>());
  EXPECT_EQ(endpoint->port, (*http)["port"].as<int>());
}

// The console's Envoy runs in the example-app pods, on the pod network:
// token-service trusts x-forwarded-for from there (a pod CIDR), not from
// loopback, where no Envoy of its pod is, nor from everywhere. That only
// gateways reach its HTTP port is OnlyTheGatewaysReachTheHttpFaceAndTheyMay.
TEST(DeployK8sTest, TokenServiceTrustsXForwardedForFromThePodNetwork) {
  std::optional<YAML::Node> deployment = Resource("Deployment", "token-service");
  ASSERT_TRUE(deployment);
  std::optional<YAML::Node> server =
      FindNamed((*deployment)["spec"]["template"]["spec"]["containers"], "token-service");
  ASSERT_TRUE(server);
  const YAML::Node entry = EnvEntry(*server, "TOKEN_SERVICE_HTTP_TRUSTED_PROXIES");
  ASSERT_TRUE(entry) << "TOKEN_SERVICE_HTTP_TRUSTED_PROXIES unset";
  const absl::StatusOr<TrustedProxies> trusted =
      TrustedProxies::Parse(entry["value"].as<std::string>(""));
  ASSERT_TRUE(trusted.ok()) << trusted.status();
  ASSERT_FALSE(trusted->empty());
  for (const char* loopback : {"127.0.0.1", "::1"}) {
    EXPECT_FALSE(trusted->Contains(*ParseIpAddress(loopback))) << loopback;
  }
  for (const IpPrefix& prefix : trusted->prefixes()) {
    EXPECT_GE(prefix.length, 96 + 8) << "wider than any pod network";
  }
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

  // The sidecar: where the pod's Envoy dials it, on loopback (so plaintext
  // there never leaves the pod).
  const std::string sidecar_listen =
      EnvEntry(*sidecar, "TOKEN_SIDECAR_LISTEN")["value"].as<std::string>();
  EXPECT_EQ(HostOf(sidecar_listen), "127.0.0.1");
  EXPECT_EQ(PortOf(sidecar_listen), SidecarDefaultPort("listen"));
  EXPECT_EQ(PortOf(sidecar_listen), PodEnvoyPort("token_sidecar"));
  EXPECT_FALSE(FindNamed((*sidecar)["ports"], "grpc")) << "the sidecar's gRPC port is loopback";
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

  // ... and it reaches token-service's feed through its Service.
  std::optional<YAML::Node> service = Resource("Service", "token-service");
  ASSERT_TRUE(service);
  std::optional<YAML::Node> feed = FindNamed((*service)["spec"]["ports"], "feed");
  ASSERT_TRUE(feed);
  EXPECT_EQ(EnvEntry(*sidecar, "TOKEN_SERVICE_ADDR")["value"].as<std::string>(),
            absl::StrCat((*service)["metadata"]["name"].as<std::string>(), ":",
                         (*feed)["port"].as<int>()));

  // The app trusts the x-auth-* headers: loopback only, behind Envoy.
  const std::string app_listen =
      EnvEntry(*upstream, "DEMO_UPSTREAM_LISTEN")["value"].as<std::string>();
  EXPECT_EQ(HostOf(app_listen), "127.0.0.1");
  EXPECT_EQ(PortOf(app_listen), PodEnvoyPort("demo_upstream"));
  EXPECT_FALSE((*upstream)["ports"]) << "the app must not be reachable from outside the pod";

  // The Service exposes Envoy's two listeners (the checked app, the
  // console) and nothing else, each at the port Envoy binds.
  std::optional<YAML::Node> app_service = Resource("Service", "example-app");
  ASSERT_TRUE(app_service);
  std::vector<YAML::Node> envoy_config = LoadYamlDocuments(RepoPath(kPodEnvoyConfig));
  ASSERT_EQ(envoy_config.size(), 1u);
  std::set<int> listening;
  for (const YAML::Node& listener : envoy_config[0]["static_resources"]["listeners"]) {
    listening.insert(listener["address"]["socket_address"]["port_value"].as<int>());
  }
  EXPECT_EQ(listening, (std::set<int>{8080, 8090}));
  std::set<int> exposed;
  for (const YAML::Node& port : (*app_service)["spec"]["ports"]) {
    exposed.insert(port["port"].as<int>());
    std::optional<YAML::Node> envoy_port =
        FindNamed((*envoy)["ports"], port["targetPort"].as<std::string>());
    ASSERT_TRUE(envoy_port) << "the Service's targetPort " << port["targetPort"]
                            << " is not an Envoy port";
    EXPECT_EQ((*envoy_port)["containerPort"].as<int>(), port["port"].as<int>());
  }
  EXPECT_EQ(exposed, listening);
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

// --- TLS ---------------------------------------------------------------

bool IsTlsFileVariable(const std::string& name) {
  for (const char* suffix : kTlsFileVariables) {
    if (absl::EndsWith(name, suffix)) return true;
  }
  return false;
}

// The keys of each secret in the TLS template: what a file name under its
// mount may be.
std::map<std::string, std::set<std::string>> TemplateSecretKeys() {
  std::map<std::string, std::set<std::string>> keys;
  for (const YAML::Node& doc : LoadYamlDocuments(RepoPath(kTlsTemplate))) {
    std::set<std::string>& of = keys[doc["metadata"]["name"].as<std::string>()];
    for (const auto& entry : doc["stringData"]) of.insert(entry.first.as<std::string>());
  }
  return keys;
}

// A TLS file variable's path as mounted: the secret and its key.
struct MountedFile {
  std::string secret;
  std::string key;
};
std::optional<MountedFile> SecretFileOf(const YAML::Node& pod, const YAML::Node& container,
                                        const std::string& path) {
  for (const YAML::Node& mount : container["volumeMounts"]) {
    const std::string dir = mount["mountPath"].as<std::string>() + "/";
    if (!absl::StartsWith(path, dir)) continue;
    EXPECT_TRUE(mount["readOnly"].as<bool>(false)) << path << ": mount it read-only";
    // The kubelet never updates a subPath mount: rotation would not reach it.
    EXPECT_FALSE(mount["subPath"]) << path << ": a subPath mount is not updated on rotation";
    std::optional<YAML::Node> volume = FindNamed(pod["volumes"], mount["name"].as<std::string>());
    if (!volume || !(*volume)["secret"]) return std::nullopt;
    return MountedFile{(*volume)["secret"]["secretName"].as<std::string>(),
                       path.substr(dir.size())};
  }
  return std::nullopt;
}

// The SANs of the template's `make-certs.sh server DIR NAME SAN...` command
// (its comment, continuation lines joined), NAME first.
std::vector<std::string> TemplateServerCertificateNames() {
  std::string comment;
  for (absl::string_view line : absl::StrSplit(ReadFile(RepoPath(kTlsTemplate)), '\n')) {
    if (!absl::ConsumePrefix(&line, "#")) continue;
    absl::StrAppend(&comment, line, absl::ConsumeSuffix(&line, "\\") ? "" : "\n");
  }
  for (absl::string_view line : absl::StrSplit(comment, '\n')) {
    std::vector<std::string> words =
        absl::StrSplit(line, absl::ByAnyChar(" \\"), absl::SkipWhitespace());
    if (words.size() >= 5 && words[0] == "deploy/tls/make-certs.sh" && words[1] == "server") {
      return std::vector<std::string>(words.begin() + 3, words.end());
    }
  }
  ADD_FAILURE() << kTlsTemplate << " shows no make-certs.sh server command";
  return {};
}

TEST(DeployK8sTest, EveryTlsFileIsMountedFromTheSecretTheTemplateDescribes) {
  const std::map<std::string, std::set<std::string>> keys = TemplateSecretKeys();
  ASSERT_FALSE(keys.empty());
  int files = 0;
  ForEachContainer([&](const YAML::Node& pod, const YAML::Node& container) {
    const std::string name = container["name"].as<std::string>();
    for (const YAML::Node& entry : container["env"]) {
      const std::string variable = entry["name"].as<std::string>();
      if (!IsTlsFileVariable(variable)) continue;
      ++files;
      ASSERT_TRUE(entry["value"]) << name << ": " << variable << " must name a file";
      const std::string path = entry["value"].as<std::string>();
      std::optional<MountedFile> file = SecretFileOf(pod, container, path);
      ASSERT_TRUE(file) << name << ": " << variable << "=" << path
                        << " is under no secret volume the container mounts";
      ASSERT_EQ(keys.count(file->secret), 1u)
          << name << ": secret " << file->secret << " is not in " << kTlsTemplate;
      EXPECT_EQ(keys.at(file->secret).count(file->key), 1u)
          << name << ": " << variable << " reads " << file->key << ", which secret " << file->secret
          << " does not hold";
    }
  });
  EXPECT_EQ(files, 6) << "token-service's certificate, key and client CA; the sidecar's CA, "
                         "client certificate and key";
}

// A binary with TLS files keeps a checked copy of its certificate and key
// under $TMPDIR (/tmp by default) for gRPC to read, so that a half-written
// file is never served (docs/operations.md, TLS). On a read-only root file
// system that must be a writable volume, and a memory-backed one: the copy
// holds a private key.
TEST(DeployK8sTest, EveryContainerWithTlsFilesHasAMemoryBackedTmp) {
  int checked = 0;
  ForEachContainer([&](const YAML::Node& pod, const YAML::Node& container) {
    const std::string name = container["name"].as<std::string>();
    bool reads_tls_files = false;
    for (const YAML::Node& entry : container["env"]) {
      reads_tls_files |= IsTlsFileVariable(entry["name"].as<std::string>());
    }
    if (!reads_tls_files) return;
    ++checked;
    const YAML::Node tmpdir = EnvEntry(container, "TMPDIR");
    const std::string dir = tmpdir ? tmpdir["value"].as<std::string>() : "/tmp";
    std::optional<YAML::Node> mount;
    for (const YAML::Node& m : container["volumeMounts"]) {
      if (m["mountPath"].as<std::string>() == dir) mount = m;
    }
    ASSERT_TRUE(mount) << name << ": nothing is mounted at " << dir;
    const YAML::Node read_only = (*mount)["readOnly"];
    EXPECT_FALSE(read_only && read_only.as<bool>()) << name << ": " << dir << " is read-only";
    std::optional<YAML::Node> volume =
        FindNamed(pod["volumes"], (*mount)["name"].as<std::string>());
    ASSERT_TRUE(volume) << name << ": no volume " << (*mount)["name"].as<std::string>();
    EXPECT_EQ(Get(*volume, {"emptyDir", "medium"}).as<std::string>(""), "Memory")
        << name << ": " << dir << " must be an emptyDir in memory";
  });
  EXPECT_EQ(checked, 2) << "token-service and the sidecar";
}

TEST(DeployK8sTest, TheFeedIsTlsWithClientCertificatesSignedByOneCa) {
  std::optional<YAML::Node> service_deployment = Resource("Deployment", "token-service");
  std::optional<YAML::Node> app = Resource("Deployment", "example-app");
  ASSERT_TRUE(service_deployment && app);
  const YAML::Node service_pod = (*service_deployment)["spec"]["template"]["spec"];
  const YAML::Node app_pod = (*app)["spec"]["template"]["spec"];
  std::optional<YAML::Node> server = FindNamed(service_pod["containers"], "token-service");
  std::optional<YAML::Node> sidecar = FindNamed(app_pod["containers"], "token-sidecar");
  ASSERT_TRUE(server && sidecar);
  auto file = [](const YAML::Node& pod, const YAML::Node& container, const char* variable) {
    const YAML::Node entry = EnvEntry(container, variable);
    EXPECT_TRUE(entry["value"]) << variable << " is not set";
    std::optional<MountedFile> found =
        entry["value"] ? SecretFileOf(pod, container, entry["value"].as<std::string>())
                       : std::nullopt;
    return found.value_or(MountedFile{});
  };
  const MountedFile cert = file(service_pod, *server, "TOKEN_SERVICE_TLS_CERT");
  const MountedFile key = file(service_pod, *server, "TOKEN_SERVICE_TLS_KEY");
  const MountedFile client_ca = file(service_pod, *server, "TOKEN_SERVICE_TLS_CLIENT_CA");
  const MountedFile ca = file(app_pod, *sidecar, "TOKEN_SIDECAR_TOKEN_SERVICE_CA");
  const MountedFile client_cert =
      file(app_pod, *sidecar, "TOKEN_SIDECAR_TOKEN_SERVICE_CLIENT_CERT");
  const MountedFile client_key = file(app_pod, *sidecar, "TOKEN_SIDECAR_TOKEN_SERVICE_CLIENT_KEY");
  // A certificate and its key come from one secret; each side has its own.
  EXPECT_EQ(cert.secret, key.secret);
  EXPECT_EQ(client_cert.secret, client_key.secret);
  EXPECT_NE(cert.secret, client_cert.secret) << "the sidecar must not hold token-service's key";
  // One CA: it signs token-service's certificate (which the sidecar checks)
  // and the sidecar's (which token-service checks), and the probe's client
  // certificate is token-service's own.
  EXPECT_EQ(ca.secret, client_ca.secret);
  EXPECT_EQ(ca.key, client_ca.key);
  EXPECT_NE(ca.secret, cert.secret) << "the CA's secret holds no private key";

  // The host the sidecar dials is a name on token-service's certificate.
  const std::vector<std::string> names = TemplateServerCertificateNames();
  ASSERT_FALSE(names.empty());
  EXPECT_EQ(names[0], "token-service");
  const std::string host =
      HostOf(EnvEntry(*sidecar, "TOKEN_SERVICE_ADDR")["value"].as<std::string>());
  EXPECT_THAT(std::vector<std::string>(names.begin() + 1, names.end()), Contains(host))
      << "the certificate's SANs do not name " << host;
}

// --- probes ------------------------------------------------------------

constexpr const char* kProbes[] = {"readinessProbe", "livenessProbe", "startupProbe"};

// A container's gRPC listen addresses: its *_LISTEN variables but metrics'.
std::set<std::string> GrpcListenAddresses(const YAML::Node& container) {
  std::set<std::string> addresses;
  for (const YAML::Node& entry : container["env"]) {
    const std::string name = entry["name"].as<std::string>();
    if (absl::EndsWith(name, "_LISTEN") && !absl::EndsWith(name, "_METRICS_LISTEN") &&
        !absl::EndsWith(name, "_HTTP_LISTEN")) {
      addresses.insert(entry["value"].as<std::string>());
    }
  }
  return addresses;
}

std::string ExecCommand(const YAML::Node& probe) {
  std::string command;
  for (const YAML::Node& word : probe["exec"]["command"]) {
    absl::StrAppend(&command, command.empty() ? "" : " ", word.as<std::string>());
  }
  return command;
}

TEST(DeployK8sTest, NoProbeIsATcpSocketOrTheKubeletsGrpcProbe) {
  int probes = 0;
  ForEachContainer([&](const YAML::Node&, const YAML::Node& container) {
    for (const char* kind : kProbes) {
      const YAML::Node probe = container[kind];
      if (!probe) continue;
      ++probes;
      const std::string where = absl::StrCat(container["name"].as<std::string>(), " ", kind);
      // A tcpSocket probe passes while the kernel accepts connections, even
      // when the server is wedged; the kubelet's grpc probe cannot do TLS.
      EXPECT_FALSE(probe["tcpSocket"]) << where;
      EXPECT_FALSE(probe["grpc"]) << where;
    }
  });
  EXPECT_GE(probes, 6);
}

TEST(DeployK8sTest, OurServersAreProbedByTheirOwnProbeOnEveryGrpcListener) {
  int servers = 0;
  ForEachContainer([&](const YAML::Node& pod, const YAML::Node& container) {
    const std::string image = container["image"].as<std::string>();
    std::string binary;
    if (image == "user-tokens/token-service" || image == "user-tokens/token-sidecar") {
      binary = image.substr(image.find('/') + 1);
    }
    // migrate runs once; only the servers are probed.
    if (binary.empty() || !FindNamed(pod["containers"], container["name"].as<std::string>())) {
      return;
    }
    ++servers;
    std::set<int> listening;
    for (const std::string& address : GrpcListenAddresses(container)) {
      listening.insert(PortOf(address));
    }
    ASSERT_FALSE(listening.empty()) << binary;
    for (const char* kind : {"readinessProbe", "livenessProbe"}) {
      const std::string where = absl::StrCat(binary, " ", kind);
      const YAML::Node probe = container[kind];
      ASSERT_TRUE(probe["exec"]) << where << " is not an exec probe";
      const std::string command = ExecCommand(probe);
      const std::vector<ProbeCall> calls = ProbeCalls(command, binary);
      ASSERT_FALSE(calls.empty()) << where << " does not run `" << binary << " probe`: " << command;
      std::set<int> probed;
      absl::Duration total;
      for (const ProbeCall& call : calls) {
        std::string address = call.address;
        if (address.empty()) {
          const YAML::Node listen =
              EnvEntry(container,
                       binary == "token-service" ? "TOKEN_SERVICE_LISTEN" : "TOKEN_SIDECAR_LISTEN");
          ASSERT_TRUE(listen["value"]) << where;
          address = DefaultProbeAddress(listen["value"].as<std::string>());
        }
        // The probe runs in the container: its own listeners, over loopback.
        EXPECT_THAT(HostOf(address), ::testing::AnyOf("127.0.0.1", "[::1]")) << where;
        // The real binary takes these flags, with the container's plain
        // settings (the TLS files are mounted only in the pod).
        std::map<std::string, std::string> env;
        for (const YAML::Node& entry : container["env"]) {
          const std::string name = entry["name"].as<std::string>();
          if (entry["value"] && !IsTlsFileVariable(name))
            env[name] = entry["value"].as<std::string>();
        }
        ExpectProbeDials(binary == "token-service" ? TOKEN_SERVICE_BINARY : TOKEN_SIDECAR_BINARY,
                         binary, call, env, address);
        probed.insert(PortOf(address));
        total += call.timeout;
      }
      EXPECT_EQ(probed, listening) << where << " must check every gRPC listener: " << command;
      // The kubelet kills an exec probe after timeoutSeconds (default 1):
      // the probes' own timeouts must fit, or a slow answer reads as a
      // kubelet timeout rather than the probe's message.
      EXPECT_GE(absl::Seconds(probe["timeoutSeconds"].as<int>(1)), total) << where;
    }
    if (binary == "token-sidecar") {
      // Not ready before the first snapshot (NOT_SERVING fails readiness),
      // but alive: restarting a sidecar that waits for token-service would
      // not help.
      EXPECT_THAT(ExecCommand(container["readinessProbe"]),
                  ::testing::Not(HasSubstr("NOT_SERVING")));
      EXPECT_THAT(ExecCommand(container["livenessProbe"]), HasSubstr("NOT_SERVING"));
    }
  });
  EXPECT_EQ(servers, 2) << "token-service and the example app's sidecar";
}

TEST(DeployK8sTest, TokenServiceIsReadyOnlyWhileItsHttpFaceAnswers) {
  std::optional<YAML::Node> server = TokenServiceContainer();
  ASSERT_TRUE(server);
  const int http_port = HttpFacePort(*server);
  const std::string readiness = ExecCommand((*server)["readinessProbe"]);
  // HEAD / over loopback within 1 s, and nothing but a 200 passes.
  EXPECT_THAT(readiness, HasSubstr(absl::StrCat("timeout 1 bash -c 'exec 3<>/dev/tcp/127.0.0.1/",
                                                http_port, " ")));
  EXPECT_THAT(readiness, HasSubstr("HEAD / HTTP/1.0"));
  EXPECT_THAT(readiness, HasSubstr("grep -q \" 200 \""));
  // Its second of the kubelet's timeout, beyond the two gRPC probes'.
  absl::Duration probes;
  for (const ProbeCall& call : ProbeCalls(readiness, "token-service")) probes += call.timeout;
  EXPECT_GE(absl::Seconds((*server)["readinessProbe"]["timeoutSeconds"].as<int>(1)),
            probes + absl::Seconds(1));
  // Liveness does not restart the process over its HTTP face.
  EXPECT_THAT(ExecCommand((*server)["livenessProbe"]), ::testing::Not(HasSubstr("/dev/tcp")));
}

TEST(DeployK8sTest, EnvoyIsReadyByThePathItsHealthCheckFilterAnswers) {
  std::optional<YAML::Node> app = Resource("Deployment", "example-app");
  ASSERT_TRUE(app);
  std::optional<YAML::Node> envoy =
      FindNamed((*app)["spec"]["template"]["spec"]["containers"], "envoy");
  ASSERT_TRUE(envoy);
  const YAML::Node get = (*envoy)["readinessProbe"]["httpGet"];
  ASSERT_TRUE(get) << "Envoy's readiness is an HTTP GET of its health-check path";
  std::optional<YAML::Node> port = FindNamed((*envoy)["ports"], get["port"].as<std::string>());
  ASSERT_TRUE(port);

  std::vector<YAML::Node> docs = LoadYamlDocuments(RepoPath(kPodEnvoyConfig));
  ASSERT_EQ(docs.size(), 1u);
  const YAML::Node listener = docs[0]["static_resources"]["listeners"][0];
  EXPECT_EQ(listener["address"]["socket_address"]["port_value"].as<int>(),
            (*port)["containerPort"].as<int>());
  const YAML::Node filters =
      listener["filter_chains"][0]["filters"][0]["typed_config"]["http_filters"];
  std::optional<YAML::Node> health = FindNamed(filters, "envoy.filters.http.health_check");
  ASSERT_TRUE(health);
  const YAML::Node header = (*health)["typed_config"]["headers"][0];
  EXPECT_EQ(header["name"].as<std::string>(), ":path");
  EXPECT_EQ(header["string_match"]["exact"].as<std::string>(), get["path"].as<std::string>());
}

// --- network policy ------------------------------------------------------

constexpr char kApiClientLabel[] = "user-tokens/api-client";

std::vector<YAML::Node> Policies() {
  std::vector<YAML::Node> policies;
  for (const YAML::Node& r : Resources()) {
    if (r["kind"].as<std::string>() == "NetworkPolicy") policies.push_back(r);
  }
  return policies;
}

// Each Deployment's pod labels, by Deployment name.
std::map<std::string, std::map<std::string, std::string>> PodLabels() {
  std::map<std::string, std::map<std::string, std::string>> labels;
  for (const YAML::Node& r : Resources()) {
    if (r["kind"].as<std::string>() != "Deployment") continue;
    auto& of = labels[r["metadata"]["name"].as<std::string>()];
    for (const auto& label : r["spec"]["template"]["metadata"]["labels"]) {
      of[label.first.as<std::string>()] = label.second.as<std::string>();
    }
  }
  return labels;
}

bool Selects(const YAML::Node& selector, const std::map<std::string, std::string>& labels) {
  EXPECT_FALSE(selector["matchExpressions"]) << "only matchLabels is checked here";
  for (const auto& entry : selector["matchLabels"]) {
    auto found = labels.find(entry.first.as<std::string>());
    if (found == labels.end() || found->second != entry.second.as<std::string>()) return false;
  }
  return true;
}

// The Deployments a selector selects.
std::set<std::string> Selected(const YAML::Node& selector) {
  std::set<std::string> selected;
  for (const auto& [name, labels] : PodLabels()) {
    if (Selects(selector, labels)) selected.insert(name);
  }
  return selected;
}

std::set<int> RulePorts(const YAML::Node& rule) {
  std::set<int> ports;
  for (const YAML::Node& port : rule["ports"]) ports.insert(port["port"].as<int>());
  return ports;
}

bool HasPolicyType(const YAML::Node& policy, const std::string& type) {
  for (const YAML::Node& t : policy["spec"]["policyTypes"]) {
    if (t.as<std::string>() == type) return true;
  }
  return false;
}

// Whether an egress rule of a policy selecting pod `from` lets it open
// `port` on the pods of Deployment `to`.
bool EgressAllows(const std::string& from, int port, const std::string& to) {
  for (const YAML::Node& policy : Policies()) {
    if (Selected(policy["spec"]["podSelector"]).count(from) == 0) continue;
    for (const YAML::Node& rule : policy["spec"]["egress"]) {
      if (RulePorts(rule).count(port) == 0) continue;
      for (const YAML::Node& peer : rule["to"]) {
        if (Selected(peer["podSelector"]).count(to) == 1) return true;
      }
    }
  }
  return false;
}

TEST(DeployK8sTest, TheNamespaceDeniesWhatNoPolicyAdmits) {
  bool found = false;
  for (const YAML::Node& policy : Policies()) {
    const YAML::Node spec = policy["spec"];
    if (spec["podSelector"].size() != 0 || spec["ingress"] || spec["egress"]) continue;
    found |= HasPolicyType(policy, "Ingress") && HasPolicyType(policy, "Egress");
  }
  EXPECT_TRUE(found) << "no policy selects every pod and admits nothing, both ways";
}

TEST(DeployK8sTest, EveryPolicySelectsPodsTheDeploymentsRun) {
  const std::vector<YAML::Node> policies = Policies();
  ASSERT_GE(policies.size(), 4u);
  for (const YAML::Node& policy : policies) {
    const std::string name = policy["metadata"]["name"].as<std::string>();
    EXPECT_FALSE(Selected(policy["spec"]["podSelector"]).empty()) << name << " selects no pod";
    for (const char* direction : {"ingress", "egress"}) {
      for (const YAML::Node& rule : policy["spec"][direction]) {
        for (const char* side : {"from", "to"}) {
          for (const YAML::Node& peer : rule[side]) {
            // Peers in other namespaces (kube-dns, Prometheus) and the API's
            // clients, which live wherever they live, are not ours to run.
            if (Get(peer, {"namespaceSelector", "matchLabels"}).IsMap()) continue;
            if (!peer["podSelector"] ||
                Get(peer, {"podSelector", "matchLabels", kApiClientLabel}).IsDefined()) {
              continue;
            }
            EXPECT_FALSE(Selected(peer["podSelector"]).empty())
                << name << ": a " << direction << " peer selects no pod";
          }
        }
      }
    }
  }
}

TEST(DeployK8sTest, EveryPortAPodServesIsAdmittedAndNoOther) {
  for (const YAML::Node& r : Resources()) {
    if (r["kind"].as<std::string>() != "Deployment") continue;
    const std::string name = r["metadata"]["name"].as<std::string>();
    std::set<int> served;
    for (const YAML::Node& container : r["spec"]["template"]["spec"]["containers"]) {
      for (const YAML::Node& port : container["ports"])
        served.insert(port["containerPort"].as<int>());
    }
    std::set<int> admitted;
    for (const YAML::Node& policy : Policies()) {
      if (Selected(policy["spec"]["podSelector"]).count(name) == 0) continue;
      for (const YAML::Node& rule : policy["spec"]["ingress"]) {
        ASSERT_TRUE(rule["ports"]) << policy["metadata"]["name"].as<std::string>()
                                   << ": an ingress rule without ports admits every port";
        const std::set<int> ports = RulePorts(rule);
        admitted.insert(ports.begin(), ports.end());
      }
    }
    EXPECT_EQ(admitted, served) << name;
  }
}

TEST(DeployK8sTest, OnlySidecarsReachTheFeedAndOnlyApiClientsTheApi) {
  std::optional<YAML::Node> deployment = Resource("Deployment", "token-service");
  ASSERT_TRUE(deployment);
  std::optional<YAML::Node> server =
      FindNamed((*deployment)["spec"]["template"]["spec"]["containers"], "token-service");
  ASSERT_TRUE(server);
  const int api_port = PortOf(EnvEntry(*server, "TOKEN_SERVICE_LISTEN")["value"].as<std::string>());
  const int feed_port =
      PortOf(EnvEntry(*server, "TOKEN_SERVICE_SYNC_LISTEN")["value"].as<std::string>());
  int rules = 0;
  for (const YAML::Node& policy : Policies()) {
    if (Selected(policy["spec"]["podSelector"]).count("token-service") == 0) continue;
    for (const YAML::Node& rule : policy["spec"]["ingress"]) {
      const std::set<int> ports = RulePorts(rule);
      for (const auto& [port, label] :
           {std::pair<int, const char*>{feed_port, kSidecarLabel}, {api_port, kApiClientLabel}}) {
        if (ports.count(port) == 0) continue;
        ++rules;
        EXPECT_EQ(ports.size(), 1u) << "port " << port << " shares a rule";
        ASSERT_TRUE(rule["from"]) << "port " << port << " is open to anyone";
        for (const YAML::Node& peer : rule["from"]) {
          EXPECT_EQ(Get(peer, {"podSelector", "matchLabels"}).size(), 1u) << port;
          EXPECT_EQ(Get(peer, {"podSelector", "matchLabels", label}).as<std::string>(""), "true")
              << "port " << port << " admits pods without " << label;
        }
      }
    }
  }
  EXPECT_EQ(rules, 2);

  // Exactly the pods that run a token-sidecar carry its label, and may open
  // the feed.
  for (const YAML::Node& r : Resources()) {
    if (r["kind"].as<std::string>() != "Deployment") continue;
    const std::string name = r["metadata"]["name"].as<std::string>();
    bool runs_sidecar = false;
    for (const YAML::Node& container : r["spec"]["template"]["spec"]["containers"]) {
      runs_sidecar |= container["image"].as<std::string>() == "user-tokens/token-sidecar";
    }
    EXPECT_EQ(PodLabels()[name][kSidecarLabel] == "true", runs_sidecar) << name;
    if (!runs_sidecar) continue;
    EXPECT_TRUE(EgressAllows(name, feed_port, "token-service"))
        << name << " runs a sidecar but may not reach the feed";
  }
}

TEST(DeployK8sTest, OnlyTheGatewaysReachTheHttpFaceAndTheyMay) {
  constexpr char kGatewayLabel[] = "user-tokens/http-gateway";
  std::optional<YAML::Node> server = TokenServiceContainer();
  ASSERT_TRUE(server);
  const int http_port = HttpFacePort(*server);
  // Plain HTTP, no client certificate: not every API client, only the
  // gateways of this namespace (no namespaceSelector).
  int rules = 0;
  for (const YAML::Node& policy : Policies()) {
    if (Selected(policy["spec"]["podSelector"]).count("token-service") == 0) continue;
    for (const YAML::Node& rule : policy["spec"]["ingress"]) {
      if (RulePorts(rule).count(http_port) == 0) continue;
      ++rules;
      EXPECT_EQ(RulePorts(rule).size(), 1u) << "port " << http_port << " shares a rule";
      ASSERT_TRUE(rule["from"]) << "port " << http_port << " is open to anyone";
      for (const YAML::Node& peer : rule["from"]) {
        EXPECT_FALSE(peer["namespaceSelector"]) << "the HTTP face is open to other namespaces";
        EXPECT_EQ(Get(peer, {"podSelector", "matchLabels"}).size(), 1u);
        EXPECT_EQ(Get(peer, {"podSelector", "matchLabels", kGatewayLabel}).as<std::string>(""),
                  "true");
      }
    }
  }
  EXPECT_EQ(rules, 1);

  // The gateways are the pods whose Envoy routes to token-service's HTTP
  // face (the example app's), and they may open it.
  for (const auto& [name, labels] : PodLabels()) {
    const bool gateway = labels.count(kGatewayLabel) && labels.at(kGatewayLabel) == "true";
    std::optional<YAML::Node> r = Resource("Deployment", name);
    ASSERT_TRUE(r);
    bool runs_envoy = false;
    for (const YAML::Node& container : (*r)["spec"]["template"]["spec"]["containers"]) {
      runs_envoy |= absl::StartsWith(container["image"].as<std::string>(), "envoyproxy/envoy:");
    }
    EXPECT_EQ(gateway, runs_envoy) << name;
    if (!gateway) continue;
    EXPECT_TRUE(EgressAllows(name, http_port, "token-service"))
        << name << " routes the console but may not reach token-service:" << http_port;
  }
  EXPECT_EQ(PodEnvoyPort("token_service_http"), http_port);
}

TEST(DeployK8sTest, OnlyTokenServiceMayOpenPostgresConnections) {
  constexpr int kPostgresPort = 5432;
  bool token_service_may = false;
  for (const YAML::Node& policy : Policies()) {
    const std::set<std::string> selected = Selected(policy["spec"]["podSelector"]);
    for (const YAML::Node& rule : policy["spec"]["egress"]) {
      const std::string name = policy["metadata"]["name"].as<std::string>();
      ASSERT_TRUE(rule["ports"]) << name << ": an egress rule without ports admits 5432 too";
      if (RulePorts(rule).count(kPostgresPort) == 0) continue;
      EXPECT_EQ(selected, std::set<std::string>{"token-service"}) << name;
      token_service_may = true;
    }
  }
  EXPECT_TRUE(token_service_may) << "token-service cannot reach PostgreSQL";
}

}  // namespace
}  // namespace tokens::deploy_testing
