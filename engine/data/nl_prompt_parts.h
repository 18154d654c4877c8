// Parts shared by the natural-language retrieval prompt generators (retrieval_prompts_nl.cpp,
// kv_prompts_nl.cpp): a prompt draft with its byte offsets, the filler search over a growing
// pool, and the finished prompt with its measured size, fact position and depth. Internal.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "data/prompt_fit.h"
#include "data/retrieval_tasks.h"
#include "data/tokenizer.h"

namespace ctx::data::nl {

// A prompt as text (without the completion) and the byte offsets measured in tokens.
struct Draft {
  std::string text;
  size_t filler_begin = 0, fact_begin = 0, fact_end = 0, filler_end = 0;
};

// DataError "<task>: length L cannot hold the prompt (needs at least M tokens ...)".
[[noreturn]] void too_short(const std::string& task, int64_t length, int64_t need);

// Fits the bytes of a pool that take(bytes) returns (larger takes extend smaller ones; a pool too
// short for the target is taken 4x larger). count(n) measures the prompt with n bytes of `pool`.
FitResult fit_pool(const Tokenizer& tok, const std::function<std::string(size_t)>& take,
                   std::string& pool, const AmountFn& count, int64_t target,
                   const std::string& task);

// The search again with the fact's placement frozen where the first fit put it, so that only the
// filler's end moves (a placement that follows the amount makes the count jump by several tokens
// per byte). count_frozen(first.amount) is first.count. Returns the better of the two.
FitResult refit_frozen(const AmountFn& count_frozen, const std::string& pool, int64_t target,
                       const FitResult& first);

// The prompt of a draft: text, tokens, completion, new_tokens and fact_pos. DataError when prompt
// + completion is not within [length + 1 - kNlLengthSlack, length + 1] tokens.
RetrievalPrompt finish(const PromptEncoder& enc, const Draft& d, const std::string& completion,
                       const std::string& task, int64_t length);

// (fact_pos - first filler token) / filler tokens without the fact, in [0, 1].
double realised_depth(const PromptEncoder& enc, const RetrievalPrompt& p, const Draft& d);

// The shortest length of packed key-value prompts (min_nl_prompt_length "kvretrieval").
int64_t kv_min_length(const PromptEncoder& enc);

}  // namespace ctx::data::nl
