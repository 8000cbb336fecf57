#include "sidecar/domain/usage.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <utility>

#include "absl/base/optimization.h"
#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"

namespace tokens::sidecar {
namespace {

// Enough stripes that the worker threads of a busy server rarely share one.
constexpr size_t kStripes = 32;

struct LastUse {
  absl::Time at;
  std::string client_address;
};

using UsageMap = absl::flat_hash_map<TokenId, LastUse>;

// Keeps the later of the two uses; on a tie the one already there.
void KeepLatest(UsageMap& into, const TokenId& token_id, absl::Time at,
                absl::string_view client_address) {
  auto [it, inserted] = into.try_emplace(token_id);
  if (inserted || at > it->second.at) {
    it->second.at = at;
    it->second.client_address.assign(client_address.data(), client_address.size());
  }
}

void MergeInto(UsageMap& into, UsageMap&& from) {
  if (into.empty()) {
    into = std::move(from);
    return;
  }
  for (auto& [token_id, use] : from) KeepLatest(into, token_id, use.at, use.client_address);
}

// Each thread sticks to one stripe, handed out round robin, so threads
// spread evenly and a thread's records stay in one cache line's lock.
size_t ThisThreadStripe() {
  static std::atomic<size_t> next{0};
  thread_local const size_t stripe = next.fetch_add(1, std::memory_order_relaxed) % kStripes;
  return stripe;
}

}  // namespace

struct UsageRecorder::Impl {
  // Aligned so that neighbouring stripes' locks do not share a cache line.
  struct alignas(ABSL_CACHELINE_SIZE) Stripe {
    absl::Mutex mu;
    UsageMap uses ABSL_GUARDED_BY(mu);
  };
  std::array<Stripe, kStripes> stripes;
};

UsageRecorder::UsageRecorder() : impl_(std::make_unique<Impl>()) {}
UsageRecorder::~UsageRecorder() = default;

void UsageRecorder::Record(const TokenId& token_id, absl::Time when,
                           absl::string_view client_address) {
  Impl::Stripe& stripe = impl_->stripes[ThisThreadStripe()];
  absl::MutexLock lock(&stripe.mu);
  KeepLatest(stripe.uses, token_id, when, client_address);
}

std::vector<UsageRecord> UsageRecorder::Drain() {
  UsageMap merged;
  for (Impl::Stripe& stripe : impl_->stripes) {
    UsageMap taken;
    {
      // Only a swap under the lock: recording threads wait for nothing else.
      absl::MutexLock lock(&stripe.mu);
      taken.swap(stripe.uses);
    }
    MergeInto(merged, std::move(taken));
  }
  std::vector<UsageRecord> records;
  records.reserve(merged.size());
  for (auto& [token_id, use] : merged) {
    records.push_back(UsageRecord{token_id, use.at, std::move(use.client_address)});
  }
  return records;
}

struct UsageFlusher::Impl {
  Impl(UsageRecorder& recorder_in, UsageSink& sink_in, UsageFlusherOptions options_in)
      : recorder(recorder_in),
        sink(sink_in),
        max_batch(std::max<size_t>(1, options_in.max_batch)) {}

  // Moves the recorder's records into `pending`, keeping the latest per token,
  // and returns a copy of everything pending cut into batches.
  std::vector<std::vector<UsageRecord>> TakeBatches() ABSL_LOCKS_EXCLUDED(mu) {
    std::vector<UsageRecord> drained = recorder.Drain();
    absl::MutexLock lock(&mu);
    for (const UsageRecord& record : drained) {
      KeepLatest(pending, record.token_id, record.last_used_at, record.client_address);
    }
    std::vector<std::vector<UsageRecord>> batches;
    for (const auto& [token_id, use] : pending) {
      if (batches.empty() || batches.back().size() == max_batch) {
        batches.emplace_back();
        batches.back().reserve(std::min(max_batch, pending.size()));
      }
      batches.back().push_back(UsageRecord{token_id, use.at, use.client_address});
    }
    return batches;
  }

  void Count(const absl::Status& status, size_t records) ABSL_LOCKS_EXCLUDED(mu) {
    absl::MutexLock lock(&mu);
    if (status.ok()) {
      ++stats.batches_sent;
      stats.records_sent += records;
    } else if (absl::IsInvalidArgument(status)) {
      ++stats.batches_dropped;
    } else {
      ++stats.batches_failed;
    }
  }

  // Forgets what token-service acknowledged, unless a newer use of the same
  // token is pending by now: that one still has to be sent.
  void Acknowledge(const std::vector<UsageRecord>& batch) ABSL_LOCKS_EXCLUDED(mu) {
    absl::MutexLock lock(&mu);
    for (const UsageRecord& sent : batch) {
      auto it = pending.find(sent.token_id);
      if (it != pending.end() && it->second.at <= sent.last_used_at) pending.erase(it);
    }
  }

  UsageRecorder& recorder;
  UsageSink& sink;
  const size_t max_batch;

  // Held for a whole Flush() (the timer and the shutdown path may race);
  // `mu` only briefly, so pending() never waits for token-service.
  absl::Mutex flush_mu;
  mutable absl::Mutex mu ABSL_ACQUIRED_AFTER(flush_mu);
  UsageMap pending ABSL_GUARDED_BY(mu);
  UsageFlusher::Stats stats ABSL_GUARDED_BY(mu);
};

UsageFlusher::UsageFlusher(UsageRecorder& recorder, UsageSink& sink, UsageFlusherOptions options)
    : impl_(std::make_unique<Impl>(recorder, sink, options)) {}

UsageFlusher::~UsageFlusher() = default;

absl::Status UsageFlusher::Flush() {
  absl::MutexLock flush_lock(&impl_->flush_mu);
  absl::Status first_refusal;
  for (const std::vector<UsageRecord>& batch : impl_->TakeBatches()) {
    absl::Status status = impl_->sink.Report(batch);
    impl_->Count(status, batch.size());
    if (absl::IsInvalidArgument(status)) {
      // Refused for its content: sending it again would be refused again and
      // hold back every later batch, so it is dropped (and reported).
      impl_->Acknowledge(batch);
      if (first_refusal.ok()) first_refusal = status;
      continue;
    }
    if (!status.ok()) return status;
    impl_->Acknowledge(batch);
  }
  return first_refusal;
}

UsageFlusher::Stats UsageFlusher::stats() const {
  absl::MutexLock lock(&impl_->mu);
  return impl_->stats;
}

size_t UsageFlusher::pending() const {
  absl::MutexLock lock(&impl_->mu);
  return impl_->pending.size();
}

}  // namespace tokens::sidecar
