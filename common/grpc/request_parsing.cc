#include "common/grpc/request_parsing.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/status/field_error.h"
#include "common/text/utf8.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/unknown_field_set.h"

namespace tokens {
namespace {

// Deeper than any request of ours; a message type that contains itself
// cannot make the search recurse without end.
constexpr int kMaxDepth = 32;

// The path of the first string field of `bytes` (a serialized `type`) whose
// value is not UTF-8. Reads the bytes as unknown fields, which checks no
// UTF-8, and looks each length-delimited field up in the descriptor.
std::optional<std::string> FindInvalidUtf8(const google::protobuf::Descriptor& type,
                                           absl::string_view bytes, int depth) {
  google::protobuf::UnknownFieldSet fields;
  if (depth > kMaxDepth || !fields.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return std::nullopt;
  }
  std::map<int, int> occurrences;  // field number -> how many seen, for repeated paths
  for (int i = 0; i < fields.field_count(); ++i) {
    const google::protobuf::UnknownField& field = fields.field(i);
    if (field.type() != google::protobuf::UnknownField::TYPE_LENGTH_DELIMITED) continue;
    const google::protobuf::FieldDescriptor* descriptor = type.FindFieldByNumber(field.number());
    if (descriptor == nullptr) continue;
    std::string path = descriptor->name();
    const int index = occurrences[field.number()]++;
    if (descriptor->is_repeated() && !descriptor->is_map()) absl::StrAppend(&path, "[", index, "]");
    const absl::string_view value = field.length_delimited();
    if (descriptor->type() == google::protobuf::FieldDescriptor::TYPE_STRING) {
      if (!IsValidUtf8(value)) return path;
    } else if (descriptor->type() == google::protobuf::FieldDescriptor::TYPE_MESSAGE) {
      if (std::optional<std::string> inner =
              FindInvalidUtf8(*descriptor->message_type(), value, depth + 1)) {
        return absl::StrCat(path, ".", *inner);
      }
    }
  }
  return std::nullopt;
}

}  // namespace

absl::Status ParseRequest(const grpc::ByteBuffer& bytes, google::protobuf::Message* request) {
  std::vector<grpc::Slice> slices;
  std::string flat;
  if (bytes.Valid() && bytes.Dump(&slices).ok()) {
    flat.reserve(bytes.Length());
    for (const grpc::Slice& slice : slices) {
      flat.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
    }
  }
  if (std::optional<std::string> field = FindInvalidUtf8(*request->GetDescriptor(), flat, 0)) {
    return FieldError(*field, "must be valid UTF-8");
  }
  if (!request->ParseFromString(flat)) {
    return absl::InvalidArgumentError(
        absl::StrCat("the request is not a valid ", request->GetDescriptor()->full_name()));
  }
  return absl::OkStatus();
}

}  // namespace tokens
