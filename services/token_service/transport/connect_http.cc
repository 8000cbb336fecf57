#include "services/token_service/transport/connect_http.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/notification.h"
#include "common/http/http_listener.h"
#include "common/log/json_logger.h"
#include "common/text/utf8.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/message.h"
#include "google/protobuf/util/json_util.h"
#include "google/rpc/status.pb.h"
#include "grpcpp/client_context.h"
#include "grpcpp/support/byte_buffer.h"
#include "httplib.h"
#include "services/token_service/transport/rpc_serve.h"

namespace tokens::service {

const std::vector<std::pair<std::string, std::string>> kSecurityHeaders = {
    // Nothing but this origin's own scripts, styles and images (the web
    // console), no inline code, no framing, no plugins, no form posts
    // elsewhere; DOM sinks only through Trusted Types, of which none are
    // allowed.
    {"Content-Security-Policy",
     "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
     "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; "
     "object-src 'none'; require-trusted-types-for 'script'; trusted-types 'none'"},
    {"Referrer-Policy", "no-referrer"},
    {"X-Content-Type-Options", "nosniff"},
    {"X-Frame-Options", "DENY"},
    {"Cross-Origin-Opener-Policy", "same-origin"},
    {"Cross-Origin-Resource-Policy", "same-origin"},
    // CreateToken and RotateToken answer with a token's secret.
    {"Cache-Control", "no-store"},
};

namespace {

using google::protobuf::Message;
using google::protobuf::MethodDescriptor;

// `text` as a JSON string, quotes included; a byte that is not part of
// well-formed UTF-8 becomes U+FFFD, so the answer is always valid JSON.
std::string JsonQuote(absl::string_view text) {
  std::string out = "\"";
  while (!text.empty()) {
    const size_t length = Utf8SequenceLength(text);
    if (length == 0) {
      out += "\\ufffd";
      text.remove_prefix(1);
      continue;
    }
    const unsigned char c = static_cast<unsigned char>(text[0]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      out += absl::StrFormat("\\u%04x", c);
    } else {
      out.append(text.data(), length);
    }
    text.remove_prefix(length);
  }
  return out + "\"";
}

std::string ErrorJson(absl::string_view code, absl::string_view message,
                      absl::string_view details = {}) {
  std::string json = absl::StrCat("{\"code\":", JsonQuote(code));
  if (!message.empty()) absl::StrAppend(&json, ",\"message\":", JsonQuote(message));
  if (!details.empty()) absl::StrAppend(&json, ",\"details\":[", details, "]");
  return json + "}";
}

// One `details` entry per google.rpc.Status detail: `type` (the message's
// full name), `value` (its bytes, base64 without padding, as Connect writes
// them) and, for a type this binary knows, `debug`: the detail as JSON, for
// people reading the answer (clients decode `value`).
std::string DetailsJson(const std::string& status_details) {
  google::rpc::Status rich;
  if (status_details.empty() || !rich.ParseFromString(status_details)) return "";
  std::string out;
  for (const google::protobuf::Any& any : rich.details()) {
    const absl::string_view type_url = any.type_url();
    const absl::string_view type = type_url.substr(type_url.rfind('/') + 1);
    std::string value = absl::Base64Escape(any.value());
    while (!value.empty() && value.back() == '=') value.pop_back();
    std::string entry =
        absl::StrCat("{\"type\":", JsonQuote(type), ",\"value\":", JsonQuote(value));
    const google::protobuf::Descriptor* descriptor =
        google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(
            std::string(type));
    if (descriptor != nullptr) {
      std::unique_ptr<Message> detail(
          google::protobuf::MessageFactory::generated_factory()->GetPrototype(descriptor)->New());
      std::string debug;
      if (detail->ParseFromString(any.value()) &&
          google::protobuf::util::MessageToJsonString(*detail, &debug).ok()) {
        absl::StrAppend(&entry, ",\"debug\":", debug);
      }
    }
    absl::StrAppend(&out, out.empty() ? "" : ",", entry, "}");
  }
  return out;
}

ConnectAnswer Error(grpc::StatusCode code, absl::string_view message, int http_status = 0) {
  ConnectAnswer answer;
  answer.http_status = http_status != 0 ? http_status : ConnectHttpStatus(code);
  answer.body = ErrorJson(ConnectCodeName(code), message);
  return answer;
}

// "application/json", "application/json; charset=utf-8" (any case, spaces
// around the semicolon): Connect's JSON codec. Other charsets are refused,
// since protobuf's JSON is UTF-8.
bool IsJsonContentType(absl::string_view value) {
  const std::string type = absl::AsciiStrToLower(absl::StripAsciiWhitespace(value));
  absl::string_view rest = type;
  if (!absl::ConsumePrefix(&rest, "application/json")) return false;
  rest = absl::StripLeadingAsciiWhitespace(rest);
  if (rest.empty()) return true;
  if (!absl::ConsumePrefix(&rest, ";")) return false;
  rest = absl::StripAsciiWhitespace(rest);
  return rest == "charset=utf-8" || rest == "charset=\"utf-8\"";
}

const std::string* OnlyHeader(const std::multimap<std::string, std::string>& headers,
                              const std::string& name, bool* repeated) {
  const auto [first, end] = headers.equal_range(name);
  *repeated = first != end && std::next(first) != end;
  return first == end ? nullptr : &first->second;
}

std::string BufferBytes(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string bytes;
  if (!buffer.Dump(&slices).ok()) return bytes;
  for (const grpc::Slice& slice : slices) {
    bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  return bytes;
}

std::multimap<std::string, std::string> LowerCaseHeaders(const httplib::Headers& headers) {
  std::multimap<std::string, std::string> out;
  for (const auto& [name, value] : headers) out.emplace(absl::AsciiStrToLower(name), value);
  return out;
}

// The client of a request from `peer`: the peer, or from a trusted proxy
// the client its X-Forwarded-For headers name (ForwardedClient).
// What protobuf's JSON parser said about a body, without the body: its
// first line only (the next ones quote the input around the error) and every
// quoted value replaced by "…", so an error never carries back what the
// client sent, a token pasted into the wrong field included. Field names,
// which protobuf writes unquoted, stay.
std::string JsonErrorWithoutInput(absl::string_view message) {
  message = message.substr(0, message.find('\n'));
  std::string out;
  out.reserve(message.size());
  bool quoted = false;
  for (size_t i = 0; i < message.size(); ++i) {
    const char c = message[i];
    if (quoted) {
      if (c == '\\') {
        ++i;  // an escaped character, a quote included
      } else if (c == '"') {
        quoted = false;
        absl::StrAppend(&out, "\xE2\x80\xA6\"");
      }
      continue;
    }
    out.push_back(c);
    if (c == '"') quoted = true;
  }
  // An unterminated quote: what followed it is input too.
  if (quoted) absl::StrAppend(&out, "\xE2\x80\xA6\"");
  return out;
}

std::string ClientOf(const std::string& peer,
                     const std::multimap<std::string, std::string>& headers,
                     const TrustedProxies& trusted) {
  if (trusted.empty()) return peer;
  std::vector<absl::string_view> forwarded_for;
  const auto [first, end] = headers.equal_range("x-forwarded-for");
  for (auto it = first; it != end; ++it) forwarded_for.push_back(it->second);
  return ForwardedClient(peer, forwarded_for, trusted);
}

void Write(const ConnectAnswer& answer, httplib::Response& res) {
  res.status = answer.http_status;
  for (const auto& [name, value] : answer.headers) res.set_header(name, value);
  res.set_content(answer.body, answer.content_type);
}

}  // namespace

int ConnectHttpStatus(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return 200;
    case grpc::StatusCode::CANCELLED:
      return 499;
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::OUT_OF_RANGE:
      return 400;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return 504;
    case grpc::StatusCode::NOT_FOUND:
      return 404;
    case grpc::StatusCode::ALREADY_EXISTS:
    case grpc::StatusCode::ABORTED:
      return 409;
    case grpc::StatusCode::PERMISSION_DENIED:
      return 403;
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return 429;
    case grpc::StatusCode::UNIMPLEMENTED:
      return 501;
    case grpc::StatusCode::UNAVAILABLE:
      return 503;
    case grpc::StatusCode::UNAUTHENTICATED:
      return 401;
    default:  // UNKNOWN, INTERNAL, DATA_LOSS
      return 500;
  }
}

std::string ConnectCodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return "ok";
    case grpc::StatusCode::CANCELLED:
      return "canceled";  // Connect's spelling
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "invalid_argument";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "deadline_exceeded";
    case grpc::StatusCode::NOT_FOUND:
      return "not_found";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "already_exists";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "permission_denied";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "resource_exhausted";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "failed_precondition";
    case grpc::StatusCode::ABORTED:
      return "aborted";
    case grpc::StatusCode::OUT_OF_RANGE:
      return "out_of_range";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "unimplemented";
    case grpc::StatusCode::INTERNAL:
      return "internal";
    case grpc::StatusCode::UNAVAILABLE:
      return "unavailable";
    case grpc::StatusCode::DATA_LOSS:
      return "data_loss";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "unauthenticated";
    default:
      return "unknown";
  }
}

