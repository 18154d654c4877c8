// Thread-local word caches: a few slots per thread, each owned by one model id, recycled least
// recently used first. A model destroyed while a thread still holds its slot costs only memory
// until that slot is recycled or the thread ends.
#include "io/word_cache.h"

#include <array>
#include <atomic>
#include <memory>

namespace ctx::io {

namespace {

struct Slot {
  uint64_t owner = 0;
  uint64_t last_used = 0;
  std::unique_ptr<WordCache> cache;
};

struct ThreadSlots {
  std::array<Slot, 4> slots;
  uint64_t clock = 0;
};

}  // namespace

uint64_t WordCache::new_model_id() {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

WordCache& WordCache::of_thread(uint64_t model_id) {
  thread_local ThreadSlots t;
  ++t.clock;
  Slot* victim = &t.slots[0];
  for (Slot& s : t.slots) {
    if (s.owner == model_id) {
      s.last_used = t.clock;
      return *s.cache;
    }
    if (s.last_used < victim->last_used) victim = &s;
  }
  if (!victim->cache) victim->cache = std::make_unique<WordCache>();
  victim->cache->clear();
  victim->owner = model_id;
  victim->last_used = t.clock;
  return *victim->cache;
}

bool WordCache::lookup(std::string_view word, std::vector<data::Token>& out) const {
  const Range* r = map_.find(word);
  if (!r) return false;
  out.insert(out.end(), ids_.begin() + r->offset, ids_.begin() + r->offset + r->count);
  return true;
}

void WordCache::store(std::string_view word, const data::Token* ids, size_t count) {
  if (word.size() > kMaxWordBytes) return;
  if (map_.size() >= kMaxEntries) clear();
  map_.insert(word, Range{static_cast<uint32_t>(ids_.size()), static_cast<uint32_t>(count)});
  ids_.insert(ids_.end(), ids, ids + count);
}

void WordCache::clear() {
  map_.clear();
  ids_.clear();
}

}  // namespace ctx::io
