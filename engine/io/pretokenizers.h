// tokenizer.json pre-tokenizers (Split, ByteLevel, Metaspace, Digits, Whitespace, WhitespaceSplit,
// Sequence): they cut a normalised segment into the words the model sees, as `tokenizers` does.
#pragma once

#include <cstddef>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace ctx::io {

// Words in one buffer. at_origin: the word starts at offset 0 of the original input (what
// Metaspace's prepend_scheme "first" looks at). Empty words are never stored.
struct PieceList {
  struct Piece {
    size_t begin;
    size_t end;
    bool at_origin;
  };
  std::string text;
  std::vector<Piece> pieces;

  void clear() {
    text.clear();
    pieces.clear();
  }
  std::string_view view(const Piece& p) const {
    return std::string_view(text.data() + p.begin, p.end - p.begin);
  }
  // `s` must not point into this list's own text.
  void add(std::string_view s, bool at_origin) {
    if (s.empty()) return;
    const size_t begin = text.size();
    text.append(s.data(), s.size());
    pieces.push_back({begin, text.size(), at_origin});
  }
};

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Splits (and possibly rewrites) every word of `in` into `out` (cleared first).
  virtual void apply(const PieceList& in, PieceList& out) const = 0;
};

struct PreTokenizerSpec {
  std::unique_ptr<PreTokenizer> pre_tokenizer;  // nullptr: none
  // The last step is a ByteLevel whose byte -> character mapping was left to the model: words
  // come out as raw bytes, and the model reads each byte as its byte-level character.
  bool byte_level_words = false;
  bool has_byte_level = false;
  bool has_metaspace = false;
};

// The pre-tokenizer described by `j` (null: none). Unknown types throw TokenizerError naming
// the type; `file` names the source in errors.
PreTokenizerSpec make_pre_tokenizer(const nlohmann::json& j, const std::string& file);

}  // namespace ctx::io
