// The haystack of the natural-language retrieval prompts: the run's documents as text (decoded by
// its tokenizer), joined by "\n", cut at random offsets and repeated when shorter than a prompt -
// the counterpart of Filler (retrieval_tasks.h), which holds byte-level tokens. Assumes UTF-8.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "data/corpus.h"
#include "data/tokenizer.h"

namespace ctx::data {

class TextFiller {
 public:
  // The documents decoded by `tok` (special tokens left out). DataError when there is no text.
  TextFiller(const std::vector<Document>& docs, const Tokenizer& tok, std::string source = "");
  // Text as it is. DataError when empty.
  explicit TextFiller(std::string text, std::string source = "");

  // A random offset, uniform over the text, then moved forward to the next sentence or line start
  // within 2 KiB (the text's start when it wraps around before), else the next word start within
  // 64 bytes, else the character start before it.
  size_t random_start(std::mt19937_64& rng) const { return start_after(draw_offset(rng)); }
  // The first sentence or line start at or after `p`, as random_start moves its offset.
  size_t start_after(size_t p) const;
  // `n` bytes of the text from `start` on, wrapping around to its beginning after a "\n". Longer
  // takes from one start extend shorter ones. The end may cut a UTF-8 character (callers cut
  // with utf8_floor).
  std::string take(size_t start, size_t n) const;

  bool contains(std::string_view s) const { return text_.find(s) != std::string::npos; }
  int64_t size() const { return static_cast<int64_t>(text_.size()); }
  const std::string& text() const { return text_; }
  const std::string& source() const { return source_; }

 private:
  void check_not_empty() const;
  size_t draw_offset(std::mt19937_64& rng) const;

  std::string text_;
  std::string source_;
};

}  // namespace ctx::data
