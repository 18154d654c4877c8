// Sizing prompts in a real tokenizer's tokens (retrieval_prompts_nl.h): tokenization is not
// additive, so every size is the measured token count of the assembled text, and the amount of
// filler is searched until that count hits the target. Assumes UTF-8 text. Torch-free.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "data/tokenizer.h"

namespace ctx::data {

// Encodes prompts as a model reads them: encode(text, true) (the tokenizer's BOS when its template
// adds one), without the EOS a template may append after a single sequence.
class PromptEncoder {
 public:
  explicit PromptEncoder(const Tokenizer& tok);
  std::vector<Token> encode(std::string_view text) const;
  int64_t count(std::string_view text) const { return static_cast<int64_t>(encode(text).size()); }
  // The index of the first token of `full` (the encoding of a text starting with `prefix`) that
  // holds text after `prefix` (the one straddling the end of `prefix` when a merge crosses it):
  // the length of the common prefix of `full` and the encoding of `prefix`, moved on past tokens
  // that still decode within the prefix when the two differ at its end.
  int64_t boundary(const std::vector<Token>& full, std::string_view prefix) const;
  const Tokenizer& tokenizer() const { return tok_; }

 private:
  const Tokenizer& tok_;
  bool strip_eos_ = false;
};

// The largest n' <= n that starts a UTF-8 character of s (n itself when n >= s.size()).
size_t utf8_floor(std::string_view s, size_t n);

// The length of the longest prefix of s that does not end inside a UTF-8 character.
size_t utf8_whole(std::string_view s);

// Bytes per token of `sample` (encoded without specials); 4 for an empty sample.
double bytes_per_token(const Tokenizer& tok, std::string_view sample);

struct FitResult {
  int64_t amount = 0;   // the filler amount chosen
  int64_t count = 0;    // count(amount)
  bool capped = false;  // count(max_amount) was still below the target: a larger pool is needed
};

// Searches an amount in [0, max_amount] with count(amount) == target: secant steps from the
// estimate `per_token` (amount units per token), bisection of the bracket, then the amounts next
// to it. Amounts are the values `floor` maps to themselves (UTF-8 character starts of a pool, or
// every integer). When no amount hits the target, the one with the largest count below it.
// count(0) > target is returned as is (the caller reports the prompt too long).
using AmountFn = std::function<int64_t(int64_t)>;
FitResult fit_amount(const AmountFn& count, int64_t target, int64_t max_amount, double per_token,
                     const AmountFn& floor, int64_t hint = -1);

// The character boundary nearest to byte `at` of `s` where a sentence ends (after '.', '!' or '?',
// possibly closed by quotes or brackets, followed by whitespace or the end of `s`); 0 counts as
// one, the end of `s` only after such a sentence. Within `max_dist` bytes; otherwise the whitespace
// nearest to `at` within 64 bytes (the boundary just before it); otherwise `at` moved back to a
// character start.
size_t nearest_sentence_end(std::string_view s, size_t at, size_t max_dist);

// How often `needle` occurs in `s` (overlapping occurrences counted).
size_t count_occurrences(std::string_view s, std::string_view needle);

}  // namespace ctx::data
