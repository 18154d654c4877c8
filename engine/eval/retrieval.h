// Long-context retrieval evaluation on a model: passkey by length (and depth), needle grid over
// lengths x depths, key-value retrieval by position of the pair. Greedy decoding, exact match
// (data/retrieval_tasks.h builds the prompts and scores them). Results go to the store as eval
// records with their own axes (see store_retrieval).
#pragma once

#include <string>
#include <vector>

#include "config/eval_results.h"
#include "data/retrieval_tasks.h"
#include "model/language_model.h"
#include "store/run_store.h"

namespace ctx {

struct RetrievalOptions {
  std::string task = "passkey";  // passkey | needle | kvretrieval
  std::vector<int64_t> lengths;
  // passkey: depths as fractions 0..1 (empty = a random depth per trial, recorded at y = -1);
  // needle: depths in percent 0..100 (empty = 0, 20, ..., 100).
  std::vector<double> depths;
  int64_t trials = 10;  // per cell
  int64_t bins = 5;     // kvretrieval: position bins over the record
  int64_t pairs = 0;    // kvretrieval: facts in the record; 0 = as many as fit
  uint64_t seed = 1;
  int64_t batch_size = 8;
  // The model's tokenizer. Null or the byte tokenizer: the fact-format prompts of
  // data/retrieval_tasks.h; a real tokenizer: the papers' natural-language prompts
  // (data/retrieval_prompts_nl.h), sized in its tokens, answers decoded with it.
  std::shared_ptr<const data::Tokenizer> tokenizer;
};

// Raises ConfigError naming the value: unknown task, a length below the prompt's minimum or past
// the position scheme's table, depths out of range, trials/bins < 1.
void check_retrieval_request(LanguageModel& model, const RetrievalOptions& opt);

RetrievalResult run_retrieval(LanguageModel& model, const data::Filler& filler,
                              const RetrievalOptions& opt, const torch::Device& device);
// The same with the haystack cut from `docs` (named `source`), byte or natural-language prompts as
// opt.tokenizer says.
RetrievalResult run_retrieval(LanguageModel& model, const std::vector<data::Document>& docs,
                              const std::string& source, const RetrievalOptions& opt,
                              const torch::Device& device);

// Greedy continuation of equally long prompts: `new_tokens` tokens each, one full forward pass per
// token (answers are a few bytes; positions 0..n-1 every time, so dynamic scalings see the length).
// With vocab > 0, only the first `vocab` ids are candidates: a checkpoint's head may have more rows
// than its tokenizer has tokens (padded vocabularies), and those ids decode to nothing.
std::vector<std::vector<data::Token>> greedy_decode(
    LanguageModel& model, const std::vector<std::vector<data::Token>>& prompts, int64_t new_tokens,
    const torch::Device& device, int64_t vocab = -1);
// The argmax over the last axis, among the first `vocab` entries when 0 < vocab < its size.
torch::Tensor argmax_in_vocab(const torch::Tensor& logits, int64_t vocab);

// Eval records task (passkey | needle | kvretrieval), mode "greedy", x = length, y as in the cell,
// metric "accuracy", extra {"trials", "correct", ...}. No transaction of its own.
void store_retrieval(store::RunStore& db, int64_t run, int64_t step, const RetrievalResult& r);

}  // namespace ctx
