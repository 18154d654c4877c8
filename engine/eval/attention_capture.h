// Attention capture for long inputs: per layer and head, the attention probabilities pooled to a
// fixed grid (mean and max per tile), the mass against relative distance, the sink mass and the
// entropy per query tile, computed a chunk of query rows at a time so memory grows with T * chunk,
// never T^2. Also the store layout of the result (artifact names the window reads).
#pragma once

#include <string>
#include <vector>

#include "data/tokenizer.h"
#include "model/language_model.h"
#include "store/run_store.h"

namespace ctx {

struct CaptureOptions {
  std::vector<int64_t> layers;  // 0-based, any order; empty = every layer
  std::vector<int64_t> heads;   // 0-based; empty = every head
  int64_t grid = 256;           // tiles per side: G = min(grid, T)
  int64_t chunk = 128;          // query rows scored at once
  int64_t sink_k = 4;           // "sink" = the first sink_k tokens
};

// Log-spaced distance bins for length T: edges 0, 1, 2, 4, ..., 2^(B-1) with 2^(B-1) >= T, so bin 0
// is the token itself and bin b >= 1 covers distances [2^(b-1), 2^b).
std::vector<double> distance_edges(int64_t T);

// The query/key tiles of a length-T axis pooled to G tiles: tile i covers [floor(iT/G),
// floor((i+1)T/G)).
std::vector<int64_t> tile_bounds(int64_t T, int64_t G);

struct LayerCapture {
  int64_t layer = 0;
  std::vector<int64_t> heads;   // which heads the rows below are
  torch::Tensor mean, max;      // [H, G, G] float: rows = query tiles, cols = key tiles
  torch::Tensor distance;       // [H, B]: mass per distance bin, averaged over queries
  torch::Tensor entropy, sink;  // [H, G]: mean over the queries of each query tile
  double sink_mass = 0;         // mean of sink over heads and queries
};

struct LengthCapture {
  int64_t length = 0, grid = 0, chunk = 0, sink_k = 0;
  std::vector<double> edges;  // distance bin edges
  std::vector<LayerCapture> layers;
};

// Raises ConfigError (one line naming the value) when a layer or head does not exist, the probe
// is shorter than a length, or a length is past what the position scheme accepts.
void check_capture_request(LanguageModel& model, const std::vector<int64_t>& lengths,
                           int64_t probe_tokens, const CaptureOptions& opt,
                           const std::string& probe_name);

// Captures the first `length` tokens of `probe` (positions 0..length-1).
LengthCapture capture_attention(LanguageModel& model, const std::vector<data::Token>& probe,
                                int64_t length, const CaptureOptions& opt,
                                const torch::Device& device);

// Pools explicitly given probabilities of rows [r0, r0 + probs.size(1)) against keys [0,
// probs.size(2))
// ([H, rows, keys]) into `out` (the chunked capture's inner step; tests drive it directly). `out`
// must come from begin_pooling and is finished by end_pooling. The accumulators live on `device`
// (the probabilities' device); end_pooling brings the result to the CPU.
struct PoolAccumulator {
  int64_t T = 0, G = 0, sink_k = 0;
  std::vector<int64_t> bounds;
  std::vector<double> edges;
  torch::Tensor sum, max, dist, ent, sink;  // float64 accumulators
};
PoolAccumulator begin_pooling(int64_t heads, int64_t T, int64_t grid, int64_t sink_k,
                              const torch::Device& device = torch::kCPU);
void pool_rows(PoolAccumulator& acc, const torch::Tensor& probs, int64_t r0);
LayerCapture end_pooling(PoolAccumulator& acc);

// Writes one capture as artifacts "attention/<L>/<l>/{mean,max,distance,entropy,sink}",
// "attention/<L>/distance_edges" and, when `token_texts` is given, "attention/<L>/tokens" (u8: a
// JSON array of the first L tokens' display texts, for hover text), plus one eval record per
// layer (task attention, mode capture, x = L, y = layer, metric sink_mass). No transaction of its
// own: callers wrap a whole call in one.
void store_capture(store::RunStore& db, int64_t run, int64_t step, const LengthCapture& c,
                   const std::string& probe, const std::vector<std::string>& token_texts = {});

}  // namespace ctx
