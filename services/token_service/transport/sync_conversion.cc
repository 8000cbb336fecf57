#include "services/token_service/transport/sync_conversion.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/status/field_error.h"
#include "common/time/civil_date.h"
#include "services/token_service/transport/proto_conversion.h"

namespace tokens::service {
namespace {

// google.protobuf.Timestamp's range: 0001-01-01T00:00:00Z to
// 9999-12-31T23:59:59.999999999Z.
constexpr int64_t kMinTimestampSeconds = -62135596800;
constexpr int64_t kMaxTimestampSeconds = 253402300799;

v1::SyncTokensResponse Message(v1::SyncTokensResponse::Kind kind) {
  v1::SyncTokensResponse message;
  message.set_kind(kind);
  return message;
}

}  // namespace

void ToProto(const SyncedToken& token, v1::SyncedToken* out) {
  out->set_token_hash(std::string(token.hash.begin(), token.hash.end()));
  out->set_token_id(token.token_id);
  out->set_user_id(token.user_id);
  out->set_expires_on(FormatIsoDate(token.expires_on));
  out->set_revoked(token.revoked);
  out->set_version(token.version);
  for (const std::string& scope : token.scopes) out->add_scopes(scope);
}

void ToProto(const SyncedUser& user, v1::SyncedUser* out) {
  out->set_user_id(user.user_id);
  out->set_role(RoleToProto(user.role));
  out->set_disabled(user.disabled);
  out->set_version(user.version);
}

void ToProto(const SyncLookup& lookup, v1::LookupTokenResponse* out) {
  ToProto(lookup.token, out->mutable_token());
  ToProto(lookup.user, out->mutable_user());
}

std::vector<v1::SyncTokensResponse> SnapshotMessages(const SnapshotChunk& chunk,
                                                     size_t max_tokens) {
  max_tokens = std::max<size_t>(max_tokens, 1);
  absl::flat_hash_map<std::string, const SyncedUser*> unsent;
  for (const SyncedUser& user : chunk.users) unsent.emplace(user.user_id, &user);
  std::vector<v1::SyncTokensResponse> messages;
  for (size_t i = 0; i < chunk.tokens.size(); ++i) {
    if (i % max_tokens == 0) messages.push_back(Message(v1::SyncTokensResponse::SNAPSHOT));
    const SyncedToken& token = chunk.tokens[i];
    ToProto(token, messages.back().add_tokens());
    if (auto it = unsent.find(token.user_id); it != unsent.end()) {
      ToProto(*it->second, messages.back().add_users());
      unsent.erase(it);
    }
  }
  // An empty chunk is still a message (it can be all a snapshot has); users
  // without a token in the chunk, which no store sends, are not lost.
  if (messages.empty()) messages.push_back(Message(v1::SyncTokensResponse::SNAPSHOT));
  for (const SyncedUser& user : chunk.users) {
    if (unsent.contains(user.user_id)) ToProto(user, messages.back().add_users());
  }
  return messages;
}

v1::SyncTokensResponse SnapshotEndMessage(int64_t version) {
  v1::SyncTokensResponse message = Message(v1::SyncTokensResponse::SNAPSHOT_END);
  message.set_version(version);
  return message;
}

std::vector<v1::SyncTokensResponse> DeltaMessages(const ChangeBatch& batch, size_t max_rows) {
  max_rows = std::max<size_t>(max_rows, 1);
  // Every row, tokens and users together, in version order.
  struct Row {
    int64_t version;
    const SyncedToken* token;
    const SyncedUser* user;
  };
  std::vector<Row> rows;
  rows.reserve(batch.tokens.size() + batch.users.size());
  for (const SyncedToken& t : batch.tokens) rows.push_back({t.version, &t, nullptr});
  for (const SyncedUser& u : batch.users) rows.push_back({u.version, nullptr, &u});
  std::stable_sort(rows.begin(), rows.end(),
                   [](const Row& a, const Row& b) { return a.version < b.version; });
  absl::flat_hash_map<std::string, const SyncedUser*> users;
  for (const SyncedUser& u : batch.users) users.emplace(u.user_id, &u);

  std::vector<v1::SyncTokensResponse> messages;
  for (size_t begin = 0; begin < rows.size() || messages.empty(); begin += max_rows) {
    const size_t end = std::min(rows.size(), begin + max_rows);
    v1::SyncTokensResponse message = Message(v1::SyncTokensResponse::DELTA);
    int64_t version = batch.after_version;
    absl::flat_hash_set<std::string> carried;
    for (size_t i = begin; i < end; ++i) {
      version = std::max(version, rows[i].version);
      if (rows[i].user != nullptr && carried.insert(rows[i].user->user_id).second) {
        ToProto(*rows[i].user, message.add_users());
      }
    }
    for (size_t i = begin; i < end; ++i) {
      if (rows[i].token == nullptr) continue;
      ToProto(*rows[i].token, message.add_tokens());
      // A token travels with its owner, even if the owner's own row falls
      // into another message: a cache never holds a token without a user.
      auto owner = users.find(rows[i].token->user_id);
      if (owner != users.end() && carried.insert(owner->first).second) {
        ToProto(*owner->second, message.add_users());
      }
    }
    message.set_version(end == rows.size() ? batch.version : version);
    messages.push_back(std::move(message));
  }
  return messages;
}

absl::StatusOr<std::vector<TokenSyncManager::UsageReport>> UsagesFromProto(
    const v1::ReportUsageRequest& request) {
  std::vector<TokenSyncManager::UsageReport> usages;
  usages.reserve(request.usages_size());
  for (int i = 0; i < request.usages_size(); ++i) {
    const v1::TokenUsage& u = request.usages(i);
    TokenSyncManager::UsageReport report{u.token_id(), std::nullopt, u.client_address()};
    if (u.has_last_used_at()) {
      const google::protobuf::Timestamp& ts = u.last_used_at();
      if (ts.seconds() < kMinTimestampSeconds || ts.seconds() > kMaxTimestampSeconds ||
          ts.nanos() < 0 || ts.nanos() > 999999999) {
        return FieldError(absl::StrCat("usages[", i, "].last_used_at"), "is not a valid timestamp");
      }
      report.last_used_at = absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
    }
    usages.push_back(std::move(report));
  }
  return usages;
}

}  // namespace tokens::service
