#pragma once

#include <initializer_list>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "yaml-cpp/yaml.h"

// Reading the deployment files (deploy/, docker-compose.yml) for the tests
// that hold them to each other and to the binaries' flags.
namespace tokens::deploy_testing {

// `relative` under the repository root.
std::string RepoPath(absl::string_view relative);

// The whole file; fails the calling test (ADD_FAILURE) and returns "" if it
// cannot be read.
std::string ReadFile(const std::string& path);

// Every YAML document of a file (Kubernetes manifests hold several).
std::vector<YAML::Node> LoadYamlDocuments(const std::string& path);

// node[path[0]][path[1]]..., or an undefined node where a key is missing
// (yaml-cpp throws when indexing past a missing key).
YAML::Node Get(const YAML::Node& node, std::initializer_list<const char*> path);

// The element of a sequence whose `name` is `name` (clusters, containers...).
std::optional<YAML::Node> FindNamed(const YAML::Node& sequence, absl::string_view name);

// Runs `binary args...` to completion (no shell) with `env` added to the
// environment; a failed start fails the calling test and returns exit code -1.
struct ToolResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};
ToolResult RunTool(const std::string& binary, std::vector<std::string> args,
                   std::map<std::string, std::string> env = {});

// "host:port" -> host / port; -1 when there is no numeric port.
std::string HostOf(absl::string_view address);
int PortOf(absl::string_view address);

// The substrings of `text` shaped like one of our tokens with any valid
// prefix (<prefix>_ and 39 base62 characters): none may be committed.
std::vector<std::string> TokenShapedStrings(const std::string& text);

// The PEM private key blocks of `text` ("-----BEGIN ... PRIVATE KEY-----"
// and at least one line of base64): none may be committed.
std::vector<std::string> PrivateKeyBlocks(const std::string& text);

// A compose service's environment as name -> value (compose accepts a map
// or a list of "NAME=value").
std::map<std::string, std::string> ComposeEnvironment(const YAML::Node& service);

// The port of a token-sidecar address flag's default ("listen",
// "metrics_listen"), from the flag's definition.
int SidecarDefaultPort(absl::string_view flag);

// The environment variables token-sidecar reads its flags from.
std::set<std::string> SidecarEnvironmentVariables();

// The environment variables of the flag table under `heading` ("###
// token-service") of docs/operations.md, which ServiceConfigTest and
// SidecarConfigTest hold to the flag definitions. (The test binary cannot
// link both binaries' flags: they share names.)
std::set<std::string> DocumentedEnvironmentVariables(absl::string_view heading);

// One `<binary> probe [flags]` that a shell command (or an exec probe's
// argv, joined) runs.
struct ProbeCall {
  std::string address;  // --address; "" for the default
  absl::Duration timeout = kDefaultProbeTimeout;  // --probe_timeout
  std::vector<std::string> args;  // as written: "probe", then its flags
  // The probe's default --probe_timeout.
  static constexpr absl::Duration kDefaultProbeTimeout = absl::Seconds(5);
};
std::vector<ProbeCall> ProbeCalls(absl::string_view command, absl::string_view binary);

// Runs `call` with the real binary and `env`, and checks that it parsed and
// dialled `address`: its one line is "<name> probe: <address>: ..." (whatever
// the answer; nothing here need listen there). A flag the binary does not
// know fails this, as does an address other than the expected one.
void ExpectProbeDials(const std::string& binary_path, absl::string_view name,
                      const ProbeCall& call, const std::map<std::string, std::string>& env,
                      absl::string_view address);

// Where a probe without --address dials: the binary's listen address with a
// wildcard host (0.0.0.0, [::]) replaced by loopback.
std::string DefaultProbeAddress(absl::string_view listen);

// An Envoy configuration's cluster endpoint (its first), as host and port;
// nullopt if the file has no such cluster.
struct Endpoint {
  std::string host;
  int port = -1;
};
std::optional<Endpoint> EnvoyClusterEndpoint(absl::string_view config_path,
                                             absl::string_view cluster);

// One stage of a Dockerfile: FROM <base> [AS <name>] and its instructions,
// continuation lines joined and comments dropped.
struct DockerStage {
  std::string name;  // "" if unnamed
  std::string base;
  std::vector<std::string> instructions;  // "COPY a b", "RUN ...", ...
};
std::vector<DockerStage> ParseDockerfile(const std::string& text);

// The stage called `name`, or nullptr.
const DockerStage* FindStage(const std::vector<DockerStage>& stages, absl::string_view name);

// The stage, its base stage, and so on up to the first non-stage image.
std::vector<const DockerStage*> StageChain(const std::vector<DockerStage>& stages,
                                           absl::string_view name);

// The packages named by `apt-get install` in a stage's RUN instructions.
std::vector<std::string> AptInstalledPackages(const DockerStage& stage);

}  // namespace tokens::deploy_testing