std::string ConnectErrorJson(const grpc::Status& status) {
  return ErrorJson(ConnectCodeName(status.error_code()), status.error_message(),
                   DetailsJson(status.error_details()));
}

ConnectHttpFace::ConnectHttpFace(std::shared_ptr<grpc::Channel> channel, ConnectHttpOptions options,
                                 metrics::Registry* registry)
    : options_(std::move(options)),
      channel_(std::move(channel)),
      stub_(std::make_unique<grpc::GenericStub>(channel_)) {
  for (const std::string& name : options_.services) {
    const google::protobuf::ServiceDescriptor* service =
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(name);
    // A misspelt name is a bug every test that starts the server finds.
    if (service == nullptr) {
      Logger("http")->critical("no service {} in the descriptor pool", name);
      std::abort();
    }
    for (int i = 0; i < service->method_count(); ++i) {
      const MethodDescriptor* method = service->method(i);
      if (method->client_streaming() || method->server_streaming()) continue;
      methods_.emplace(absl::StrCat("/", service->full_name(), "/", method->name()),
                       Method{method});
    }
  }
  if (registry != nullptr) {
    // The calls themselves are counted by the gRPC services (grpc_server_*);
    // this counts what the face answered itself, and the calls it made.
    for (const char* outcome : {"called", "bad_method", "not_found", "unsupported_media_type",
                                "too_large", "malformed", "file"}) {
      outcomes_.push_back(&registry->AddCounter(
          "token_service_http_requests_total",
          "HTTP requests to --http_listen by outcome: called (made the gRPC call; see "
          "grpc_server_handled_total for its code), file (a file of the web console) or why "
          "the HTTP face refused it",
          {{"outcome", outcome}}));
    }
  }
}

