#include "sidecar/domain/token_cache.h"

#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <thread>
#include <type_traits>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "common/auth/scopes.h"

// Layout and memory
// -----------------
// The table is open addressing with linear probing over a power-of-two array
// of `std::atomic<const Entry*>` (8 bytes a slot), indexed by the first 8
// bytes of the SHA-256 (uniform, so no further mixing). An Entry (80 bytes)
// is a SyncedToken packed for the table (its owner a pointer to a UserSlot,
// its scopes a pointer to an interned ScopeSet); Find() joins it with the
// owner into TokenFacts. An Entry never changes once
// a reader can see it: an update stores a pointer to a new Entry in the same
// slot, a removal stores the tombstone sentinel. Tables are
// sized to a load of at most 1/2 when (re)built and rebuilt when entries plus
// tombstones would pass 7/10, so 1,000,000 tokens take 2^21 slots (16 MiB)
// plus 72 MB of entries from a slab: about 90 bytes a token. Both are on
// transparent huge pages where the kernel allows (LargeArray). A reader's probe
// ends at an empty slot, and a table never has more than 7/10 of its slots
// used over its whole life (only a rebuild, into a fresh table, clears
// slots), so every probe ends.
//
// A user's role and disabled flag live once per user in a UserSlot, packed in
// one atomic word that the writer updates in place: disabling a user applies
// to all their tokens with one store.
//
// Scopes are interned: few distinct sets exist (subsets of the operator's
// catalogue that people actually choose), so a token costs one pointer for
// them, whatever their names. A ScopeSet is immutable and never freed while
// the cache lives (the interner only grows, by one set per distinct
// combination ever seen), so readers need no reclamation for it and may keep
// the pointer after their read section ends; a token without scopes points
// at ScopeSet::None().
//
// Everything that a snapshot replaces (table, entries, user slots) belongs to
// one Generation, built off to the side and swapped in by Publish().
//
// Reclamation
// -----------
// Readers never wait: a read is "arrive; load pointers; copy; depart" on a
// per-thread stripe of a read indicator (cache-line padded counters), in the
// left-right scheme with two indicators and a version index. The writer,
// after unlinking entries or a table, calls Synchronize():
//   wait until indicator[next] is empty; version_index = next;
//   wait until indicator[prev] is empty;
// and only then frees what it unlinked. Why no reader can still hold an
// unlinked pointer: the writer's unlinking stores (slots, the table pointer),
// its indicator loads, a reader's arrive (an RMW) and its pointer loads are
// all seq_cst, so they fall in one total order consistent with each thread's
// program order. If the reader's arrive comes before the unlinking store, the
// writer's indicator loads (after that store) observe the arrive or a later
// value, so the writer waits for that reader's depart; a depart is a release
// RMW and the writer's loads acquire, so the reader's copies happen before
// the free. If the arrive comes after the unlinking store, so do the reader's
// pointer loads, which therefore see it: the reader cannot reach what was
// unlinked. (No standalone fences: ThreadSanitizer understands this.) The two
// indicators only keep a steady stream of readers from starving the writer:
// readers that start after the version index flips count on the other
// indicator. The writer batches: one Synchronize per ApplyDelta / Publish /
// InsertLookedUp, and none at all when nothing was unlinked.
namespace tokens::sidecar {
namespace {

// Slot counts are powers of two, at least this.
constexpr size_t kMinCapacity = 64;
// Read-indicator stripes; threads beyond this share stripes (still correct).
constexpr size_t kStripes = 32;
// Huge page size, and the arrays from which it is used.
constexpr size_t kHugePage = size_t{2} << 20;
// The version of a user that no feed message has described yet: any real
// description is newer.
constexpr int64_t kUndescribed = std::numeric_limits<int64_t>::min();

constexpr absl::CivilDay kEpochDay(1970, 1, 1);

struct UserSlot {
  explicit UserSlot(std::string id) : user_id(std::move(id)) {}
  const std::string user_id;
  std::atomic<uint32_t> state{0};  // PackUser(); written by the writer only
  int64_t version = kUndescribed;  // writer only
};

// Bit 0: disabled; above it 0 for no role, else the Role plus one.
uint32_t PackUser(std::optional<Role> role, bool disabled) {
  const uint32_t role_bits = role.has_value() ? static_cast<uint32_t>(*role) + 1 : 0;
  return role_bits << 1 | (disabled ? 1u : 0u);
}
std::optional<Role> UnpackRole(uint32_t state) {
  const uint32_t role_bits = state >> 1;
  if (role_bits == 0) return std::nullopt;
  return static_cast<Role>(role_bits - 1);
}
bool UnpackDisabled(uint32_t state) { return (state & 1u) != 0; }

// Trivial on purpose: slab chunks hold them without construction.
struct Entry {
  TokenHash hash;
  TokenId id;
  const UserSlot* user;
  const ScopeSet* scopes;  // interned; never null in a live entry
  int64_t expires_days;    // since 1970-01-01
  int64_t version;
};
static_assert(sizeof(Entry) == 80, "an Entry should stay within the memory budget");
static_assert(std::is_trivially_destructible_v<Entry>);

// Entries per slab chunk: one huge page's worth.
constexpr size_t kChunkEntries = kHugePage / sizeof(Entry);

// A fixed array of value-initialized, trivially destructible T for the
// cache's large arrays (the table's slots, the entry slabs). Above 1 MiB it
// is rounded up to whole 2 MiB, aligned and advised onto transparent huge
// pages: a lookup
// among a million tokens reads a random slot and a random entry, and with
// 4 KiB pages each of those reads also walks the page tables (in a virtual
// machine, two levels of them). The advice is only advice: where the kernel
// has no huge page to give, or huge pages are off, the pages are ordinary.
template <class T>
class LargeArray {
  static_assert(std::is_trivially_destructible_v<T>);

