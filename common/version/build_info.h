#pragma once

#include "absl/strings/string_view.h"

namespace tokens {

// What was built: the project version from CMake (project(... VERSION)) and
// the git commit it was built from ("unknown" outside a git checkout; the
// cache variable TOKENS_COMMIT overrides it, e.g. for a source tarball).
// Regenerated on every build, so an incremental build never reports the
// commit of an earlier one.
absl::string_view BuildVersion();
absl::string_view BuildCommit();

}  // namespace tokens
