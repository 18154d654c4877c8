// Per-thread caches of BPE results by word, so that frequent words are merged once per thread:
// no locks on the hot path, bounded memory (a full cache starts over), several models per thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "data/tokenizer.h"
#include "io/flat_maps.h"

namespace ctx::io {

class WordCache {
 public:
  static constexpr size_t kMaxWordBytes = 256;  // longer words are not cached
  static constexpr size_t kMaxEntries = size_t{1} << 16;

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
  struct Range {
    uint32_t offset = 0;
    uint32_t count = 0;
  };
  FlatStringMap<Range> map_;
  std::vector<data::Token> ids_;
};

}  // namespace ctx::io