 public:
  explicit LargeArray(size_t size) : bytes_(size * sizeof(T)), huge_(bytes_ > kHugePage / 2) {
    if (huge_) {
      bytes_ = (bytes_ + kHugePage - 1) / kHugePage * kHugePage;
      data_ = static_cast<T*>(std::aligned_alloc(kHugePage, bytes_));
      if (data_ == nullptr) throw std::bad_alloc();
      madvise(data_, bytes_, MADV_HUGEPAGE);
    } else {
      data_ = static_cast<T*>(::operator new(bytes_));
    }
    for (size_t i = 0; i < size; ++i) new (&data_[i]) T();
  }
  ~LargeArray() {
    if (huge_) {
      std::free(data_);
    } else {
      ::operator delete(data_);
    }
  }
  LargeArray(const LargeArray&) = delete;
  LargeArray& operator=(const LargeArray&) = delete;

  T& operator[](size_t i) { return data_[i]; }
  const T& operator[](size_t i) const { return data_[i]; }

 private:
  size_t bytes_;
  const bool huge_;
  T* data_;
};

// Never dereferenced by readers: they compare the pointer first.
const Entry kTombstoneEntry{};
const Entry* const kTombstone = &kTombstoneEntry;

uint64_t IndexBits(const TokenHash& hash) {
  uint64_t bits;
  std::memcpy(&bits, hash.data(), sizeof(bits));
  return bits;
}

// Smallest power of two that holds `live` entries at a load of at most 1/2.
size_t CapacityFor(size_t live) {
  size_t capacity = kMinCapacity;
  while (capacity < live * 2) capacity *= 2;
  return capacity;
}

class Table {
 public:
  explicit Table(size_t capacity) : mask_(capacity - 1), slots_(capacity) {}

  // Reader side. seq_cst loads: see "Reclamation" above.
  const Entry* Find(const TokenHash& hash) const {
    size_t i = IndexBits(hash) & mask_;
    for (size_t probes = 0; probes <= mask_; ++probes, i = (i + 1) & mask_) {
      const Entry* entry = slots_[i].load(std::memory_order_seq_cst);
      if (entry == nullptr) return nullptr;
      if (entry != kTombstone && entry->hash == hash) return entry;
    }
    return nullptr;
  }

  // Writer side --------------------------------------------------------------

  // The slot that holds `hash`, or nullptr.
  std::atomic<const Entry*>* FindSlot(const TokenHash& hash) {
    size_t i = IndexBits(hash) & mask_;
    for (size_t probes = 0; probes <= mask_; ++probes, i = (i + 1) & mask_) {
      const Entry* entry = slots_[i].load(std::memory_order_relaxed);
      if (entry == nullptr) return nullptr;
      if (entry != kTombstone && entry->hash == hash) return &slots_[i];
    }
    return nullptr;
  }

