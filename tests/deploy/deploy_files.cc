#include "tests/deploy/deploy_files.h"

#include <chrono>
#include <fstream>
#include <regex>
#include <sstream>
#include <string_view>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sidecar/config.h"
#include "tests/support/child_process.h"

namespace tokens::deploy_testing {

std::string RepoPath(absl::string_view relative) {
  return absl::StrCat(TOKENS_SOURCE_DIR, "/", relative);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ADD_FAILURE() << "cannot read " << path;
    return "";
  }
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::vector<YAML::Node> LoadYamlDocuments(const std::string& path) {
  try {
    return YAML::LoadAllFromFile(path);
  } catch (const YAML::Exception& e) {
    ADD_FAILURE() << path << " is not valid YAML: " << e.what();
    return {};
  }
}

YAML::Node Get(const YAML::Node& node, std::initializer_list<const char*> path) {
  YAML::Node current = node;
  for (const char* key : path) {
    if (!current.IsMap() || !current[key]) return YAML::Node(YAML::NodeType::Undefined);
    // reset() rebinds; operator= would overwrite the node in the document.
    current.reset(current[key]);
  }
  return current;
}

std::optional<YAML::Node> FindNamed(const YAML::Node& sequence, absl::string_view name) {
  for (const YAML::Node& element : sequence) {
    if (element["name"] && element["name"].as<std::string>() == name) return element;
  }
  return std::nullopt;
}

ToolResult RunTool(const std::string& binary, std::vector<std::string> args,
                   std::map<std::string, std::string> env) {
  testing::ChildProcess::Options options;
  options.binary = binary;
  options.args = std::move(args);
  options.env = std::move(env);
  absl::StatusOr<testing::ChildProcess::Result> result =
      testing::ChildProcess::Run(std::move(options), std::chrono::seconds(60));
  if (!result.ok()) {
    ADD_FAILURE() << binary << ": " << result.status();
    return {};
  }
  return {result->exit_code, result->out, result->err};
}

std::string HostOf(absl::string_view address) {
  const size_t colon = address.rfind(':');
  return std::string(colon == absl::string_view::npos ? address : address.substr(0, colon));
}

int PortOf(absl::string_view address) {
  const size_t colon = address.rfind(':');
  int port = -1;
  if (colon == absl::string_view::npos || !absl::SimpleAtoi(address.substr(colon + 1), &port)) {
    return -1;
  }
  return port;
}

std::vector<std::string> TokenShapedStrings(const std::string& text) {
  // The prefix rule is TokenCodec::IsValidPrefix's; the body is
  // TokenCodec::kBodyChars base62 characters.
  static const std::regex kToken(R"(\b[a-z][a-z0-9]{0,15}_[0-9A-Za-z]{39}\b)");
  std::vector<std::string> found;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), kToken);
       it != std::sregex_iterator(); ++it) {
    found.push_back(it->str());
  }
  return found;
}

std::vector<std::string> PrivateKeyBlocks(const std::string& text) {
  static const std::regex kKey(
      R"(-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----\r?\n[A-Za-z0-9+/=]{16,})");
  std::vector<std::string> found;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), kKey);
       it != std::sregex_iterator(); ++it) {
    found.push_back(it->str());
  }
  return found;
}

std::map<std::string, std::string> ComposeEnvironment(const YAML::Node& service) {
  std::map<std::string, std::string> env;
  const YAML::Node environment = service["environment"];
  if (environment.IsMap()) {
    for (const auto& entry : environment) {
      env[entry.first.as<std::string>()] =
          entry.second.IsNull() ? "" : entry.second.as<std::string>();
    }
  } else if (environment.IsSequence()) {
    for (const YAML::Node& entry : environment) {
      const std::string line = entry.as<std::string>();
      const size_t eq = line.find('=');
      env[line.substr(0, eq)] = eq == std::string::npos ? "" : line.substr(eq + 1);
    }
  }
  return env;
}

