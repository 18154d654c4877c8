// Patterns of tokenizer.json (Split, Replace): a literal, or a regex run by PCRE2 (JIT, UTF + UCP)
// with Oniguruma's \s and \w, as `tokenizers` runs them. Thread-safe; subjects valid UTF-8.
#pragma once

#include <cstddef>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "io/json_fields.h"

namespace ctx::io {

struct Span {
  size_t begin;
  size_t end;
};

class TextPattern {
 public:
  // A literal string (an empty one never matches).
  static TextPattern literal(std::string text);
  // A regex; a pattern PCRE2 rejects throws TokenizerError "WHAT: invalid regex '...': reason".
  static TextPattern regex(const std::string& pattern, const std::string& what);

  TextPattern(TextPattern&&) noexcept;
  TextPattern& operator=(TextPattern&&) noexcept;
  ~TextPattern();

  // Non-overlapping matches left to right, as Oniguruma's find_iter gives them (an empty match
  // right after the previous match is skipped). Appends to `out` after clearing it.
  void find_all(std::string_view subject, std::vector<Span>& out) const;

  // The same matches one at a time, without a list.
  class Scanner {
   public:
    Scanner(const TextPattern& pattern, std::string_view subject)
        : pattern_(pattern), subject_(subject) {}
    bool next(Span* match);

   private:
    const TextPattern& pattern_;
    std::string_view subject_;
    size_t pos_ = 0;
    bool have_last_ = false;
    size_t last_end_ = 0;
  };

 private:
  TextPattern();
  struct Regex;
  std::string literal_;
  std::unique_ptr<Regex> regex_;
};

// {"String": "..."} or {"Regex": "..."}, as Split, Replace and their decoders write patterns.
TextPattern pattern_from_json(const nlohmann::json& j, const json_fields::Where& where);

}  // namespace ctx::io