  bool HasRoomForOneMore() const { return (live_ + tombstones_ + 1) * 10 <= capacity() * 7; }

  // `entry`'s hash must be absent and HasRoomForOneMore() true.
  void InsertNew(const Entry* entry) {
    size_t i = IndexBits(entry->hash) & mask_;
    while (true) {
      const Entry* current = slots_[i].load(std::memory_order_relaxed);
      if (current == nullptr || current == kTombstone) {
        if (current == kTombstone) --tombstones_;
        ++live_;
        slots_[i].store(entry, std::memory_order_seq_cst);
        return;
      }
      i = (i + 1) & mask_;
    }
  }

  static void Replace(std::atomic<const Entry*>* slot, const Entry* entry) {
    slot->store(entry, std::memory_order_seq_cst);
  }

  void Remove(std::atomic<const Entry*>* slot) {
    slot->store(kTombstone, std::memory_order_seq_cst);
    --live_;
    ++tombstones_;
  }

  // A fresh table with the same entries, sized for `live` of them.
  std::unique_ptr<Table> Rebuilt(size_t live) const {
    auto table = std::make_unique<Table>(CapacityFor(std::max(live, live_)));
    ForEach([&](const Entry* entry) { table->InsertNew(entry); });
    return table;
  }

  template <typename F>
  void ForEach(F f) const {
    for (size_t i = 0; i <= mask_; ++i) {
      const Entry* entry = slots_[i].load(std::memory_order_relaxed);
      if (entry != nullptr && entry != kTombstone) f(entry);
    }
  }

  size_t capacity() const { return mask_ + 1; }
  size_t live() const { return live_; }

 private:
  const size_t mask_;
  LargeArray<std::atomic<const Entry*>> slots_;
  size_t live_ = 0;        // writer only
  size_t tombstones_ = 0;  // writer only
};

// A slab of Entries: no heap allocation per token, 80 bytes each, and freed
// entries are reused.
class EntryPool {
 public:
  const Entry* New(const Entry& value) {
    Entry* entry;
    if (!free_.empty()) {
      entry = free_.back();
      free_.pop_back();
    } else {
      if (chunks_.empty() || used_in_last_chunk_ == kChunkEntries) {
        chunks_.push_back(std::make_unique<LargeArray<Entry>>(kChunkEntries));
        used_in_last_chunk_ = 0;
      }
      entry = &(*chunks_.back())[used_in_last_chunk_++];
    }
    *entry = value;
    return entry;
  }

  // Only once no reader can hold `entry`.
  void Free(const Entry* entry) { free_.push_back(const_cast<Entry*>(entry)); }

 private:
  std::vector<std::unique_ptr<LargeArray<Entry>>> chunks_;
  size_t used_in_last_chunk_ = 0;
  std::vector<Entry*> free_;
};

// Every distinct ScopeSet the cache has seen, each once. Writers only
// (its own mutex: snapshot builders run beside the cache's writer); readers
// only dereference the sets, which never change or move.
class ScopeInterner {
 public:
  const ScopeSet* Intern(const std::vector<std::string>& names) {
    if (names.empty()) return &ScopeSet::None();
    absl::MutexLock lock(&mu_);
    // The feed sends names sorted and without repeats: then the set is found
    // without allocating (the key is built in a buffer kept for it), which
    // matters for a snapshot of a million tokens.
    if (std::is_sorted(names.begin(), names.end()) &&
        std::adjacent_find(names.begin(), names.end()) == names.end()) {
      key_.clear();
      for (const std::string& name : names) {
        if (!key_.empty()) key_ += ' ';
        key_ += name;
      }
      if (auto it = sets_.find(key_); it != sets_.end()) return it->second.get();
    }
    // Whatever arrives, the set is canonical.
    std::vector<std::string> sorted = names;
    std::sort(sorted.begin(), sorted.end());
    sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
    std::string joined = JoinScopes(sorted);
    auto [it, inserted] = sets_.try_emplace(joined);
    if (inserted) {
      it->second = std::make_unique<const ScopeSet>(ScopeSet{std::move(sorted), std::move(joined)});
    }
    return it->second.get();
  }

