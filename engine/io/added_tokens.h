// Added tokens of tokenizer.json (special or not; lstrip, rstrip, single_word, normalized), cut out
// of the text leftmost-longest before normalisation, as `tokenizers`' AddedVocabulary does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "data/tokenizer.h"
#include "io/flat_maps.h"

namespace ctx::io {

struct AddedToken {
  std::string content;
  data::Token id = -1;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = true;
  bool special = false;
  std::string match_text;  // what is looked for: content, normalised when `normalized`
};

// A stretch of text: plain text (token < 0) or an added token.
struct TextSegment {
  size_t begin;
  size_t end;
  data::Token token;
};

class AddedVocabulary {
 public:
  void add(AddedToken token);
  // Builds the matchers; call once all tokens are added.
  void finish();

  // Cuts `text` into plain segments and added tokens of one kind (normalized or not).
  void split(std::string_view text, bool normalized, std::vector<TextSegment>& out) const;
  bool has_normalized() const { return !normalized_trie_.nodes.empty(); }

  const AddedToken* by_id(data::Token id) const;
  const AddedToken* by_content(std::string_view content) const;
  bool is_special_content(std::string_view content) const;
  const std::vector<AddedToken>& tokens() const { return tokens_; }

 private:
  // A byte trie over match_text; `token` is the index in tokens_ ending at a node, or -1.
  struct Trie {
    struct Node {
      std::vector<std::pair<unsigned char, int32_t>> children;
      int32_t token = -1;
    };
    std::vector<Node> nodes;
    bool first_byte[256] = {};
    void insert(std::string_view text, int32_t token);
    // The longest token starting at text[pos]: its index and length, or -1.
    int32_t longest_at(std::string_view text, size_t pos, size_t* length) const;
  };
  void find_matches(std::string_view text, const Trie& trie, std::vector<TextSegment>& out) const;

  std::vector<AddedToken> tokens_;
  std::unordered_map<data::Token, size_t> by_id_;
  FlatStringMap<size_t> by_content_;  // looked up by string_view, no allocation
  Trie raw_trie_;
  Trie normalized_trie_;
};

}  // namespace ctx::io
