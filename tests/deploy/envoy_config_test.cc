// The Envoy configurations (deploy/envoy/envoy.yaml for docker-compose,
// deploy/k8s/envoy/envoy-pod.yaml for the pod): on :8080 the ext_authz
// filter asks token-sidecar, fails closed, routes only add required scopes
// (from the catalogue), and the clusters point where the sidecar and the app
// listen; :8090 routes every path to token-service's HTTP face, without the
// check.
#include <map>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/auth/scopes.h"
#include "gtest/gtest.h"
#include "tests/deploy/deploy_files.h"
#include "yaml-cpp/yaml.h"

namespace tokens::deploy_testing {
namespace {

constexpr char kExtAuthzType[] =
    "type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz";
constexpr char kExtAuthzFilter[] = "envoy.filters.http.ext_authz";
constexpr char kExtAuthzPerRouteType[] =
    "type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthzPerRoute";
constexpr char kHealthCheckType[] =
    "type.googleapis.com/envoy.extensions.filters.http.health_check.v3.HealthCheck";
constexpr char kHttpProtocolOptions[] = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";
// demo-upstream's default --listen port (demo_upstream_test holds the binary to it).
constexpr int kDemoUpstreamPort = 8081;
// token-service's HTTP face: the port of its --http_listen in docker-compose.yml
// and deploy/k8s/token-service.yaml (compose_test and k8s_test hold them to
// the cluster).
constexpr int kTokenServiceHttpPort = 8080;
constexpr char kIngressListener[] = "ingress";
constexpr char kConsoleListener[] = "console";

struct EnvoyFile {
  const char* path;
  // Where the clusters must point: compose service names, or loopback in the pod.
  const char* sidecar_host;
  const char* upstream_host;
  // token-service: the compose service, or the Kubernetes Service.
  const char* token_service_host;
};

void PrintTo(const EnvoyFile& file, std::ostream* os) { *os << file.path; }

class DeployEnvoyConfigTest : public ::testing::TestWithParam<EnvoyFile> {
 protected:
  void SetUp() override {
    std::vector<YAML::Node> docs = LoadYamlDocuments(RepoPath(GetParam().path));
    ASSERT_EQ(docs.size(), 1u) << GetParam().path;
    config_ = docs[0];
  }

  std::optional<YAML::Node> Cluster(const std::string& name) const {
    return FindNamed(config_["static_resources"]["clusters"], name);
  }

  // The socket address of a cluster's one endpoint.
  static YAML::Node SocketAddress(const YAML::Node& cluster) {
    const YAML::Node endpoints = cluster["load_assignment"]["endpoints"];
    EXPECT_EQ(endpoints.size(), 1u);
    const YAML::Node lb = endpoints[0]["lb_endpoints"];
    EXPECT_EQ(lb.size(), 1u);
    return lb[0]["endpoint"]["address"]["socket_address"];
  }

  // The listener called `name` (undefined if none).
  YAML::Node Listener(const char* name = kIngressListener) const {
    std::optional<YAML::Node> found = FindNamed(config_["static_resources"]["listeners"], name);
    EXPECT_TRUE(found) << GetParam().path << ": no listener " << name;
    return found ? *found : YAML::Node(YAML::NodeType::Undefined);
  }

  YAML::Node ConnectionManager(const char* listener = kIngressListener) const {
    const YAML::Node chains = Listener(listener)["filter_chains"];
    EXPECT_EQ(chains.size(), 1u) << listener;
    const YAML::Node filters = chains[0]["filters"];
    EXPECT_EQ(filters.size(), 1u) << listener;
    EXPECT_EQ(filters[0]["name"].as<std::string>(),
              "envoy.filters.network.http_connection_manager");
    return filters[0]["typed_config"];
  }