 private:
  absl::Mutex mu_;
  // Keyed by the joined names.
  absl::flat_hash_map<std::string, std::unique_ptr<const ScopeSet>> sets_ ABSL_GUARDED_BY(mu_);
  std::string key_ ABSL_GUARDED_BY(mu_);
};

enum class UserUpdate { kIfNotOlder, kIfNewer };

// The cache's contents as of one snapshot plus the deltas after it.
class Generation {
 public:
  Generation(size_t capacity, ScopeInterner& scopes)
      : table_(std::make_unique<Table>(capacity)), scopes_(scopes) {}

  const Table* table() const { return table_.get(); }

  // From now on readers may see this generation: table changes are
  // published to `readers_table`, and what is unlinked is kept until
  // Reclaim().
  void Publish(std::atomic<const Table*>* readers_table) {
    readers_table_ = readers_table;
    readers_table_->store(table_.get(), std::memory_order_seq_cst);
  }

  void ApplyUser(const SyncedUser& user, UserUpdate when) {
    if (user.user_id.empty()) return;
    UserSlot* slot = FindOrAddUser(user.user_id);
    const bool apply =
        when == UserUpdate::kIfNewer ? user.version > slot->version : user.version >= slot->version;
    if (!apply) return;
    slot->version = user.version;
    slot->state.store(PackUser(user.role, user.disabled), std::memory_order_release);
  }

  // Upserts a live token unless the cached one is newer. Returns whether the
  // cache now holds this version.
  bool PutToken(const SyncedToken& token) {
    return Put(Entry{token.hash, token.id, FindOrAddUser(token.user_id),
                     scopes_.Intern(token.scopes), token.expires_on - kEpochDay, token.version});
  }

  void RemoveToken(const TokenHash& hash, int64_t version) {
    std::atomic<const Entry*>* slot = table_->FindSlot(hash);
    if (slot == nullptr) return;
    const Entry* old = slot->load(std::memory_order_relaxed);
    if (old->version > version) return;
    table_->Remove(slot);
    Unlink(old);
  }

  // Keeps what `older` learned after `version` (tokens looked up ahead of
  // the feed, and their users), for a snapshot as of `version`.
  void CarryOverNewerThan(const Generation& older, int64_t version) {
    for (const auto& [id, user] : older.users_) {
      if (user->version > version) ApplyUser(StateOf(*user), UserUpdate::kIfNewer);
    }
    older.table_->ForEach([&](const Entry* entry) {
      if (entry->version <= version) return;
      ApplyUser(StateOf(*entry->user), UserUpdate::kIfNewer);
      Entry copy = *entry;
      copy.user = FindOrAddUser(entry->user->user_id);
      Put(copy);
    });
  }

  bool HasUnlinked() const { return !unlinked_entries_.empty() || !unlinked_tables_.empty(); }

  // Frees what was unlinked; only after a grace period.
  void Reclaim() {
    for (const Entry* entry : unlinked_entries_) entries_.Free(entry);
    unlinked_entries_.clear();
    unlinked_tables_.clear();
  }

 private:
  static SyncedUser StateOf(const UserSlot& slot) {
    const uint32_t state = slot.state.load(std::memory_order_relaxed);
    return SyncedUser{slot.user_id, UnpackRole(state), UnpackDisabled(state), slot.version};
  }

  // A token whose owner was never described gets a slot without a role,
  // which Decide refuses until the owner arrives.
  UserSlot* FindOrAddUser(absl::string_view user_id) {
    auto it = users_.find(user_id);
    if (it != users_.end()) return it->second.get();
    auto slot = std::make_unique<UserSlot>(std::string(user_id));
    slot->state.store(PackUser(std::nullopt, false), std::memory_order_relaxed);
    UserSlot* raw = slot.get();
    users_.emplace(raw->user_id, std::move(slot));
    return raw;
  }

  bool Put(const Entry& value) {
    if (std::atomic<const Entry*>* slot = table_->FindSlot(value.hash)) {
      const Entry* old = slot->load(std::memory_order_relaxed);
      if (old->version > value.version) return false;
      Table::Replace(slot, entries_.New(value));
      Unlink(old);
      return true;
    }
    if (!table_->HasRoomForOneMore()) {
      std::unique_ptr<Table> rebuilt = table_->Rebuilt(table_->live() + 1);
      if (readers_table_ != nullptr) {
        readers_table_->store(rebuilt.get(), std::memory_order_seq_cst);
        unlinked_tables_.push_back(std::move(table_));
      }
      table_ = std::move(rebuilt);
    }
    table_->InsertNew(entries_.New(value));
    return true;
  }

