// The BPE model of tokenizer.json (unk, byte_fallback, fuse_unk, ignore_merges, affixes), merging
// exactly as `tokenizers` does; thread-safe, with results cached per thread and word.
#pragma once

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "data/tokenizer.h"
#include "io/flat_maps.h"
#include "io/word_cache.h"

namespace ctx::io {

class BpeModel {
 public:
  // `byte_level_words`: words arrive as raw bytes and stand for their byte-level spelling
  // (ByteLevel pre-tokenizer left the mapping to the model). Throws TokenizerError naming `file`.
  BpeModel(const nlohmann::json& model, const std::string& file, bool byte_level_words);

  // This thread's cache of this model's words (look it up once per batch of words).
  WordCache& thread_cache() const;
  // Appends the ids of one word (non-empty); `cache` is thread_cache().
  void tokenize(std::string_view word, WordCache& cache, std::vector<data::Token>& out) const;
  // Whether tokenize() cuts words before each "▁" that follows another character (see
  // metaspace_cuts_are_safe).
  bool cuts_at_metaspace() const { return cut_at_metaspace_; }

  // The id of a vocabulary entry, or -1.
  data::Token id_of(std::string_view token) const;
  // The vocabulary entry of an id, or nullptr.
  const std::string* token_of(data::Token id) const;
  // One past the largest id of the vocabulary.
  int64_t id_limit() const { return static_cast<int64_t>(tokens_.size()); }
  bool byte_fallback() const { return byte_fallback_; }

 private:
  struct Merge {
    int32_t rank = 0;
    data::Token id = 0;
  };
  struct Symbol {
    data::Token id;
    int32_t prev;
    int32_t next;
    uint32_t len;  // bytes of the word it covers; 0 once merged into its left neighbour
  };

  void read_vocab(const nlohmann::json& vocab, const std::string& file);
  void read_merges(const nlohmann::json& merges, const std::string& file);
  void add_merge(const std::string& a, const std::string& b, int32_t rank, const std::string& file);
  void index_symbols();
  bool metaspace_cuts_are_safe() const;
  void tokenize_piece(std::string_view word, WordCache& cache, std::vector<data::Token>& out) const;

  // Initial symbols of a word as `tokenizers`' merge_word builds them (unk, byte fallback).
  void initial_symbols(std::string_view word, std::vector<Symbol>& symbols) const;
  bool byte_symbols(std::string_view word, std::vector<Symbol>& symbols) const;
  void merge_symbols(std::vector<Symbol>& symbols) const;
  const Merge* find_merge(data::Token a, data::Token b) const {
    return merges_.find((static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) |
                        static_cast<uint32_t>(b));
  }

  FlatStringMap<data::Token> vocab_;
  std::vector<std::string> tokens_;  // by id ("" where no entry)
  std::vector<bool> present_;
  FlatU64Map<Merge> merges_;
  FlatU64Map<data::Token> char_ids_;            // single code point entries
  std::array<data::Token, 256> byte_char_ids_;  // byte -> id of its byte-level character
  std::array<data::Token, 256> fallback_ids_;   // byte -> id of "<0xNN>"
  std::string unk_token_;
  data::Token unk_id_ = -1;
  std::string prefix_;  // continuing_subword_prefix
  std::string suffix_;  // end_of_word_suffix
  bool fuse_unk_ = false;
  bool byte_fallback_ = false;
  bool ignore_merges_ = false;
  bool byte_level_words_ = false;
  bool cut_at_metaspace_ = false;
  uint64_t cache_id_ = 0;
};

}  // namespace ctx::io