int SidecarDefaultPort(absl::string_view flag) {
  for (const FlagDoc& doc : sidecar::DescribeFlags()) {
    if (doc.flag == flag) return PortOf(doc.default_value);
  }
  ADD_FAILURE() << "token-sidecar has no --" << flag << " flag";
  return -1;
}

std::set<std::string> SidecarEnvironmentVariables() {
  std::set<std::string> variables;
  for (const FlagDoc& doc : sidecar::DescribeFlags()) {
    if (!doc.env.empty()) variables.insert(doc.env);
  }
  return variables;
}

std::set<std::string> DocumentedEnvironmentVariables(absl::string_view heading) {
  std::set<std::string> variables;
  bool in_section = false;
  for (absl::string_view line : absl::StrSplit(ReadFile(RepoPath("docs/operations.md")), '\n')) {
    if (absl::StartsWith(line, "#")) {
      in_section = line == heading;
      continue;
    }
    // | `--flag` | `VARIABLE` | default | meaning |
    std::vector<absl::string_view> cells = absl::StrSplit(line, '|');
    if (!in_section || cells.size() < 4) continue;
    absl::string_view variable = absl::StripAsciiWhitespace(cells[2]);
    if (absl::ConsumePrefix(&variable, "`") && absl::ConsumeSuffix(&variable, "`")) {
      variables.emplace(variable);
    }
  }
  EXPECT_FALSE(variables.empty()) << "docs/operations.md has no flag table under " << heading;
  return variables;
}

std::vector<ProbeCall> ProbeCalls(absl::string_view command, absl::string_view binary) {
  // Words, with the shell's separators and quotes taken for spaces.
  std::string text(command);
  for (char& c : text) {
    if (std::string_view(";&|()\"'$`").find(c) != std::string_view::npos) c = ' ';
  }
  std::vector<std::string> words = absl::StrSplit(text, ' ', absl::SkipWhitespace());
  std::vector<ProbeCall> calls;
  for (size_t i = 0; i + 1 < words.size(); ++i) {
    if (words[i] != binary || words[i + 1] != "probe") continue;
    ProbeCall call;
    call.args.push_back("probe");
    for (size_t j = i + 2; j < words.size() && absl::StartsWith(words[j], "--"); ++j) {
      call.args.push_back(words[j]);
      std::string flag = words[j].substr(2);
      std::string value;
      if (const size_t eq = flag.find('='); eq != std::string::npos) {
        value = flag.substr(eq + 1);
        flag.resize(eq);
      } else if (j + 1 < words.size()) {
        value = words[++j];
        call.args.push_back(value);
      }
      if (flag == "address") {
        call.address = value;
      } else if (flag == "probe_timeout") {
        EXPECT_TRUE(absl::ParseDuration(value, &call.timeout)) << "--probe_timeout " << value;
      }
    }
    calls.push_back(call);
  }
  return calls;
}

void ExpectProbeDials(const std::string& binary_path, absl::string_view name,
                      const ProbeCall& call, const std::map<std::string, std::string>& env,
                      absl::string_view address) {
  const ToolResult result = RunTool(binary_path, call.args, env);
  EXPECT_THAT(result.out + result.err,
              ::testing::HasSubstr(absl::StrCat(name, " probe: ", address, ": ")))
      << name << " " << absl::StrJoin(call.args, " ");
}

std::string DefaultProbeAddress(absl::string_view listen) {
  const std::string host = HostOf(listen);
  const std::string port = std::string(listen.substr(host.size()));
  if (host == "0.0.0.0") return "127.0.0.1" + port;
  if (host == "[::]") return "[::1]" + port;
  return std::string(listen);
}