  void Unlink(const Entry* entry) {
    if (readers_table_ == nullptr) {
      entries_.Free(entry);
    } else {
      unlinked_entries_.push_back(entry);
    }
  }

  std::unique_ptr<Table> table_;
  // The cache's, shared by every generation: an entry carried over keeps
  // its set.
  ScopeInterner& scopes_;
  EntryPool entries_;
  // Keyed by a view of the slot's own user_id.
  absl::flat_hash_map<absl::string_view, std::unique_ptr<UserSlot>> users_;
  std::atomic<const Table*>* readers_table_ = nullptr;
  std::vector<const Entry*> unlinked_entries_;
  std::vector<std::unique_ptr<Table>> unlinked_tables_;
};

class Builder final : public TokenCache::SnapshotBuilder {
 public:
  Builder(size_t expected_tokens, ScopeInterner& scopes)
      : generation_(std::make_unique<Generation>(CapacityFor(expected_tokens), scopes)) {}

  void AddUser(const SyncedUser& user) override {
    generation_->ApplyUser(user, UserUpdate::kIfNotOlder);
  }
  void AddToken(const SyncedToken& token) override {
    if (!token.revoked) generation_->PutToken(token);
  }

  std::unique_ptr<Generation> Take() { return std::move(generation_); }

 private:
  std::unique_ptr<Generation> generation_;
};

// Each thread keeps to one stripe of the read indicators.
size_t ThisThreadStripe() {
  static std::atomic<size_t> next_stripe{0};
  thread_local const size_t stripe = next_stripe.fetch_add(1, std::memory_order_relaxed) % kStripes;
  return stripe;
}

struct alignas(128) ReadCounter {
  std::atomic<int64_t> readers{0};
};

}  // namespace

struct TokenCache::Impl {
  Impl() : current(std::make_unique<Generation>(kMinCapacity, scopes)) { current->Publish(&table); }

  // Waits until no reader that could have seen what was unlinked before the
  // call is still reading. See "Reclamation" above.
  void Synchronize() {
    const int prev = version_index.load(std::memory_order_relaxed);
    const int next = 1 - prev;
    WaitUntilNoReaders(next);
    version_index.store(next, std::memory_order_seq_cst);
    WaitUntilNoReaders(prev);
  }

  void WaitUntilNoReaders(int index) {
    for (ReadCounter& counter : indicators[index]) {
      while (counter.readers.load(std::memory_order_seq_cst) != 0) std::this_thread::yield();
    }
  }

  void ReclaimUnlinked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (!current->HasUnlinked()) return;
    Synchronize();
    current->Reclaim();
  }

  // Reader side.
  ReadCounter indicators[2][kStripes];
  std::atomic<int> version_index{0};
  std::atomic<const Table*> table{nullptr};
  std::atomic<int64_t> version{0};
  std::atomic<bool> loaded{false};
  std::atomic<size_t> size{0};

  // Before `current`, which refers to it.
  ScopeInterner scopes;

  // Writer side.
  absl::Mutex mu;
  std::unique_ptr<Generation> current ABSL_GUARDED_BY(mu);
};

namespace {

// One read: counts the calling thread on the current read indicator.
class ReadSection {
 public:
  ReadSection(ReadCounter (&indicators)[2][kStripes], const std::atomic<int>& version_index)
      : counter_(indicators[version_index.load(std::memory_order_seq_cst)][ThisThreadStripe()]) {
    counter_.readers.fetch_add(1, std::memory_order_seq_cst);
  }
  ~ReadSection() { counter_.readers.fetch_sub(1, std::memory_order_release); }
  ReadSection(const ReadSection&) = delete;
  ReadSection& operator=(const ReadSection&) = delete;

 private:
  ReadCounter& counter_;
};

}  // namespace

TokenCache::TokenCache() : impl_(std::make_unique<Impl>()) {}

TokenCache::~TokenCache() = default;

