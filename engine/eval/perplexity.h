// Perplexity against evaluation length on validation documents, non-overlapping or sliding-window
// (stride S, only the new tokens scored), with the mean loss at each position of the window — the
// curve that shows where a model breaks past its trained length. Mode "randpos" scores the
// non-overlapping windows at randomized ids, as randomized positional encodings are tested by their
// authors (Ruoss et al., METHODS.md §8.9): each window's ids are `length` distinct integers drawn
// uniformly from [0, id_range), sorted.
#pragma once

#include <string>
#include <vector>

#include "config/eval_results.h"
#include "data/corpus.h"
#include "model/language_model.h"

namespace ctx {

struct PplOptions {
  int64_t length = 256;
  std::string mode = "nonoverlap";  // nonoverlap | sliding | randpos
  int64_t stride = 0;               // sliding: 0 = length / 2
  int64_t max_tokens = 32768;       // scored tokens, at most (windows taken in document order)
  int64_t batch_size = 4;
  // Carry each layer's previous-window states (Shortformer's cache): windows of a document are
  // scored one after the other, each attending to the one before it (non-overlapping mode).
  bool memory = false;
  // Joins documents when none is long enough (the tokenizer's BOS, else EOS).
  data::Token separator = data::ByteTokenizer::kBos;
  // randpos: the ids' range (the run's Lmax); at least `length`.
  int64_t id_range = 0;
};

// randpos: the ids of window `window` at `length` in [0, range): `length` distinct integers,
// ascending, drawn uniformly (methods/sampler.h's sorted_sample) from a generator seeded by
// (length, range, window) alone, so every run and every evaluation sees the same ids.
// length <= range.
std::vector<int64_t> random_window_ids(int64_t length, int64_t range, uint64_t window);

// One window of a document: `length`+1 tokens starting at `start`, scoring positions >=
// `score_from`.
struct EvalWindow {
  size_t doc = 0;
  int64_t start = 0;
  int64_t score_from = 0;
};

// The windows the evaluation scores (exposed for tests): non-overlapping chunks, or sliding windows
// whose first window scores everything and each later one only its last `stride` (new) tokens.
std::vector<EvalWindow> plan_windows(const std::vector<std::vector<data::Token>>& docs,
                                     const PplOptions& opt);

// The scored tokens' losses of a run of windows, summed as they come: in total and per position.
// Both perplexity protocols (windows of a corpus, long documents) fill their PplResult from it.
struct ScoredLosses {
  explicit ScoredLosses(int64_t length);
  // losses [B, length] (any device or dtype); row b counts positions from score_from[b] on.
  void add(const torch::Tensor& losses, const std::vector<int64_t>& score_from);
  // Sets r.tokens, loss, ppl, position_loss (NaN where nothing was scored) and position_count.
  void finish(PplResult& r) const;

 private:
  std::vector<double> pos_sum_;
  std::vector<int64_t> pos_n_;
  double total_ = 0;
  int64_t count_ = 0;
};

PplResult evaluate_perplexity(LanguageModel& model, const std::vector<data::Document>& docs,
                              const PplOptions& opt, const torch::Device& device);

}  // namespace ctx
