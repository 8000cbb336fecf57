#include "services/token_service/transport/expiry_webhook_client.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/version/build_info.h"
#include "httplib.h"

namespace tokens::service {

std::string WebhookUrl::origin() const { return absl::StrCat(scheme, "://", host, ":", port); }

absl::StatusOr<WebhookUrl> ParseWebhookUrl(absl::string_view url) {
  WebhookUrl parsed;
  absl::string_view rest = url;
  if (absl::ConsumePrefix(&rest, "http://")) {
    parsed.scheme = "http";
    parsed.port = 80;
  } else if (absl::ConsumePrefix(&rest, "https://")) {
    parsed.scheme = "https";
    parsed.port = 443;
  } else {
    return absl::InvalidArgumentError("must start with http:// or https://");
  }
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
      return absl::InvalidArgumentError("must not contain spaces, control or non-ASCII characters");
    }
  }
  if (absl::StrContains(url, '#')) return absl::InvalidArgumentError("must not have a fragment");
  const size_t authority_end = rest.find_first_of("/?");
  absl::string_view authority = rest.substr(0, authority_end);
  parsed.path =
      authority_end == absl::string_view::npos ? "/" : std::string(rest.substr(authority_end));
  if (absl::StartsWith(parsed.path, "?")) parsed.path = "/" + parsed.path;
  if (absl::StrContains(authority, '@')) {
    return absl::InvalidArgumentError(
        "must not carry a user or password (the signature authenticates token-service)");
  }
  absl::string_view host = authority;
  std::optional<absl::string_view> port;
  if (absl::StartsWith(authority, "[")) {
    const size_t close = authority.find(']');
    if (close == absl::string_view::npos) return absl::InvalidArgumentError("has an unclosed [");
    host = authority.substr(0, close + 1);
    absl::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (!absl::ConsumePrefix(&after, ":")) {
        return absl::InvalidArgumentError("has text after the IPv6 address");
      }
      port = after;
    }
  } else if (const size_t colon = authority.find(':'); colon != absl::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty() || host == "[]") return absl::InvalidArgumentError("has no host");
  parsed.host = std::string(host);
  if (port.has_value()) {
    int p = 0;
    if (port->empty() || !std::all_of(port->begin(), port->end(), absl::ascii_isdigit) ||
        !absl::SimpleAtoi(*port, &p) || p < 1 || p > 65535) {
      return absl::InvalidArgumentError("has a port that is not a number in 1..65535");
    }
    parsed.port = p;
  }
  return parsed;
}

HttpWebhookSender::HttpWebhookSender(WebhookUrl url, Options options)
    : url_(std::move(url)), options_(options) {}

HttpWebhookSender::~HttpWebhookSender() = default;

WebhookResult HttpWebhookSender::Post(const WebhookRequest& request) {
  httplib::Client client(absl::StrCat(url_.scheme, "://", url_.host, ":", url_.port));
  const auto micros = [](absl::Duration d) {
    return std::chrono::microseconds(absl::ToInt64Microseconds(d));
  };
  client.set_connection_timeout(micros(options_.connect_timeout));
  client.set_read_timeout(micros(options_.io_timeout));
  client.set_write_timeout(micros(options_.io_timeout));
  client.set_follow_location(false);
  // A receiver's answer is never read beyond its status: its body could be
  // anything, and goes nowhere.
  const httplib::Headers headers = {
      {"X-Webhook-Id", request.id},
      {"X-Webhook-Signature-256", request.signature},
      {"User-Agent", absl::StrCat("token-service/", BuildVersion())},
  };
  httplib::Result result =
      client.Post(url_.path.c_str(), headers, request.body, "application/json");
  WebhookResult out;
  if (!result) {
    out.outcome = WebhookResult::Outcome::kFailed;
    out.error = httplib::to_string(result.error());
    return out;
  }
  out.http_status = result->status;
  out.outcome = result->status >= 200 && result->status < 300 ? WebhookResult::Outcome::kDelivered
                                                              : WebhookResult::Outcome::kRejected;
  return out;
}

}  // namespace tokens::service