std::optional<CachedToken> TokenCache::Find(const TokenHash& hash) const {
  ReadSection section(impl_->indicators, impl_->version_index);
  const Table* table = impl_->table.load(std::memory_order_seq_cst);
  const Entry* entry = table->Find(hash);
  if (entry == nullptr) return std::nullopt;
  const uint32_t user_state = entry->user->state.load(std::memory_order_acquire);
  std::optional<CachedToken> found(std::in_place);
  found->token_id = entry->id;
  found->user_id = entry->user->user_id;
  found->role = UnpackRole(user_state);
  found->user_disabled = UnpackDisabled(user_state);
  found->expires_on = kEpochDay + entry->expires_days;
  found->scopes = entry->scopes;
  return found;
}

const ScopeSet* TokenCache::InternScopes(const std::vector<std::string>& names) const {
  return impl_->scopes.Intern(names);
}

std::unique_ptr<TokenCache::SnapshotBuilder> TokenCache::StartSnapshot() const {
  // The next snapshot is likely about as large as the current contents.
  return std::make_unique<Builder>(impl_->size.load(std::memory_order_relaxed), impl_->scopes);
}

void TokenCache::Publish(std::unique_ptr<SnapshotBuilder> snapshot, int64_t version) {
  auto* builder = dynamic_cast<Builder*>(snapshot.get());
  // Only StartSnapshot() makes builders; anything else is a programming error.
  if (builder == nullptr) std::abort();
  std::unique_ptr<Generation> next = builder->Take();
  std::unique_ptr<Generation> previous;
  {
    absl::MutexLock lock(&impl_->mu);
    // A snapshot older than what the cache has reached means the database
    // went back (restored, or replaced): nothing learned after it can be
    // trusted, so nothing is carried over. Otherwise tokens looked up ahead
    // of the feed survive the resync.
    if (version >= impl_->version.load(std::memory_order_relaxed)) {
      next->CarryOverNewerThan(*impl_->current, version);
    }
    previous = std::move(impl_->current);
    impl_->current = std::move(next);
    impl_->current->Publish(&impl_->table);
    impl_->size.store(impl_->current->table()->live(), std::memory_order_relaxed);
    impl_->version.store(version, std::memory_order_release);
    impl_->loaded.store(true, std::memory_order_release);
    impl_->Synchronize();
  }
  // Outside the lock: freeing a large generation takes a while.
  previous.reset();
}

void TokenCache::ApplyDelta(const std::vector<SyncedUser>& users,
                            const std::vector<SyncedToken>& tokens, int64_t version) {
  absl::MutexLock lock(&impl_->mu);
  Generation& generation = *impl_->current;
  // Users first: a delta that brings a token usually brings its owner.
  for (const SyncedUser& user : users) generation.ApplyUser(user, UserUpdate::kIfNotOlder);
  for (const SyncedToken& token : tokens) {
    if (token.revoked) {
      generation.RemoveToken(token.hash, token.version);
    } else {
      generation.PutToken(token);
    }
  }
  impl_->size.store(generation.table()->live(), std::memory_order_relaxed);
  if (version > impl_->version.load(std::memory_order_relaxed)) {
    impl_->version.store(version, std::memory_order_release);
  }
  impl_->ReclaimUnlinked();
}

bool TokenCache::InsertLookedUp(const SyncedUser& user, const SyncedToken& token) {
  if (token.revoked) return false;
  absl::MutexLock lock(&impl_->mu);
  if (token.version <= impl_->version.load(std::memory_order_relaxed)) return false;
  Generation& generation = *impl_->current;
  generation.ApplyUser(user, UserUpdate::kIfNewer);
  const bool added = generation.PutToken(token);
  impl_->size.store(generation.table()->live(), std::memory_order_relaxed);
  impl_->ReclaimUnlinked();
  return added;
}

int64_t TokenCache::version() const { return impl_->version.load(std::memory_order_acquire); }

bool TokenCache::loaded() const { return impl_->loaded.load(std::memory_order_acquire); }

size_t TokenCache::size() const { return impl_->size.load(std::memory_order_relaxed); }

const ScopeSet& ScopeSet::None() {
  static const ScopeSet* const none = new ScopeSet();
  return *none;
}

}  // namespace tokens::sidecar
