#pragma once

#include <string>

#include "absl/strings/string_view.h"

namespace tokens {

// Splits "host:port" / "[v6]:port" into host (brackets removed) and port
// (0-65535); false when malformed.
bool SplitHostPort(absl::string_view address, std::string* host, int* port);

}  // namespace tokens
