// Retrieval prompts for long-context evaluation (METHODS.md §9) on the byte-level tokenizer:
// passkey (one 5-digit key at a depth), needle (a fact of any attribute on a depth grid) and
// key-value retrieval (a record of facts, one asked for by its position). They use the fact format
// of builtin:longrange ("the key of Zorbin is 48213." ... "recall: the key of Zorbin is "), which a
// model trained on it has learned to complete, and take any corpus as the filler around the fact.
// No instruction sentence: a byte-level model trained from scratch has never seen one. Torch-free.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "data/corpus.h"

namespace ctx::data {

// The haystack: documents joined by "\n" into one stream, cut at random offsets (wrapping around,
// i.e. repeated to length when shorter than a prompt).
class Filler {
 public:
  explicit Filler(const std::vector<Document>& docs,
                  std::string source = "");  // DataError when empty
  std::vector<Token> take(std::mt19937_64& rng, int64_t n) const;
  bool contains(const std::string& s) const { return text_.find(s) != std::string::npos; }
  int64_t size() const { return static_cast<int64_t>(text_.size()); }
  const std::string& source() const { return source_; }

 private:
  std::string text_;
  std::string source_;
};

struct RetrievalPrompt {
  std::vector<Token>
      tokens;               // the prompt, ending with the open question "recall: the key of X is "
  std::string answer;       // the expected digits
  int64_t new_tokens = 0;   // tokens to generate: the answer and its closing "."
  int64_t fact_pos = 0;     // token index where the asked-for statement starts
  std::string statement;    // "the key of X is 48213. "
  double depth = 0;         // fact_pos / (context before the question - statement), 0..1
  int64_t pair_index = -1;  // key-value retrieval: which pair (0-based) of `pairs`
  int64_t pairs = 0;
  // Natural-language prompts (retrieval_prompts_nl.h) also fill these; byte prompts leave them "".
  std::string text;        // the prompt's text: `tokens` is its encoding with the specials
  std::string completion;  // the reference answer continuing `text` (" 48213."), in the length
};

// Every prompt is sized so that prompt + answer is `length` + 1 tokens: the last decoding step
// (which predicts the closing ".") reads exactly `length` tokens at positions 0..length-1, like a
// perplexity window of that length. depth in [0, 1]; depth < 0 draws it uniformly. The statement
// starts after a space or newline of the filler within 32 bytes before the exact depth, so no word
// is cut. Throws DataError when `length` cannot hold the prompt.
RetrievalPrompt make_passkey_prompt(const Filler& f, std::mt19937_64& rng, int64_t length,
                                    double depth);
// Like passkey, with a fact of a random attribute (code, key, pin, room, number, locker).
RetrievalPrompt make_needle_prompt(const Filler& f, std::mt19937_64& rng, int64_t length,
                                   double depth);
// A record of facts (random attributes, unique names) asking for the one at relative `position`
// in [0, 1) (pair floor(position * pairs)). pairs = 0 packs as many as fit (the rest of the length
// is filler before the record); otherwise the filler is spread evenly around the pairs.
RetrievalPrompt make_kv_prompt(const Filler& f, std::mt19937_64& rng, int64_t length, int64_t pairs,
                               double position);

// The shortest length every prompt of the task fits in ("passkey", "needle", "kvretrieval").
int64_t min_prompt_length(const std::string& task);

// As the passkey scripts score: the first run of digits in the output equals the answer exactly.
bool score_answer(const std::string& generated, const std::string& answer);

// A seed per trial, so every run evaluated with the same filler and seed sees the same prompts.
uint64_t trial_seed(uint64_t seed, const std::string& task, int64_t length, int64_t cell,
                    int64_t trial);

}  // namespace ctx::data
