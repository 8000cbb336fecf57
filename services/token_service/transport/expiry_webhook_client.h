#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/token_service/domain/ports/expiry_warnings.h"

namespace httplib {
class Client;
}

namespace tokens::service {

// --expiry_webhook_url, taken apart.
struct WebhookUrl {
  std::string scheme;  // "http" or "https"
  std::string host;    // a name, an IPv4 address or [an IPv6 one]
  int port = 0;
  std::string path;  // "/..." with the query, if any
  // scheme://host:port: what logs and errors may name. The path is never
  // logged: some receivers put a credential in it.
  std::string origin() const;
};

// http:// or https://, a host, an optional port, an optional path; no user
// or password (the signature authenticates us), no fragment.
// INVALID_ARGUMENT saying what is wrong, without quoting the URL.
absl::StatusOr<WebhookUrl> ParseWebhookUrl(absl::string_view url);

// WebhookSender over cpp-httplib: one POST per warning, a new connection
// each time (a warning is rare, and a kept connection would be one more
// thing to go stale). https:// verifies the receiver's certificate and name
// against the system's trusted CAs.
class HttpWebhookSender final : public WebhookSender {
 public:
  struct Options {
    absl::Duration connect_timeout = absl::Seconds(5);
    // Sending the request and reading the answer, each.
    absl::Duration io_timeout = absl::Seconds(10);
  };
  HttpWebhookSender(WebhookUrl url, Options options);
  ~HttpWebhookSender() override;

  WebhookResult Post(const WebhookRequest& request) override;

 private:
  const WebhookUrl url_;
  const Options options_;
};

}  // namespace tokens::service
