#include "tests/support/flag_table.h"

#include <fstream>
#include <map>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"

namespace tokens::testing {
namespace {

struct Row {
  std::string env;
  std::string default_cell;
};

// The rows of the first table after `heading`, keyed by flag name.
std::map<std::string, Row> ReadTable(const std::string& text, const std::string& heading) {
  std::map<std::string, Row> rows;
  bool in_section = false;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (absl::StartsWith(line, "#")) {
      if (in_section) break;
      in_section = line == heading;
      continue;
    }
    if (!in_section || !absl::StartsWith(line, "| `--")) continue;
    std::vector<std::string> cells = absl::StrSplit(line, '|');
    // "", flag, env, default, meaning, ""
    if (cells.size() < 5) {
      ADD_FAILURE() << "malformed row: " << line;
      continue;
    }
    for (std::string& cell : cells) cell = std::string(absl::StripAsciiWhitespace(cell));
    std::string flag(absl::StripSuffix(absl::StripPrefix(cells[1], "`--"), "`"));
    std::string env(absl::StripSuffix(absl::StripPrefix(cells[2], "`"), "`"));
    if (!rows.emplace(flag, Row{env, cells[3]}).second) ADD_FAILURE() << "--" << flag << " twice";
  }
  return rows;
}

}  // namespace

void ExpectFlagTableMatches(const std::string& path, const std::string& heading,
                            const std::vector<FlagDoc>& flags) {
  std::ifstream file(path);
  ASSERT_TRUE(file.is_open()) << path;
  std::stringstream text;
  text << file.rdbuf();
  std::map<std::string, Row> rows = ReadTable(text.str(), heading);
  ASSERT_FALSE(rows.empty()) << "no flag table under \"" << heading << "\" in " << path;
  for (const FlagDoc& flag : flags) {
    auto it = rows.find(flag.flag);
    if (it == rows.end()) {
      ADD_FAILURE() << "--" << flag.flag << " is not in the table under " << heading;
      continue;
    }
    EXPECT_EQ(it->second.env, flag.env) << "variable of --" << flag.flag;
    if (flag.default_value.empty()) {
      EXPECT_FALSE(absl::StartsWith(it->second.default_cell, "`"))
          << "--" << flag.flag << " has no default in the code, the docs give "
          << it->second.default_cell;
    } else {
      EXPECT_EQ(it->second.default_cell, "`" + flag.default_value + "`")
          << "default of --" << flag.flag;
    }
    rows.erase(it);
  }
  for (const auto& [name, row] : rows) {
    ADD_FAILURE() << "the table under " << heading << " documents --" << name
                  << ", which the code does not define";
  }
}

}  // namespace tokens::testing
