// Thread-local word caches: four slots per thread, each owned by one model id, recycled least
// recently used first (a destroyed model's slot costs memory until recycled or the thread ends).
#include "io/word_cache.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <memory>

#include "io/flat_maps.h"

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
  if (count_ == 0 || word.size() > kMaxWordBytes) return false;
  const uint64_t h = hash_bytes(word);
  const auto tag = static_cast<uint32_t>(h >> 32) | 1;
  for (size_t i = h & (kSlots - 1);; i = (i + 1) & (kSlots - 1)) {
    const Entry& e = slots_[i];
    if (e.tag == 0) return false;
    if (e.tag == tag && e.key_length == word.size() &&
        std::memcmp(keys_.data() + e.key_offset, word.data(), word.size()) == 0) {
      const data::Token* ids = ids_.data() + e.ids_offset;
      out.insert(out.end(), ids, ids + e.id_count);
      return true;
    }
  }
}

void WordCache::store(std::string_view word, const data::Token* ids, size_t count) {
  if (word.size() > kMaxWordBytes || count > 0xFFFF) return;
  if (count_ >= kMaxEntries) clear();
  if (slots_.empty()) slots_.assign(kSlots, Entry{});
  const uint64_t h = hash_bytes(word);
  Entry e;
  e.tag = static_cast<uint32_t>(h >> 32) | 1;
  e.key_offset = static_cast<uint32_t>(keys_.size());
  e.key_length = static_cast<uint16_t>(word.size());
  e.id_count = static_cast<uint16_t>(count);
  e.ids_offset = static_cast<uint32_t>(ids_.size());
  size_t i = h & (kSlots - 1);
  while (slots_[i].tag != 0) i = (i + 1) & (kSlots - 1);  // callers store only missing words
  slots_[i] = e;
  ++count_;
  keys_.append(word.data(), word.size());
  ids_.insert(ids_.end(), ids, ids + count);
}

void WordCache::clear() {
  if (count_ == 0) return;
  std::fill(slots_.begin(), slots_.end(), Entry{});
  count_ = 0;
  keys_.clear();
  ids_.clear();
}

}  // namespace ctx::io