std::optional<Endpoint> EnvoyClusterEndpoint(absl::string_view config_path,
                                             absl::string_view cluster) {
  std::vector<YAML::Node> docs = LoadYamlDocuments(RepoPath(config_path));
  if (docs.size() != 1) return std::nullopt;
  std::optional<YAML::Node> found =
      FindNamed(Get(docs[0], {"static_resources", "clusters"}), cluster);
  if (!found) return std::nullopt;
  const YAML::Node endpoints = Get(*found, {"load_assignment", "endpoints"});
  if (!endpoints.IsSequence() || endpoints.size() == 0) return std::nullopt;
  const YAML::Node lb = endpoints[0]["lb_endpoints"];
  if (!lb.IsSequence() || lb.size() == 0) return std::nullopt;
  const YAML::Node address = Get(lb[0], {"endpoint", "address", "socket_address"});
  if (!address["address"] || !address["port_value"]) return std::nullopt;
  return Endpoint{address["address"].as<std::string>(), address["port_value"].as<int>()};
}

std::vector<DockerStage> ParseDockerfile(const std::string& text) {
  std::vector<DockerStage> stages;
  std::string logical;
  auto finish = [&] {
    absl::string_view line = absl::StripAsciiWhitespace(logical);
    if (!line.empty()) {
      const std::string keyword = absl::AsciiStrToUpper(line.substr(0, line.find(' ')));
      if (keyword == "FROM") {
        std::vector<std::string> words = absl::StrSplit(line, ' ', absl::SkipWhitespace());
        DockerStage stage;
        // FROM [--platform=...] <image> [AS <name>]
        size_t i = 1;
        while (i < words.size() && absl::StartsWith(words[i], "--")) ++i;
        if (i < words.size()) stage.base = words[i];
        if (i + 2 < words.size() && absl::AsciiStrToUpper(words[i + 1]) == "AS") {
          stage.name = words[i + 2];
        }
        stages.push_back(stage);
      } else if (!stages.empty()) {
        stages.back().instructions.emplace_back(line);
      }
    }
    logical.clear();
  };
  for (absl::string_view raw : absl::StrSplit(text, '\n')) {
    absl::string_view line = absl::StripTrailingAsciiWhitespace(raw);
    if (absl::StartsWith(absl::StripLeadingAsciiWhitespace(line), "#")) continue;
    if (absl::ConsumeSuffix(&line, "\\")) {
      absl::StrAppend(&logical, line, " ");
      continue;
    }
    absl::StrAppend(&logical, line);
    finish();
  }
  finish();
  return stages;
}

const DockerStage* FindStage(const std::vector<DockerStage>& stages, absl::string_view name) {
  for (const DockerStage& stage : stages) {
    if (stage.name == name) return &stage;
  }
  return nullptr;
}

std::vector<const DockerStage*> StageChain(const std::vector<DockerStage>& stages,
                                           absl::string_view name) {
  std::vector<const DockerStage*> chain;
  for (const DockerStage* stage = FindStage(stages, name);
       stage != nullptr && chain.size() <= stages.size(); stage = FindStage(stages, stage->base)) {
    chain.push_back(stage);
  }
  return chain;
}

std::vector<std::string> AptInstalledPackages(const DockerStage& stage) {
  std::vector<std::string> packages;
  for (const std::string& instruction : stage.instructions) {
    if (!absl::StartsWith(instruction, "RUN ")) continue;
    // Each shell command of the RUN; packages follow "apt-get install".
    for (absl::string_view command : absl::StrSplit(instruction, "&&")) {
      std::vector<absl::string_view> words = absl::StrSplit(command, ' ', absl::SkipWhitespace());
      bool apt_get = false;
      bool after_install = false;
      for (absl::string_view word : words) {
        if (after_install) {
          if (!absl::StartsWith(word, "-")) packages.emplace_back(word);
        } else if (word == "apt-get") {
          apt_get = true;
        } else if (apt_get && word == "install") {
          after_install = true;
        }
      }
    }
  }
  return packages;
}

}  // namespace tokens::deploy_testing
