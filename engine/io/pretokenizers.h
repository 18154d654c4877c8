// tokenizer.json pre-tokenizers (Split, ByteLevel, Metaspace, Digits, Whitespace, WhitespaceSplit,
// Sequence), cutting a normalised segment into the model's words as `tokenizers` does.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace ctx::io {

// Receives words. at_origin: the word starts at offset 0 of the original input (what Metaspace's
// prepend_scheme "first" looks at). Words are never empty and valid only during the call.
class WordSink {
 public:
  virtual ~WordSink() = default;
  virtual void word(std::string_view w, bool at_origin) = 0;
};

// Words in one buffer (the steps of a Sequence hand these on).
struct PieceList : WordSink {
  struct Piece {
    uint32_t begin;
    uint32_t end;
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
  // `w` must not point into this list's own text.
  void word(std::string_view w, bool at_origin) override {
    if (w.empty()) return;
    const auto begin = static_cast<uint32_t>(text.size());
    text.append(w.data(), w.size());
    pieces.push_back({begin, static_cast<uint32_t>(text.size()), at_origin});
  }
};

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Splits (and possibly rewrites) one word, passing the results to `sink`.
  virtual void split(std::string_view word, bool at_origin, WordSink& sink) const = 0;
};

struct PreTokenizerSpec {
  std::unique_ptr<PreTokenizer> pre_tokenizer;  // nullptr: the segment is one word
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