ConnectHttpFace::~ConnectHttpFace() { Stop(); }

void ConnectHttpFace::Count(Outcome outcome) const {
  if (!outcomes_.empty()) outcomes_[static_cast<size_t>(outcome)]->Increment();
}

ConnectAnswer ConnectHttpFace::Post(absl::string_view path,
                                    const std::multimap<std::string, std::string>& headers,
                                    absl::string_view body, absl::string_view client) const {
  const auto found = methods_.find(path);
  if (found == methods_.end()) {
    Count(Outcome::kNotFound);
    // HTTP 404, as for any path that names nothing here; the code is the one
    // Connect clients derive from a 404 (the table's own status for
    // unimplemented, 501, would say the server cannot serve POST at all).
    return Error(grpc::StatusCode::UNIMPLEMENTED, "no such method", 404);
  }
  const MethodDescriptor& method = *found->second.descriptor;
  bool repeated = false;
  const std::string* content_type = OnlyHeader(headers, "content-type", &repeated);
  if (content_type == nullptr || repeated || !IsJsonContentType(*content_type)) {
    Count(Outcome::kMediaType);
    ConnectAnswer answer =
        Error(grpc::StatusCode::UNIMPLEMENTED, "Content-Type must be application/json", 415);
    answer.headers.emplace_back("Accept-Post", "application/json");
    return answer;
  }
  const std::string* encoding = OnlyHeader(headers, "content-encoding", &repeated);
  if (encoding != nullptr && (repeated || absl::AsciiStrToLower(*encoding) != "identity")) {
    Count(Outcome::kMalformed);
    ConnectAnswer answer =
        Error(grpc::StatusCode::UNIMPLEMENTED, "request bodies are not compressed here");
    answer.headers.emplace_back("Accept-Encoding", "identity");
    return answer;
  }
  const std::string* version = OnlyHeader(headers, "connect-protocol-version", &repeated);
  if (version != nullptr && (repeated || *version != "1")) {
    Count(Outcome::kMalformed);
    return Error(grpc::StatusCode::INVALID_ARGUMENT, "Connect-Protocol-Version must be 1");
  }
  absl::Duration timeout = options_.default_call_timeout;
  if (const std::string* ms = OnlyHeader(headers, "connect-timeout-ms", &repeated); ms != nullptr) {
    int64_t value = 0;
    if (repeated || ms->empty() || ms->size() > 10 ||
        !std::all_of(ms->begin(), ms->end(), absl::ascii_isdigit) ||
        !absl::SimpleAtoi(*ms, &value) || value == 0) {
      Count(Outcome::kMalformed);
      return Error(grpc::StatusCode::INVALID_ARGUMENT,
                   "Connect-Timeout-Ms must be a positive number of milliseconds (1 to 10 "
                   "digits)");
    }
    timeout = absl::Milliseconds(value);
  }
  if (body.size() > options_.max_body_bytes) {
    Count(Outcome::kTooLarge);
    return Error(grpc::StatusCode::RESOURCE_EXHAUSTED,
                 absl::StrCat("the request is larger than ", options_.max_body_bytes, " bytes"));
  }

  // JSON -> the input message. Unknown fields are refused, as a misspelt
  // field silently ignored could turn a filtered list into an unfiltered one.
  // The parser's message quotes at most the client's own input.
  std::unique_ptr<Message> request(google::protobuf::MessageFactory::generated_factory()
                                       ->GetPrototype(method.input_type())
                                       ->New());
  google::protobuf::util::JsonParseOptions parse_options;
  parse_options.ignore_unknown_fields = false;
  const absl::string_view json = body.empty() ? absl::string_view("{}") : body;
  if (auto parsed = google::protobuf::util::JsonStringToMessage(
          google::protobuf::StringPiece(json.data(), json.size()), request.get(), parse_options);
      !parsed.ok()) {
    Count(Outcome::kMalformed);
    return Error(grpc::StatusCode::INVALID_ARGUMENT,
                 absl::StrCat("the body is not JSON of ", method.input_type()->full_name(), ": ",
                              JsonErrorWithoutInput(std::string(parsed.message()))));
  }

  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  // Only the bearer header goes on; cookies and every other header of the
  // client stay here.
  if (const auto [first, end] = headers.equal_range("authorization"); first != end) {
    if (std::next(first) != end) {
      return Error(grpc::StatusCode::UNAUTHENTICATED, "more than one authorization header");
    }
    ctx.AddMetadata("authorization", first->second);
  }
  ctx.AddMetadata(kHttpFaceKeyMetadata, HttpFaceKey());
  ctx.AddMetadata(kHttpClientMetadata, std::string(client));
  std::string bytes;
  request->SerializeToString(&bytes);
  grpc::Slice slice(bytes);
  const grpc::ByteBuffer request_buffer(&slice, 1);
  grpc::ByteBuffer response_buffer;
  grpc::Status status;
  absl::Notification done;
  Count(Outcome::kCalled);
  stub_->UnaryCall(&ctx, absl::StrCat(path), grpc::StubOptions(), &request_buffer, &response_buffer,
                   [&status, &done](grpc::Status s) {
                     status = std::move(s);
                     done.Notify();
                   });
  done.WaitForNotification();
  if (!status.ok()) {
    ConnectAnswer answer;
    answer.http_status = ConnectHttpStatus(status.error_code());
    answer.body = ConnectErrorJson(status);
    return answer;
  }
  std::unique_ptr<Message> response(google::protobuf::MessageFactory::generated_factory()
                                        ->GetPrototype(method.output_type())
                                        ->New());
  ConnectAnswer answer;
  if (!response->ParseFromString(BufferBytes(response_buffer)) ||
      !google::protobuf::util::MessageToJsonString(*response, &answer.body).ok()) {
    return Error(grpc::StatusCode::INTERNAL, "the answer could not be written as JSON");
  }
  return answer;
}

