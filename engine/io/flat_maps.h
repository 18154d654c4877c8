// Open-addressing hash maps for the tokenizer's hot paths: string keys looked up by string_view
// without allocating (vocabulary, word cache) and 64-bit keys (merge pairs, code points).
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace ctx::io {

inline uint64_t hash_bytes(std::string_view s) {
  constexpr uint64_t kMul = 0x9E3779B97F4A7C15ULL;
  uint64_t h = 0x243F6A8885A308D3ULL ^ (s.size() * kMul);
  const char* p = s.data();
  size_t n = s.size();
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    h = (h ^ w) * kMul;
    h ^= h >> 29;
    p += 8;
    n -= 8;
  }
  if (n > 0) {  // the last 1..7 bytes through at most two loads (no byte loop)
    uint64_t w;
    if (n >= 4) {
      uint32_t lo, hi;
      std::memcpy(&lo, p, 4);
      std::memcpy(&hi, p + n - 4, 4);
      w = (static_cast<uint64_t>(hi) << 32) | lo;
    } else {
      const auto* b = reinterpret_cast<const unsigned char*>(p);
      w = (static_cast<uint64_t>(b[0]) << 16) | (static_cast<uint64_t>(b[n / 2]) << 8) | b[n - 1];
    }
    h = (h ^ w) * kMul;
  }
  h ^= h >> 32;
  h *= 0xD6E8FEB86659FD93ULL;
  h ^= h >> 32;
  return h;
}

inline uint64_t hash_u64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xFF51AFD7ED558CCDULL;
  x ^= x >> 33;
  x *= 0xC4CEB9FE1A85EC53ULL;
  x ^= x >> 33;
  return x;
}

// String -> V; keys live in one arena. Inserting an existing key overwrites its value.
template <class V>
class FlatStringMap {
 public:
  size_t size() const { return count_; }
  size_t arena_bytes() const { return arena_.size(); }

  void clear() {
    slots_.assign(slots_.size(), Slot{});
    arena_.clear();
    count_ = 0;
  }

  void insert(std::string_view key, const V& value) {
    if ((count_ + 1) * 2 > slots_.size()) grow();
    const uint64_t h = hash_bytes(key) | 1;  // 0 marks an empty slot
    size_t i = h & (slots_.size() - 1);
    for (;; i = (i + 1) & (slots_.size() - 1)) {
      Slot& s = slots_[i];
      if (s.hash == 0) {
        s.hash = h;
        s.offset = arena_.size();
        s.length = key.size();
        s.value = value;
        arena_.append(key.data(), key.size());
        ++count_;
        return;
      }
      if (s.hash == h && key_at(s) == key) {
        s.value = value;
        return;
      }
    }
  }

  // The value of `key`, or nullptr.
  const V* find(std::string_view key) const {
    if (slots_.empty()) return nullptr;
    const uint64_t h = hash_bytes(key) | 1;
    for (size_t i = h & (slots_.size() - 1);; i = (i + 1) & (slots_.size() - 1)) {
      const Slot& s = slots_[i];
      if (s.hash == 0) return nullptr;
      if (s.hash == h && key_at(s) == key) return &s.value;
    }
  }

 private:
  struct Slot {
    uint64_t hash = 0;
    size_t offset = 0;
    size_t length = 0;
    V value{};
  };
  std::string_view key_at(const Slot& s) const {
    return std::string_view(arena_.data() + s.offset, s.length);
  }
  void grow() {
    std::vector<Slot> old;
    old.swap(slots_);
    slots_.assign(old.empty() ? 16 : old.size() * 2, Slot{});
    for (const Slot& s : old) {
      if (s.hash == 0) continue;
      size_t i = s.hash & (slots_.size() - 1);
      while (slots_[i].hash != 0) i = (i + 1) & (slots_.size() - 1);
      slots_[i] = s;
    }
  }
  std::vector<Slot> slots_;
  std::string arena_;
  size_t count_ = 0;
};

// uint64 -> V. The key ~0 is reserved (marks an empty slot).
template <class V>
class FlatU64Map {
 public:
  static constexpr uint64_t kEmpty = ~uint64_t{0};
  size_t size() const { return count_; }

  void insert(uint64_t key, const V& value) {
    if ((count_ + 1) * 2 > slots_.size()) grow();
    size_t i = hash_u64(key) & (slots_.size() - 1);
    for (;; i = (i + 1) & (slots_.size() - 1)) {
      Slot& s = slots_[i];
      if (s.key == kEmpty) {
        s.key = key;
        s.value = value;
        ++count_;
        return;
      }
      if (s.key == key) {
        s.value = value;
        return;
      }
    }
  }

  const V* find(uint64_t key) const {
    if (slots_.empty()) return nullptr;
    for (size_t i = hash_u64(key) & (slots_.size() - 1);; i = (i + 1) & (slots_.size() - 1)) {
      const Slot& s = slots_[i];
      if (s.key == key) return &s.value;
      if (s.key == kEmpty) return nullptr;
    }
  }

 private:
  struct Slot {
    uint64_t key = kEmpty;
    V value{};
  };
  void grow() {
    std::vector<Slot> old;
    old.swap(slots_);
    slots_.assign(old.empty() ? 16 : old.size() * 2, Slot{});
    for (const Slot& s : old) {
      if (s.key == kEmpty) continue;
      size_t i = hash_u64(s.key) & (slots_.size() - 1);
      while (slots_[i].key != kEmpty) i = (i + 1) & (slots_.size() - 1);
      slots_[i] = s;
    }
  }
  std::vector<Slot> slots_;
  size_t count_ = 0;
};

}  // namespace ctx::io
