// Training position samplers: each turns training documents into examples with explicit
// position ids and a loss mask. One file per method; registered in registry.cpp.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/corpus.h"
#include "data/example.h"
#include "methods/rng.h"

namespace ctx {

struct SamplerContext {
  const std::vector<data::Document>* docs = nullptr;
  int64_t seq_len = 128;        // tokens per example (the training length L0 of the run)
  int64_t max_positions = 256;  // the model's position table / original context
  // Joins documents into a packed stream (the tokenizer's BOS, else EOS; the byte tokenizer's BOS).
  data::Token separator = data::ByteTokenizer::kBos;
};

class PositionSampler {
 public:
  virtual ~PositionSampler() = default;
  // Called once per optimizer step before its examples (per-batch draws, e.g. E2-LLM's g).
  virtual void begin_batch(Rng& /*rng*/) {}
  // Before each example: its row in the step (micro-batch * batch_size + index) and how many tokens
  // each row consumed before this step. Samplers whose rows continue through the text use these.
  virtual void set_slot(int64_t /*row*/, int64_t /*tokens_before*/) {}
  virtual data::Example sample(Rng& rng) = 0;
};

// Picks a window of `len` consecutive tokens from one document (weighted by the number of windows
// it holds). Documents shorter than `len` are skipped; if none is long enough, the documents are
// packed into one stream separated by BOS (always, with force_pack). Shared by samplers that need
// contiguous source text.
// An example of `seq` consecutive tokens from `window` (which holds seq + 1), ids first_id, first_id
// + 1, ..., every target scored.
data::Example window_example(const data::Token* window, int64_t seq, int64_t first_id = 0);

class WindowSource {
 public:
  WindowSource(const SamplerContext& ctx, int64_t len, bool force_pack = false);
  // Returns the tokens and the offset of the window inside its document (or stream).
  std::vector<data::Token> draw(Rng& rng, int64_t* offset = nullptr) const;
  bool packed() const { return packed_; }

 private:
  const std::vector<data::Document>* docs_;
  int64_t len_;
  bool packed_ = false;
  std::vector<data::Token> stream_;
  std::vector<int64_t> doc_index_;   // documents with enough tokens
  std::vector<int64_t> cumulative_;  // cumulative window counts
};

// k distinct integers drawn uniformly from [0, n), ascending (Floyd's algorithm); 0 <= k <= n.
std::vector<int64_t> sorted_sample(Rng& rng, int64_t k, int64_t n);

// An example read from `source` at indices `idx`: tokens source[idx[i]], targets source[idx[i]+1]
// (always the true next source token; idx[i]+1 must be inside `source`), the given positions, mask
// 1. With mask_boundaries, a token whose successor in the example is not its successor in the
// source (idx[i+1] != idx[i]+1) is not scored; the last token always is.
data::Example gather_example(const std::vector<data::Token>& source,
                             const std::vector<int64_t>& idx, const std::vector<double>& positions,
                             bool mask_boundaries);

}  // namespace ctx