absl::Status ConnectHttpFace::Start(absl::string_view listen) {
  server_ = std::make_unique<httplib::Server>();
  httplib::Server& server = *server_;
  httplib::Headers defaults;
  for (const auto& [name, value] : kSecurityHeaders) defaults.emplace(name, value);
  server.set_default_headers(std::move(defaults));
  server.set_payload_max_length(options_.max_body_bytes);
  server.set_read_timeout(absl::ToChronoMilliseconds(options_.read_timeout));
  server.set_write_timeout(absl::ToChronoMilliseconds(options_.write_timeout));
  server.set_keep_alive_timeout(absl::ToInt64Seconds(options_.keep_alive_timeout));
  // Before the body is read: only POST is served; no CORS preflight is
  // answered, so a browser sends no cross-origin call with a bearer header.
  server.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (req.method == "POST") return httplib::Server::HandlerResponse::Unhandled;
    if (req.method == "GET" || req.method == "HEAD") {
      const std::string path = req.path == "/" ? "/index.html" : req.path;
      for (const ConnectHttpOptions::File& file : options_.files) {
        if (path != file.path) continue;
        Count(Outcome::kFile);
        res.status = 200;
        // Revalidated on each load, so a new binary's console is used at once.
        // (The default headers are already in place: replace, not add.)
        res.headers.erase("Cache-Control");
        res.set_header("Cache-Control", "no-cache");
        res.set_content(file.body, file.content_type);
        return httplib::Server::HandlerResponse::Handled;
      }
      if (methods_.find(req.path) == methods_.end()) {
        Count(Outcome::kNotFound);
        Write(Error(grpc::StatusCode::NOT_FOUND, "no such file", 404), res);
        return httplib::Server::HandlerResponse::Handled;
      }
    }
    Count(Outcome::kBadMethod);
    Write(Error(grpc::StatusCode::UNIMPLEMENTED, "only POST is served here", 405), res);
    res.set_header("Allow", "POST");
    return httplib::Server::HandlerResponse::Handled;
  });
  server.Post(R"(/.*)", [this](const httplib::Request& req, httplib::Response& res) {
    std::multimap<std::string, std::string> headers = LowerCaseHeaders(req.headers);
    Write(Post(req.path, headers, req.body,
               ClientOf(req.remote_addr, headers, options_.trusted_proxies)),
          res);
  });
  // What cpp-httplib answers itself with an empty body: a body over the
  // limit (413 from it), a request it cannot read (400) or route (404).
  // (Named as a HandlerWithResponse: a lambda would match both overloads.)
  server.set_error_handler(httplib::Server::HandlerWithResponse([this](const httplib::Request&,
                                                                       httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    if (res.status == 413) {
      Count(Outcome::kTooLarge);
      Write(Error(grpc::StatusCode::RESOURCE_EXHAUSTED,
                  absl::StrCat("the request is larger than ", options_.max_body_bytes, " bytes")),
            res);
    } else if (res.status == 404) {
      Count(Outcome::kNotFound);
      Write(Error(grpc::StatusCode::UNIMPLEMENTED, "no such method", 404), res);
    } else {
      Count(Outcome::kMalformed);
      Write(Error(grpc::StatusCode::INVALID_ARGUMENT, "malformed HTTP request", res.status), res);
    }
    return httplib::Server::HandlerResponse::Handled;
  }));
  listener_ = std::make_unique<HttpListener>(server);
  absl::StatusOr<int> port = listener_->Start(listen);
  if (!port.ok()) return port.status();
  return absl::OkStatus();
}

const std::string& ConnectHttpFace::address() const {
  static const std::string kNone;
  return listener_ != nullptr ? listener_->address() : kNone;
}

void ConnectHttpFace::Stop() {
  if (listener_ != nullptr) listener_->Stop();
}

}  // namespace tokens::service
