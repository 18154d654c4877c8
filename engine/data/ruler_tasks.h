// RULER-style synthetic long-context tasks (Hsieh et al. 2024, "RULER: What's the Real Context Size
// of Your Long-Context Language Models?"): the task registry, the prompts generated from a seed at
// an exact length, and RULER's string-match scoring. Natural-language prompts for real tokenizers,
// the builtin:longrange fact format for the byte-level one. Torch-free.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "data/text_filler.h"
#include "data/tokenizer.h"

namespace ctx::data {

enum class RulerFamily { Niah, VariableTracking, CommonWords, FrequentWords };

// One task: RULER's name and what it varies. Haystacks: "noise" (the passkey block repeated),
// "essay" (English-like prose: builtin:longrange's grammatical filler sentences, no facts or
// copies, the same text for every run), "corpus" (the run's validation documents), "needles"
// (nothing but distractor needles, RULER's multikey_2/3).
struct RulerTask {
  std::string name;
  RulerFamily family = RulerFamily::Niah;
  std::string haystack;  // noise | essay | corpus | needles ("" for cwe / fwe)
  std::string key_type;  // niah: word | uuid
  std::string value_type;  // niah: number | word | uuid
  int keys = 1;     // needles with distinct keys (one asked, the rest distractors, unless queries)
  int values = 1;   // values stated for the asked key (multi-value)
  int queries = 1;  // keys asked for (multi-query)
  std::string about;  // one line for listings
  // Needle tasks have a depth axis; vt / cwe / fwe are recorded at depth -1.
  bool has_depth() const { return family == RulerFamily::Niah; }
};

// RULER's eleven non-QA tasks (niah_single_1..3, niah_multikey_1..3, niah_multivalue,
// niah_multiquery, vt, cwe, fwe), then the single-needle grid niah_single_<noise|essay|corpus>_
// <number|word|uuid>.
const std::vector<RulerTask>& ruler_tasks();
// The eleven RULER names, in RULER's order (the default task list).
std::vector<std::string> ruler_default_tasks();
// By name; DataError "task 'x': unknown (known: ...)" otherwise.
const RulerTask& ruler_task(const std::string& name);
std::string ruler_known_tasks();  // "niah_single_1, ..., niah_single_<noise|essay|corpus>_<...>"

// A turn of a multi-query prompt in the fact format: after the previous answer's tokens are
// generated, `forced` (the next question) is appended, then `new_tokens` more are generated.
struct RulerTurn {
  std::vector<Token> forced;
  int64_t new_tokens = 0;
};

// A statement planted in the prompt (needle, chain assignment): its text and the index of the
// token where it starts (the one holding its first byte).
struct RulerNeedle {
  std::string text;
  int64_t pos = 0;
  bool asked = false;  // its value is one of the expected answers
};

struct RulerPrompt {
  std::vector<Token> tokens;  // the prompt as the model reads it
  int64_t new_tokens = 0;     // tokens to generate: the reference completion's, in context
  std::vector<RulerTurn> turns;       // fact-format multi-query only
  std::vector<std::string> expected;  // strings the output must contain (RULER's outputs)
  std::vector<RulerNeedle> needles;   // in the order they were drawn (asked ones first)
  std::string text, completion;       // prompt text and the reference answer that continues it
  double depth = -1;  // needle tasks: realised depth of needles[0] in the haystack (0..1)
  // Tokens short of length + 1 (prompt + completion + turns): 0 for text haystacks (up to
  // kNlLengthSlack where merges prevent an exact fit), below one item for list haystacks
  // (needles, cwe's words, fwe's coded words), which grow a whole item at a time.
  int64_t slack = 0;
  int64_t total() const;  // prompt + every forced and generated token
};

// Where haystack text comes from. `corpus` is needed only by tasks whose haystack is "corpus".
struct RulerSources {
  const TextFiller* corpus = nullptr;
};

// A prompt of `task` sized to `length`: prompt + reference completion (+ turns) is length + 1 -
// slack tokens, so the step that generates the last answer token reads at most `length` tokens.
// `tok` null (or of kind "byte") gives the fact format in bytes; otherwise natural language sized
// in tok's tokens (encode(text, true), as retrieval_prompts_nl.h). depth in [0, 1] places
// needles[0] there (its sentence end nearest to that fraction of the haystack), the other needles
// at depths drawn uniformly; depth < 0 draws all of them. Ignored by vt / cwe / fwe. Throws
// DataError when the length cannot hold the prompt or the haystack cannot fill it.
RulerPrompt make_ruler_prompt(const RulerTask& task, const RulerSources& src, const Tokenizer* tok,
                              std::mt19937_64& rng, int64_t length, double depth);

// The shortest length every prompt of the task fits in under this tokenizer (null = bytes): the
// prompt with the least haystack over 16 fixed sample draws, plus 8 tokens of margin (keys and
// words of other draws can be longer).
int64_t min_ruler_length(const RulerTask& task, const Tokenizer* tok);

// RULER's string_match_all: the fraction of `expected` found in `output`, each as a
// case-insensitive substring (partial credit: 3 of 4 values give 0.75). 0 when expected is empty.
double ruler_score(const std::string& output, const std::vector<std::string>& expected);

}  // namespace ctx::data
