// The long-context evaluations a run's config asks for: attention captured on a fixed probe every
// eval.attention_every steps, and the passkey / needle / kvretrieval sweeps and the RULER-style
// suite when training ends.
// Each capture or sweep is stored in one transaction.
#pragma once

#include <string>
#include <vector>

#include "data/corpus.h"
#include "eval/attention_capture.h"
#include "eval/retrieval.h"
#include "eval/ruler.h"
#include "store/run_store.h"
#include "train/events.h"
#include "config/run_config.h"

namespace ctx {

// A probe for attention capture: the first of `docs` holding at least `tokens` tokens. Throws
// DataError naming the longest document when none does.
struct Probe {
  std::vector<data::Token> tokens;
  std::string name;  // e.g. "validation document 3 (builtin:longrange#41)"
};
Probe find_probe(const std::vector<data::Document>& docs, int64_t tokens,
                 const std::string& what = "validation");

// eval.attention_lengths, or the training length when it is empty.
std::vector<int64_t> capture_lengths(const RunConfig& c);

// Checks before a run exists that what eval.attention_* asks for can be captured: a probe long
// enough, lengths the position scheme accepts. Throws DataError / ConfigError.
void check_training_capture(const RunConfig& c, LanguageModel& model,
                            const std::vector<data::Document>& validation);

// eval.attention_lengths x eval.attention_layers on the probe, stored at `step`.
void capture_training_attention(store::RunStore& db, int64_t run, int64_t step,
                                LanguageModel& model, const RunConfig& c, const Probe& probe,
                                const torch::Device& device);

// The retrieval sweeps eval.passkey / needle / kvretrieval request, with the validation documents
// as filler; lengths past the position table are skipped with a warning (as perplexity does).
std::vector<RetrievalResult> run_requested_retrieval(store::RunStore& db, int64_t run, int64_t step,
                                                     LanguageModel& model, const RunConfig& c,
                                                     const std::vector<data::Document>& validation,
                                                     const torch::Device& device,
                                                     EventSink& events);

// The RULER-style suite eval.ruler requests, the validation documents as the corpus haystack,
// stored with its effective length (reference: train.seq_len). Lengths past the position table or
// too short for a task's prompt are skipped with a warning. Returns false when it did not run.
bool run_requested_ruler(store::RunStore& db, int64_t run, int64_t step, LanguageModel& model,
                         const RunConfig& c, const std::vector<data::Document>& validation,
                         const torch::Device& device, EventSink& events);

}  // namespace ctx
