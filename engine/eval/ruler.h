// The RULER-style task suite on a model (data/ruler_tasks.h builds and scores the prompts): per
// task, length and depth `samples` prompts, batched by shape, decoded greedily, scored by string
// match; the time of the prompts' forward passes (prefill) is measured apart from decoding.
// Results go to the store as "ruler/<task>" eval records plus one effective-length record.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/eval_results.h"
#include "data/ruler_tasks.h"
#include "eval/effective_length.h"
#include "model/language_model.h"
#include "store/run_store.h"

namespace ctx {

struct RulerOptions {
  std::vector<std::string> tasks;  // empty = RULER's eleven (data::ruler_default_tasks)
  std::vector<int64_t> lengths;
  // Depths as fractions 0..1 for the needle tasks; empty = a random depth per prompt (y = -1).
  // vt / cwe / fwe always run once per length at y = -1.
  std::vector<double> depths;
  int64_t samples = 20;  // prompts per cell
  uint64_t seed = 1;
  int64_t batch_size = 8;
  // The model's tokenizer: null or the byte tokenizer gives the fact format, otherwise natural
  // language in its tokens.
  std::shared_ptr<const data::Tokenizer> tokenizer;
  // Called after each batch: prompts done, prompts in all, and what runs ("ruler vt 4096").
  std::function<void(int64_t done, int64_t total, const std::string& what)> progress;
};

struct RulerCell {
  std::string task;
  int64_t length = 0;
  double y = -1;  // requested depth fraction, or -1 (random depth, or a task without depth)
  int64_t samples = 0;
  double score_sum = 0;
  double mean_depth = -1;  // realised depth of the first needle, averaged (-1 without depth)
  std::vector<RetrievalExample> examples;  // the first two: expected strings joined by ", "
  double accuracy() const { return samples ? score_sum / static_cast<double>(samples) : 0.0; }
};

struct RulerResult {
  std::vector<RulerCell> cells;
  std::string format;  // "natural language" or "fact format"
  uint64_t seed = 0;
  double seconds = 0;          // the whole sweep
  double prompt_seconds = 0;   // building the prompts (all threads)
  double prefill_seconds = 0;  // the first forward pass of every batch
  int64_t prefill_tokens = 0;  // tokens those passes read
  double decode_seconds = 0;   // every later pass
  int64_t generated_tokens = 0;
  double prefill_tokens_per_s() const {
    return prefill_seconds > 0 ? static_cast<double>(prefill_tokens) / prefill_seconds : 0.0;
  }
};

// Checks before any work: known tasks (data::DataError listing them), lengths given and not
// below any task's shortest prompt under the tokenizer nor past the position table, depths in
// [0, 1], samples and batch >= 1, a corpus when a task needs one (ConfigError / DataError).
void check_ruler_request(LanguageModel& model, const RulerOptions& opt, bool has_corpus);

RulerResult run_ruler(LanguageModel& model, const data::RulerSources& src, const RulerOptions& opt,
                      const torch::Device& device);

// The cells as effective_length() takes them.
std::vector<TaskScore> task_scores(const RulerResult& r);

// Eval records "ruler/<task>", mode "greedy", x = length, y = depth or -1, metric "accuracy",
// extra {"samples", "score_sum", "examples", ...}; and "ruler" / "effective_length" at x = 0,
// y = -1 with extra {"threshold", "reference_length", "reference_score", "averages", ...}. No
// transaction of its own.
void store_ruler(store::RunStore& db, int64_t run, int64_t step, const RulerResult& r,
                 const EffectiveLength& e);

}  // namespace ctx
