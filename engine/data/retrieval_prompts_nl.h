// Natural-language retrieval prompts (METHODS.md §9) for models with a real tokenizer (Hugging Face
// BPE or SentencePiece), sized in that tokenizer's tokens: passkey (Landmark/YaRN/PoSE), needle in
// a haystack (gkamradt) and key-value retrieval over JSON (lost in the middle, as CREAM uses it).
// The byte-level prompts of retrieval_tasks.h stay as they are. Torch-free; the tokenizer is read
// only, through its encode/decode.
#pragma once

#include <cstdint>
#include <random>
#include <string>

#include "data/retrieval_tasks.h"
#include "data/text_filler.h"
#include "data/tokenizer.h"

namespace ctx::data {

// Sizing. Every prompt is encoded as a model reads it (encode(text, true): the tokenizer's BOS
// when its template adds one; a trailing template EOS is dropped), and prompt + completion (the
// reference answer, p.completion) is exactly `length` + 1 tokens, measured on the assembled text:
// the last decoding step of the reference answer reads exactly `length` tokens. Where merges make
// that impossible (one more character of filler adding two or more tokens wherever the filler
// can end), it is length + 1 - s tokens with 0 < s <= kNlLengthSlack: seen only with filler made
// of multi-byte characters under a small vocabulary (s <= 2); every fixture tokenizer fits
// English filler exactly (every length tried, 256 to 131072). p.new_tokens = the completion's
// tokens in context: what to generate, so that the step producing its last token reads `length`
// tokens (a caller may generate more; the scorers look at all of it). Filler is only ever cut at
// UTF-8 character starts. p.text holds the prompt's text and p.tokens its encoding, which for the
// fixture tokenizers is a prefix of the encoding of p.text + p.completion (not guaranteed: a
// tokenizer may merge across the cue's end).
// Throws DataError "<task>: length L cannot hold the prompt (needs at least M tokens ...)" when
// the prompt with no filler is already longer.
constexpr int64_t kNlLengthSlack = 4;

// Passkey: an instruction line; the block "The grass is green. The sky is blue. The sun is yellow.
// Here we go. There and back again." repeated (joined by spaces) and cut to size; the key line
// "The pass key is K. Remember it well. K is the pass key."; more of the block (both parts start
// from the block's beginning, as in Landmark/YaRN); "Which number is the pass key? The pass key
// is". Lines
// joined by "\n" (an empty filler part leaves its line out). K is uniform in 1..50000, as the
// YaRN and PoSE scripts draw it (the papers say 5 digits); the completion is " K.". The key line
// starts after the whole sentence of the filler nearest to `depth` of the filler bytes; depth < 0
// draws it uniformly, 0 and 1 put it before or after all filler. p.depth = the realised depth in
// tokens: (fact_pos - first filler token) / filler tokens. p.statement = the key line.
RetrievalPrompt make_nl_passkey_prompt(const Tokenizer& tok, std::mt19937_64& rng, int64_t length,
                                       double depth);

// Needle: an instruction line, a blank line, the haystack (text of `f` from a random sentence
// start) with the needle "The best thing to do in San Francisco is to eat a sandwich and sit in
// Dolores Park on a sunny day." inserted, a blank line, then "Question: What is the best thing to
// do in San Francisco, according to the document?\nAnswer: The best thing to do in San Francisco
// is to". Completion " eat a sandwich and sit in Dolores Park on a sunny day."; p.answer =
// "Dolores Park" (see score_needle_answer). The needle goes at the sentence end of the haystack
// nearest to the exact token depth (`depth` of the haystack's tokens, searched within 1 KiB; else
// the nearest whitespace, else the exact byte); 0 and 1 put it first or last. p.depth = realised
// depth in tokens, as for passkey. The haystack starts at a random sentence start; when it
// mentions "Dolores Park" (any case) or cannot be fitted exactly, the next sentence starts are
// tried (8 haystacks in all; DataError when all of them mention it).
RetrievalPrompt make_nl_needle_prompt(const TextFiller& f, const Tokenizer& tok,
                                      std::mt19937_64& rng, int64_t length, double depth);

// Key-value retrieval: random UUID keys -> random UUID values (all distinct), asking for the value
// of pair floor(position * pairs), position in [0, 1). The question is "Key: \"<key>\"\nValue:",
// the completion " \"<value>\"", p.answer the value, p.statement the asked pair as written.
// pairs = 0: as many pairs as fit, in one JSON object ("JSON data:\n{\"k\": \"v\",\n \"k\": ...}")
// after an instruction line; the tokens left over (less than about one pair) are filled with text
// of `f` between the instruction and the object. pairs > 0: that many pairs, each a one-pair JSON
// object on its own line, with the filler spread evenly into the pairs + 1 gaps around them (cut
// at whitespace); DataError when they do not fit. p.pairs, p.pair_index; p.depth = (pair_index +
// 0.5) / pairs, as the byte-level prompt reports it.
RetrievalPrompt make_nl_kv_prompt(const TextFiller& f, const Tokenizer& tok, std::mt19937_64& rng,
                                  int64_t length, int64_t pairs, double position);

// The shortest length whose prompts of the task ("passkey", "needle", "kvretrieval" with pairs =
// 0) fit under this tokenizer: the prompt with no filler, for needle exactly; for passkey and
// kvretrieval the longest over fixed sample draws (keys of every digit count; 64 pairs of UUIDs)
// plus 2 tokens, as other draws can tokenize a little longer. DataError for another task.
int64_t min_nl_prompt_length(const Tokenizer& tok, const std::string& task);

// Scorers of the generated text (decoded, special tokens skipped):
// passkey: the first run of digits in the output is exactly the key ("48213." yes, "4821" no), as
// the passkey scripts score (score_answer of retrieval_tasks.h).
bool score_passkey_answer(const std::string& generated, const std::string& key);
// needle: the output mentions "Dolores Park" in any case, whitespace between the words any run
// of spaces or newlines (the string-match version of gkamradt's judge).
bool score_needle_answer(const std::string& generated);
// kvretrieval: the value's UUID occurs in the output exactly as written (lowercase, all 36
// characters) and not inside a longer run of hex digits and dashes; quotes and other text around
// it are fine.
bool score_kv_answer(const std::string& generated, const std::string& value);
// By task name, with the prompt's `answer`. DataError for an unknown task.
bool score_nl_answer(const std::string& task, const std::string& generated,
                     const std::string& answer);

}  // namespace ctx::data
