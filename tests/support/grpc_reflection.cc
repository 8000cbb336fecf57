#include "tests/support/grpc_reflection.h"

#include <chrono>
#include <cstdint>
#include <vector>

#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.pb.h"
#include "grpcpp/client_context.h"
#include "grpcpp/completion_queue.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/support/byte_buffer.h"

namespace tokens::testing {
namespace {

// A minimal protobuf wire-format reader: the length-delimited fields
// `field` of `message`, in order. Enough to read reflection responses
// without reflection.proto.
std::vector<std::string> LengthDelimitedFields(absl::string_view message, uint32_t field) {
  std::vector<std::string> out;
  size_t pos = 0;
  auto varint = [&](uint64_t* value) {
    *value = 0;
    for (int shift = 0; pos < message.size() && shift < 64; shift += 7) {
      const uint8_t b = static_cast<uint8_t>(message[pos++]);
      *value |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return true;
    }
    return false;
  };
  while (pos < message.size()) {
    uint64_t key = 0;
    if (!varint(&key)) break;
    const uint32_t number = static_cast<uint32_t>(key >> 3);
    switch (key & 7) {
      case 0: {
        uint64_t ignored;
        if (!varint(&ignored)) return out;
        break;
      }
      case 1:
        pos += 8;
        break;
      case 5:
        pos += 4;
        break;
      case 2: {
        uint64_t length = 0;
        if (!varint(&length) || length > message.size() - pos) return out;
        if (number == field) out.emplace_back(message.substr(pos, length));
        pos += length;
        break;
      }
      default:
        return out;
    }
  }
  return out;
}

// A string field of a hand-encoded request: tag, length, bytes (short
// values only).
std::string StringField(uint8_t number, const std::string& value) {
  return std::string(1, static_cast<char>((number << 3) | 2)) +
         std::string(1, static_cast<char>(value.size())) + value;
}

// One request/response exchange on ServerReflectionInfo; the serialized
// responses.
absl::StatusOr<std::vector<std::string>> Reflect(const std::shared_ptr<grpc::Channel>& channel,
                                                 const std::string& request_bytes) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  grpc::CompletionQueue cq;
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call =
      stub.PrepareCall(&ctx, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
  int tags[5];
  auto await = [&cq](void* expected) {
    void* tag = nullptr;
    bool ok = false;
    return cq.Next(&tag, &ok) && tag == expected && ok;
  };
  std::vector<std::string> responses;
  call->StartCall(&tags[0]);
  if (await(&tags[0])) {
    grpc::Slice slice(request_bytes);
    grpc::ByteBuffer request(&slice, 1);
    call->Write(request, &tags[1]);
    await(&tags[1]);
    call->WritesDone(&tags[2]);
    await(&tags[2]);
    for (int i = 0; i < 100; ++i) {
      grpc::ByteBuffer response;
      call->Read(&response, &tags[3]);
      if (!await(&tags[3])) break;
      std::vector<grpc::Slice> slices;
      if (!response.Dump(&slices).ok()) break;
      std::string bytes;
      for (const grpc::Slice& s : slices) {
        bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
      }
      responses.push_back(std::move(bytes));
    }
  }
  grpc::Status status;
  call->Finish(&status, &tags[4]);
  void* tag;
  bool ok;
  cq.Next(&tag, &ok);
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
  }
  if (responses.size() != 1) return absl::InternalError("expected exactly one response");
  return responses;
}

}  // namespace

absl::StatusOr<std::set<std::string>> ReflectedServices(
    const std::shared_ptr<grpc::Channel>& channel) {
  // ServerReflectionRequest{list_services: ""}: field 7, empty string.
  absl::StatusOr<std::vector<std::string>> responses = Reflect(channel, StringField(7, ""));
  if (!responses.ok()) return responses.status();
  // ServerReflectionResponse.list_services_response (6) -> service (1) -> name (1).
  std::set<std::string> services;
  for (const std::string& list : LengthDelimitedFields((*responses)[0], 6)) {
    for (const std::string& service : LengthDelimitedFields(list, 1)) {
      for (const std::string& name : LengthDelimitedFields(service, 1)) services.insert(name);
    }
  }
  return services;
}

absl::StatusOr<bool> ReflectionDescribesMethod(const std::shared_ptr<grpc::Channel>& channel,
                                               const std::string& symbol, const std::string& file,
                                               const std::string& method) {
  // file_containing_symbol (4) answers with file_descriptor_response (4) ->
  // file_descriptor_proto (1).
  absl::StatusOr<std::vector<std::string>> responses = Reflect(channel, StringField(4, symbol));
  if (!responses.ok()) return responses.status();
  for (const std::string& fd_response : LengthDelimitedFields((*responses)[0], 4)) {
    for (const std::string& bytes : LengthDelimitedFields(fd_response, 1)) {
      google::protobuf::FileDescriptorProto fd;
      if (!fd.ParseFromString(bytes)) return absl::InternalError("unparsable descriptor");
      if (fd.name() != file) continue;
      for (const auto& service : fd.service()) {
        for (const auto& m : service.method()) {
          if (m.name() == method) return true;
        }
      }
    }
  }
  return false;
}

}  // namespace tokens::testing
