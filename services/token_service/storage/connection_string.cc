#include "services/token_service/storage/connection_string.h"

#include <libpq-fe.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace tokens::service {
namespace {

constexpr char kHint[] =
    "; percent-encode reserved characters such as % @ / : in the user name and password";

struct OptionsDeleter {
  void operator()(PQconninfoOption* options) const { PQconninfoFree(options); }
};
using Options = std::unique_ptr<PQconninfoOption, OptionsDeleter>;

// libpq's reason with everything from its first to its last quote replaced
// by "...": every message quotes the text it could not read, which may be
// (part of) the password, and a password that holds a quote itself would
// defeat cutting out each quoted span on its own.
std::string RedactedReason(const char* message) {
  if (message == nullptr) return "libpq could not parse it";
  const absl::string_view text(message);
  std::string reason(text);
  // Over the whole message: a password may hold a newline too.
  if (const size_t first = text.find('"'); first != absl::string_view::npos) {
    const size_t last = text.rfind('"');
    reason = absl::StrCat(text.substr(0, first), "\"...\"",
                          last > first ? text.substr(last + 1) : absl::string_view());
  }
  return std::string(
      absl::StripTrailingAsciiWhitespace(absl::string_view(reason).substr(0, reason.find('\n'))));
}

// The value of `keyword` among parsed options; nullopt if unset.
std::optional<absl::string_view> Value(const PQconninfoOption* options, absl::string_view keyword) {
  for (const PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (keyword == o->keyword && o->val != nullptr) return absl::string_view(o->val);
  }
  return std::nullopt;
}

// The password exactly as a URI writes it, between the user info's first
// ':' and its '@', and the `password` query parameter's raw value; libpq's
// own decoding gives the other spelling.
std::vector<absl::string_view> RawUriPasswords(absl::string_view url) {
  std::vector<absl::string_view> raw;
  const size_t scheme_end = url.find("://");
  if (scheme_end == absl::string_view::npos) return raw;
  absl::string_view rest = url.substr(scheme_end + 3);
  // libpq ends the user info at the first '@' or '/'.
  const size_t at = rest.find_first_of("@/");
  if (at != absl::string_view::npos && rest[at] == '@') {
    const absl::string_view userinfo = rest.substr(0, at);
    const size_t colon = userinfo.find(':');
    if (colon != absl::string_view::npos) raw.push_back(userinfo.substr(colon + 1));
  }
  const size_t query = rest.find('?');
  if (query != absl::string_view::npos) {
    for (absl::string_view pair : absl::StrSplit(rest.substr(query + 1), '&')) {
      if (absl::ConsumePrefix(&pair, "password=")) raw.push_back(pair);
    }
  }
  return raw;
}

}  // namespace

absl::Status CheckConnectionString(absl::string_view url) {
  char* error = nullptr;
  const std::string text(url);
  Options options(PQconninfoParse(text.c_str(), &error));
  if (options == nullptr) {
    const std::string reason = RedactedReason(error);
    PQfreemem(error);
    return absl::InvalidArgumentError(
        absl::StrCat("is not a valid libpq connection string (", reason, ")", kHint));
  }
  // libpq accepts these and fails later, at every connection attempt, with
  // a message that quotes the value: the head or tail of the password.
  if (std::optional<absl::string_view> ports = Value(options.get(), "port")) {
    for (absl::string_view port : absl::StrSplit(*ports, ',')) {
      if (!std::all_of(port.begin(), port.end(), absl::ascii_isdigit)) {
        return absl::InvalidArgumentError(
            absl::StrCat("has a port that is not a number (the value is not shown)", kHint));
      }
    }
  }
  if (std::optional<absl::string_view> hosts = Value(options.get(), "host")) {
    for (absl::string_view host : absl::StrSplit(*hosts, ',')) {
      // A path is a unix-socket directory, which may hold anything, and a
      // leading '@' names a socket in Linux's abstract namespace.
      if (!absl::StartsWith(host, "/") && !absl::StartsWith(host, "@") &&
          absl::StrContains(host, '@')) {
        return absl::InvalidArgumentError(
            absl::StrCat("has a host name with '@' in it (the value is not shown)", kHint));
      }
    }
  }
  return absl::OkStatus();
}

std::vector<std::string> ConnectionSecrets(absl::string_view url) {
  std::vector<std::string> secrets;
  const auto add = [&secrets](absl::string_view secret) {
    if (secret.size() < kMinRedactedLength) return;
    for (const std::string& known : secrets) {
      if (known == secret) return;
    }
    secrets.emplace_back(secret);
  };
  for (absl::string_view raw : RawUriPasswords(url)) add(raw);
  const std::string text(url);
  char* error = nullptr;
  Options options(PQconninfoParse(text.c_str(), &error));
  PQfreemem(error);
  if (options != nullptr) {
    if (std::optional<absl::string_view> password = Value(options.get(), "password")) {
      add(*password);
    }
  }
  return secrets;
}

}  // namespace tokens::service
