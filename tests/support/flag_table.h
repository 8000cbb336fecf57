#pragma once

#include <string>
#include <vector>

#include "common/config/env_flags.h"

namespace tokens::testing {

// Checks the Markdown flag table under the heading `heading` (e.g.
// "### token-sidecar") of the file at `path` against the flag definitions:
// one row per flag, `| `--name` | `ENV` | `default` | meaning |`, with the
// variable and default the code has ("(required)" or plain words where the
// code's default is empty), and no row for a flag the code does not have.
// Adds a GoogleTest failure per mismatch.
void ExpectFlagTableMatches(const std::string& path, const std::string& heading,
                            const std::vector<FlagDoc>& flags);

}  // namespace tokens::testing
