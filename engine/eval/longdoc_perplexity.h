// Long-document perplexity as YaRN and PI measure it (METHODS.md §9): documents at least as long
// as the longest evaluated length, truncated to it, and at every length L a sliding window of L
// positions moved by `stride` (256) tokens, BOS once at the start of every window, each window
// scoring only the tokens it adds. Every length scores the same truncated documents.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "config/eval_results.h"
#include "data/corpus.h"
#include "model/language_model.h"

namespace ctx {

// One window over a truncated document. With BOS: the model reads [BOS, d[start] ..
// d[start+L-2]] and predicts d[start] .. d[start+L-1]; without: it reads d[start] .. d[start+L-1]
// and predicts d[start+1] .. d[start+L]. Targets with index >= score_from (window-relative) count.
struct LongDocWindow {
  size_t doc = 0;
  int64_t start = 0;
  int64_t score_from = 0;
};

// Windows over a document of `tokens` tokens: starts 0, S, 2S, ... the last one flush with the
// end, each scoring the targets after the previous window's last. With BOS every token is scored
// once (the first from BOS alone); without, every token but the first. Empty when the document is
// shorter than one window.
std::vector<LongDocWindow> plan_longdoc_windows(int64_t tokens, int64_t length, int64_t stride,
                                                bool bos);

// The documents of a long-document evaluation: those holding at least `longest` tokens (one more
// without BOS), in order, at most `max_docs` of them (0 = all), truncated to that size.
struct LongDocSet {
  std::vector<std::vector<data::Token>> docs;
  int64_t truncated_to = 0;
  int64_t skipped = 0;  // documents shorter than that
  int64_t available = 0;  // long enough, before max_docs
};
LongDocSet select_longdoc_documents(const std::vector<data::Document>& docs, int64_t longest,
                                    int64_t max_docs, bool bos);

struct LongDocOptions {
  int64_t length = 2048;
  int64_t stride = 256;
  data::Token bos = -1;  // the tokenizer's BOS; -1 = none
  int64_t batch_size = 4;
  // After each batch: windows done, windows in all.
  std::function<void(int64_t done, int64_t total)> progress;
};

// Perplexity over the set's documents at opt.length (mode "longdoc"): loss is the mean over the
// scored tokens, position_loss the mean at each window position. DataError when a document is
// shorter than one window or the stride is not in [1, length].
PplResult evaluate_longdoc(LanguageModel& model, const LongDocSet& set, const LongDocOptions& opt,
                           const torch::Device& device);

}  // namespace ctx
