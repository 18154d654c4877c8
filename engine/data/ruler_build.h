// Assembling and sizing the RULER-style prompts (ruler_tasks.h): statements planted at sentence
// ends of a text haystack, or lists that grow an item at a time, measured as the model reads them
// (bytes for the fact format, the tokenizer's tokens otherwise) until prompt + reference answer is
// length + 1 tokens. Reuses the search of prompt_fit.h / nl_prompt_parts.h. Internal.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "data/prompt_fit.h"
#include "data/ruler_tasks.h"

namespace ctx::data::ruler {

// Counts and encodes prompts: bytes without BOS for the fact format (tok null), else
// PromptEncoder (the tokenizer's BOS when its template adds one).
class Measure {
 public:
  explicit Measure(const Tokenizer* tok);
  bool byte_level() const { return !enc_; }
  const Tokenizer& tokenizer() const { return *tok_; }
  std::vector<Token> encode(std::string_view text) const;
  int64_t count(std::string_view text) const;
  // The index of the token of `full` holding the first byte after `prefix` (PromptEncoder).
  int64_t boundary(const std::vector<Token>& full, std::string_view prefix) const;

 private:
  const Tokenizer* tok_;
  std::optional<PromptEncoder> enc_;
};

// A prompt as text (without the answer), with the byte offsets of its statements and haystack.
struct Draft {
  std::string text;
  std::vector<size_t> marks;  // where statement i starts
  std::vector<size_t> ends;   // where statement i ends
  size_t hay_begin = 0, hay_end = 0;
};

// A statement for a text haystack, at a fraction of it (0 first, 1 last).
struct Statement {
  std::string text;
  double depth = 0;
};

struct TextPromptSpec {
  std::string head;      // instruction line before the haystack (natural language only)
  std::string question;  // after the haystack
  std::string completion;
  std::vector<Statement> statements;
  std::function<std::string(size_t)> take;  // haystack bytes; longer takes extend shorter ones
};

// Statements at the sentence ends nearest their depths of the haystack (bytes), the haystack sized
// first with the positions following its size, then with them frozen (nl::refit_frozen). Natural
// language: head "\n" haystack "\n" question; fact format: haystack, a space if it does not end in
// whitespace, question.
RulerPrompt build_text_prompt(const Measure& m, const TextPromptSpec& spec, const std::string& task,
                              int64_t length);

// length kMinimal (builders and finish): the shortest prompt (no haystack, fewest items), unsized,
// for min_ruler_length.
constexpr int64_t kMinimal = -1;

// A prompt of `items` list items, from min_items up: the most items whose prompt + completion fit.
using ListDraft = std::function<Draft(int64_t items)>;
// `chosen` receives the draft of the prompt returned.
RulerPrompt build_list_prompt(const Measure& m, const ListDraft& draft,
                              const std::string& completion, int64_t min_items,
                              const std::string& task, int64_t length, Draft* chosen = nullptr);

// Tokens, new_tokens, slack and needle positions of a draft (needles[i] from statement i; their
// text is the statement's). DataError unless prompt + completion is within [length + 1 -
// max_slack, length + 1].
RulerPrompt finish(const Measure& m, const Draft& d, const std::string& completion,
                   const std::string& task, int64_t length, int64_t max_slack);

// (tokens of haystack before statement 0, other statements left out) / (haystack tokens without
// the statements), in [0, 1].
double realised_depth(const Measure& m, const RulerPrompt& p, const Draft& d);

// The fact format's ending: a space when `s` does not end in whitespace.
std::string separated(const std::string& s);

// Haystacks: RULER's noise (the passkey block repeated, joined by spaces) and the essay-like prose
// (builtin:longrange filler sentences of a fixed seed, no facts or copies), generated once.
std::string noise_text(size_t bytes);
const TextFiller& essay_filler();

// The families (ruler_niah.cpp, ruler_lists.cpp), on the measure's tokenizer or in bytes.
RulerPrompt make_niah(const RulerTask& task, const RulerSources& src, const Measure& m,
                      std::mt19937_64& rng, int64_t length, double depth);
RulerPrompt make_vt(const RulerTask& task, const Measure& m, std::mt19937_64& rng, int64_t length);
RulerPrompt make_cwe(const RulerTask& task, const Measure& m, std::mt19937_64& rng, int64_t length);
RulerPrompt make_fwe(const RulerTask& task, const Measure& m, std::mt19937_64& rng, int64_t length);

}  // namespace ctx::data::ruler