  YAML::Node config_;
};

TEST_P(DeployEnvoyConfigTest, ListensOn8080And8090AndKeepsTheAdminOnLoopback) {
  ASSERT_EQ(config_["static_resources"]["listeners"].size(), 2u);
  for (const auto& [name, port] :
       {std::pair<const char*, int>{kIngressListener, 8080}, {kConsoleListener, 8090}}) {
    const YAML::Node address = Listener(name)["address"]["socket_address"];
    EXPECT_EQ(address["address"].as<std::string>(""), "0.0.0.0") << name;
    // Not 8081: in the pod, demo-upstream holds 127.0.0.1:8081.
    EXPECT_EQ(address["port_value"].as<int>(0), port) << name;
  }
  EXPECT_EQ(config_["admin"]["address"]["socket_address"]["address"].as<std::string>(),
            "127.0.0.1");
  EXPECT_EQ(config_["admin"]["address"]["socket_address"]["port_value"].as<int>(), 9901);
}

TEST_P(DeployEnvoyConfigTest, ExtAuthzAsksTheSidecarFirstAndFailsClosed) {
  const YAML::Node filters = ConnectionManager()["http_filters"];
  ASSERT_GE(filters.size(), 2u);
  // Order matters: the check runs before the router forwards anything. Only
  // the health-check filter may come first, and it forwards nothing: it
  // answers one exact path itself (not pass-through).
  size_t first = 0;
  if (filters[0]["name"].as<std::string>() == "envoy.filters.http.health_check") {
    const YAML::Node health = filters[0]["typed_config"];
    EXPECT_EQ(health["@type"].as<std::string>(), kHealthCheckType);
    ASSERT_TRUE(health["pass_through_mode"]) << "pass_through_mode is required";
    EXPECT_FALSE(health["pass_through_mode"].as<bool>()) << "it would forward unchecked requests";
    ASSERT_EQ(health["headers"].size(), 1u);
    EXPECT_EQ(health["headers"][0]["name"].as<std::string>(), ":path");
    EXPECT_TRUE(health["headers"][0]["string_match"]["exact"]) << "match one path exactly";
    first = 1;
  }
  const YAML::Node ext_authz = filters[first];
  EXPECT_EQ(ext_authz["name"].as<std::string>(), "envoy.filters.http.ext_authz");
  EXPECT_EQ(filters[filters.size() - 1]["name"].as<std::string>(), "envoy.filters.http.router");

  const YAML::Node typed = ext_authz["typed_config"];
  EXPECT_EQ(typed["@type"].as<std::string>(), kExtAuthzType);
  EXPECT_EQ(typed["transport_api_version"].as<std::string>(), "V3");
  ASSERT_TRUE(typed["failure_mode_allow"]) << "failure_mode_allow must be spelled out";
  EXPECT_FALSE(typed["failure_mode_allow"].as<bool>());
  ASSERT_TRUE(typed["include_peer_certificate"]);
  EXPECT_FALSE(typed["include_peer_certificate"].as<bool>());
  EXPECT_EQ(typed["grpc_service"]["envoy_grpc"]["cluster_name"].as<std::string>(), "token_sidecar");

  // A duration such as "0.25s": set, positive, well under a second.
  ASSERT_TRUE(typed["grpc_service"]["timeout"]) << "the Check needs its own deadline";
  absl::string_view timeout_text = typed["grpc_service"]["timeout"].Scalar();
  double seconds = 0;
  ASSERT_TRUE(absl::ConsumeSuffix(&timeout_text, "s") && absl::SimpleAtod(timeout_text, &seconds))
      << typed["grpc_service"]["timeout"].Scalar();
  EXPECT_GT(seconds, 0);
  EXPECT_LE(seconds, 1);
}

TEST_P(DeployEnvoyConfigTest, TheSidecarClusterSpeaksHttp2ToTheSidecarsPortAndHealthChecksIt) {
  const std::optional<YAML::Node> found = Cluster("token_sidecar");
  ASSERT_TRUE(found) << "no cluster token_sidecar";
  const YAML::Node& cluster = *found;

  const YAML::Node options = cluster["typed_extension_protocol_options"][kHttpProtocolOptions];
  ASSERT_TRUE(options) << "gRPC needs HTTP/2: no " << kHttpProtocolOptions;
  EXPECT_EQ(options["@type"].as<std::string>(),
            std::string("type.googleapis.com/") + kHttpProtocolOptions);
  EXPECT_TRUE(options["explicit_http_config"]["http2_protocol_options"].IsMap());

  const YAML::Node health_checks = cluster["health_checks"];
  ASSERT_EQ(health_checks.size(), 1u);
  EXPECT_TRUE(health_checks[0]["grpc_health_check"].IsMap());
  // Required by Envoy's HealthCheck message.
  for (const char* field : {"timeout", "interval", "unhealthy_threshold", "healthy_threshold"}) {
    EXPECT_TRUE(health_checks[0][field]) << "health check without " << field;
  }

  const YAML::Node address = SocketAddress(cluster);
  EXPECT_EQ(address["address"].as<std::string>(), GetParam().sidecar_host);
  EXPECT_EQ(address["port_value"].as<int>(), SidecarDefaultPort("listen"))
      << "token-sidecar's default --listen port changed";
}

TEST_P(DeployEnvoyConfigTest, EveryRouteGoesToTheDemoUpstream) {
  const YAML::Node hosts = ConnectionManager()["route_config"]["virtual_hosts"];
  ASSERT_GE(hosts.size(), 1u);
  int routes = 0;
  for (const YAML::Node& host : hosts) {
    for (const YAML::Node& route : host["routes"]) {
      ++routes;
      EXPECT_EQ(route["route"]["cluster"].as<std::string>(), "demo_upstream");
    }
  }
  EXPECT_GT(routes, 0);

  const std::optional<YAML::Node> cluster = Cluster("demo_upstream");
  ASSERT_TRUE(cluster) << "no cluster demo_upstream";
  const YAML::Node address = SocketAddress(*cluster);
  EXPECT_EQ(address["address"].as<std::string>(), GetParam().upstream_host);
  EXPECT_EQ(address["port_value"].as<int>(), kDemoUpstreamPort);
}

TEST_P(DeployEnvoyConfigTest, NoRouteOfTheCheckedListenerTurnsTheCheckOff) {
  // The console goes around the check on a listener of its own, so that on
  // :8080 nothing reaches the app unchecked: no per-host or per-listener
  // override of ext_authz there, and a route's own only adds scopes the
  // check requires (ExtAuthzPerRoute's check_settings.context_extensions),
  // never `disabled` or anything else.
  const YAML::Node route_config = ConnectionManager()["route_config"];
  EXPECT_FALSE(route_config["typed_per_filter_config"]);
  for (const YAML::Node& host : route_config["virtual_hosts"]) {
    EXPECT_FALSE(host["typed_per_filter_config"]) << host["name"].as<std::string>("");
    for (const YAML::Node& route : host["routes"]) {
      const YAML::Node per_filter = route["typed_per_filter_config"];
      if (!per_filter) continue;
      ASSERT_TRUE(per_filter.IsMap()) << route["match"];
      ASSERT_EQ(per_filter.size(), 1u) << route["match"];
      const YAML::Node per_route = per_filter[kExtAuthzFilter];
      ASSERT_TRUE(per_route) << "only ext_authz may be configured per route: " << route["match"];
      EXPECT_EQ(per_route["@type"].as<std::string>(""), kExtAuthzPerRouteType) << route["match"];
      ASSERT_EQ(per_route.size(), 2u) << "@type and check_settings only: " << route["match"];
      EXPECT_FALSE(per_route["disabled"]) << route["match"];
      const YAML::Node settings = per_route["check_settings"];
      ASSERT_TRUE(settings.IsMap()) << route["match"];
      ASSERT_EQ(settings.size(), 1u) << "context_extensions only: " << route["match"];
      const YAML::Node extensions = settings["context_extensions"];
      ASSERT_TRUE(extensions.IsMap()) << route["match"];
      ASSERT_EQ(extensions.size(), 1u) << "required_scopes only: " << route["match"];
      EXPECT_TRUE(extensions["required_scopes"]) << route["match"];
    }
  }
}

// The scopes tokens may have: TOKEN_SERVICE_TOKEN_SCOPES of token-service in
// docker-compose.yml and deploy/k8s/token-service.yaml, which must agree.
std::set<std::string> ScopeCatalogue() {
  std::string compose;
  const std::vector<YAML::Node> compose_docs = LoadYamlDocuments(RepoPath("docker-compose.yml"));
  if (!compose_docs.empty()) {
    compose = ComposeEnvironment(
        compose_docs[0]["services"]["token-service"])["TOKEN_SERVICE_TOKEN_SCOPES"];
  }
  std::string k8s;
  for (const YAML::Node& doc : LoadYamlDocuments(RepoPath("deploy/k8s/token-service.yaml"))) {
    if (doc["kind"].as<std::string>("") != "Deployment") continue;
    const std::optional<YAML::Node> container =
        FindNamed(Get(doc, {"spec", "template", "spec", "containers"}), "token-service");
    if (!container) continue;
    const std::optional<YAML::Node> variable =
        FindNamed((*container)["env"], "TOKEN_SERVICE_TOKEN_SCOPES");
    if (variable) k8s = (*variable)["value"].as<std::string>("");
  }
  EXPECT_EQ(compose, k8s) << "the compose and Kubernetes catalogues differ";
  std::set<std::string> catalogue;
  for (absl::string_view name : absl::StrSplit(compose, ',', absl::SkipEmpty())) {
    catalogue.emplace(absl::StripAsciiWhitespace(name));
  }
  return catalogue;
}

// What the demo shows: reads of /things need things:read, writes
// things:write, each a list of valid scope names from the catalogue.
TEST_P(DeployEnvoyConfigTest, RoutesRequireScopesFromTheCatalogueReadsAndWritesApart) {
  const std::set<std::string> catalogue = ScopeCatalogue();
  EXPECT_EQ(catalogue, (std::set<std::string>{"things:read", "things:write"}));
  std::map<std::string, std::string> required_by_method;  // "GET|HEAD" or "*" -> scopes
  const YAML::Node hosts = ConnectionManager()["route_config"]["virtual_hosts"];
  for (const YAML::Node& host : hosts) {
    const YAML::Node routes = host["routes"];
    for (size_t i = 0; i < routes.size(); ++i) {
      const YAML::Node route = routes[i];
      const YAML::Node extensions = Get(route, {"typed_per_filter_config", kExtAuthzFilter,
                                                "check_settings", "context_extensions"});
      if (!extensions) continue;
      const std::string value = extensions["required_scopes"].as<std::string>("");
      const std::vector<std::string> names = SplitScopes(value);
      EXPECT_FALSE(names.empty()) << route["match"];
      for (const std::string& name : names) {
        EXPECT_TRUE(IsScopeName(name)) << "\"" << name << "\" in " << route["match"];
        EXPECT_EQ(catalogue.count(name), 1u) << name << " is not in TOKEN_SERVICE_TOKEN_SCOPES";
      }
      EXPECT_EQ(route["match"]["path_separated_prefix"].as<std::string>(""), "/things");
      // The catch-all comes last, so these routes are reached first.
      EXPECT_LT(i + 1, routes.size()) << "a scoped route after the catch-all is never reached";
      const YAML::Node headers = route["match"]["headers"];
      std::string methods = "*";
      if (headers) {
        ASSERT_EQ(headers.size(), 1u);
        EXPECT_EQ(headers[0]["name"].as<std::string>(""), ":method");
        methods = headers[0]["string_match"]["safe_regex"]["regex"].as<std::string>("");
      }
      required_by_method[methods] = value;
    }
    EXPECT_EQ(routes[routes.size() - 1]["match"]["prefix"].as<std::string>(""), "/");
  }
  EXPECT_EQ(required_by_method, (std::map<std::string, std::string>{{"GET|HEAD", "things:read"},
                                                                    {"*", "things:write"}}));
}

TEST_P(DeployEnvoyConfigTest, TheConsoleListenerSendsEveryPathToTokenServicesHttpFaceUnchecked) {
  const YAML::Node manager = ConnectionManager(kConsoleListener);
  // No ext_authz: token-service authenticates every call itself, and the
  // console's files must load before anyone signs in. (The sidecar's allowed
  // Check would also remove `authorization`, which token-service needs.)
  // Only the buffer, then the router.
  const YAML::Node filters = manager["http_filters"];
  ASSERT_EQ(filters.size(), 2u);
  EXPECT_EQ(filters[0]["name"].as<std::string>(), "envoy.filters.http.buffer");
  EXPECT_EQ(filters[1]["name"].as<std::string>(), "envoy.filters.http.router");

  const YAML::Node hosts = manager["route_config"]["virtual_hosts"];
  ASSERT_EQ(hosts.size(), 1u);
  ASSERT_EQ(hosts[0]["routes"].size(), 1u);
  const YAML::Node route = hosts[0]["routes"][0];
  EXPECT_EQ(route["match"]["prefix"].as<std::string>(""), "/");
  // No header match: the Connect paths (/tokens.v1.TokenService/...) are the
  // gRPC paths, and this listener carries only the HTTP/1.1 JSON face.
  EXPECT_FALSE(route["match"]["headers"]);
  EXPECT_EQ(route["route"]["cluster"].as<std::string>(""), "token_service_http");

  const std::optional<YAML::Node> cluster = Cluster("token_service_http");
  ASSERT_TRUE(cluster) << "no cluster token_service_http";
  // Plain HTTP/1.1: the face is cpp-httplib, which speaks no HTTP/2.
  EXPECT_FALSE((*cluster)["typed_extension_protocol_options"]);
  EXPECT_FALSE((*cluster)["transport_socket"]) << "the HTTP face has no TLS";
  const YAML::Node address = SocketAddress(*cluster);
  EXPECT_EQ(address["address"].as<std::string>(), GetParam().token_service_host);
  EXPECT_EQ(address["port_value"].as<int>(), kTokenServiceHttpPort);
}

// token-service's HTTP face holds a worker thread per open connection, so
// a slow client must be Envoy's to wait for: the request is buffered whole
// (no larger than the face's own 64 KiB limit) and must arrive in time.
TEST_P(DeployEnvoyConfigTest, TheConsoleListenerHandsTokenServiceOnlyWholeRequests) {
  const YAML::Node manager = ConnectionManager(kConsoleListener);
  const YAML::Node buffer = manager["http_filters"][0];
  ASSERT_EQ(buffer["name"].as<std::string>(""), "envoy.filters.http.buffer");
  EXPECT_EQ(buffer["typed_config"]["@type"].as<std::string>(""),
            "type.googleapis.com/envoy.extensions.filters.http.buffer.v3.Buffer");
  const int max_bytes = buffer["typed_config"]["max_request_bytes"].as<int>(0);
  EXPECT_GT(max_bytes, 0);
  EXPECT_LE(max_bytes, 64 * 1024) << "more than token-service reads";
  for (const char* timeout : {"request_headers_timeout", "request_timeout"}) {
    ASSERT_TRUE(manager[timeout]) << timeout << " unset: a slow client may hold on forever";
    const std::string value = manager[timeout].as<std::string>();
    EXPECT_NE(value, "0s") << timeout << " 0s turns it off";
  }
}

// token-service takes the console's client from x-forwarded-for's
// rightmost untrusted entry (TOKEN_SERVICE_HTTP_TRUSTED_PROXIES, Envoy's
// address): Envoy must append the real peer there, and trust nothing of the
// client's own header.
TEST_P(DeployEnvoyConfigTest, TheConsoleListenerAppendsThePeerToXForwardedFor) {
  const YAML::Node manager = ConnectionManager(kConsoleListener);
  EXPECT_TRUE(manager["use_remote_address"].as<bool>(false));
  ASSERT_TRUE(manager["xff_num_trusted_hops"]) << "xff_num_trusted_hops unset";
  EXPECT_EQ(manager["xff_num_trusted_hops"].as<int>(-1), 0);
  EXPECT_FALSE(manager["skip_xff_append"].as<bool>(false));
  EXPECT_FALSE(manager["original_ip_detection_extensions"]);
}

TEST_P(DeployEnvoyConfigTest, RefusesHeadersWithUnderscores) {
  // The upstream trusts x-auth-user-id because Envoy overwrites it. Many
  // frameworks (CGI's HTTP_X_AUTH_USER_ID, and those that fold `_` into `-`)
  // would read a client's own `x_auth_user_id` as the same header, and the
  // sidecar's overwrite does not touch that spelling: such a request must not
  // get through at all (Envoy answers 400). The console's listener too, as
  // an edge should.
  for (const char* listener : {kIngressListener, kConsoleListener}) {
    const YAML::Node options = ConnectionManager(listener)["common_http_protocol_options"];
    ASSERT_TRUE(options) << listener << ": no common_http_protocol_options";
    ASSERT_TRUE(options["headers_with_underscores_action"])
        << listener << ": headers_with_underscores_action unset";
    EXPECT_EQ(options["headers_with_underscores_action"].as<std::string>(), "REJECT_REQUEST")
        << listener;
  }
}

TEST_P(DeployEnvoyConfigTest, HasOnlyTheThreeClusters) {
  EXPECT_EQ(config_["static_resources"]["clusters"].size(), 3u);
}

INSTANTIATE_TEST_SUITE_P(Files, DeployEnvoyConfigTest,
                         ::testing::Values(EnvoyFile{"deploy/envoy/envoy.yaml", "token-sidecar",
                                                     "demo-upstream", "token-service"},
                                           EnvoyFile{"deploy/k8s/envoy/envoy-pod.yaml", "127.0.0.1",
                                                     "127.0.0.1", "token-service"}),
                         [](const ::testing::TestParamInfo<EnvoyFile>& param_info) {
                           return param_info.index == 0 ? std::string("Compose")
                                                        : std::string("Pod");
                         });

}  // namespace
}  // namespace tokens::deploy_testing
