// Per-thread caches of BPE results by word, so that frequent words are merged once per thread:
// no locks on the hot path, bounded memory (a full cache starts over), several models per thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "data/tokenizer.h"

namespace ctx::io {

class WordCache {
 public:
  static constexpr size_t kMaxWordBytes = 256;  // longer words are not cached
  static constexpr size_t kMaxEntries = size_t{1} << 15;

  // This thread's cache for the model with this id (ids are never reused). A thread keeps the
  // caches of its four most recently used models.
  static WordCache& of_thread(uint64_t model_id);
  // A fresh id for a model.
  static uint64_t new_model_id();

  // The cached ids of `word` (appended to `out`), or false.
  bool lookup(std::string_view word, std::vector<data::Token>& out) const;
  void store(std::string_view word, const data::Token* ids, size_t count);
  void clear();

 private:
  static constexpr size_t kSlots = kMaxEntries * 2;  // load factor at most 1/2
  // 16 bytes: the table (1 MiB) stays cache-friendly; keys and ids live in arenas.
  struct Entry {
    uint32_t tag = 0;  // high hash bits | 1; 0 marks an empty slot
    uint32_t key_offset = 0;
    uint16_t key_length = 0;
    uint16_t id_count = 0;
    uint32_t ids_offset = 0;
  };
  std::vector<Entry> slots_;
  size_t count_ = 0;
  std::string keys_;
  std::vector<data::Token> ids_;
};

}  // namespace ctx::io
