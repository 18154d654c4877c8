// Segmented-sequence training, chunk-α (METHODS.md §1): 1/α pieces of one Lt-token source window,
// each keeping its original ids, concatenated into one seq_len (= L0) example.
//
// Baselines of the same study need no sampler of their own: DA = `contiguous` at seq_len L0;
// full = `contiguous` with seq_len = Lt; RandomPos = `randpos` with the same factor.
#include <cmath>
#include <map>

#include "methods/registry.h"
#include "config/run_config.h"

namespace ctx {
namespace {

// "" or "key: reason" for parameters that do not fit the run (seq_len = L0).
std::string check(const nlohmann::json& p, int64_t seq, int64_t max_positions,
                  const std::string& position) {
  const double alpha = p["alpha"].get<double>();
  if (!(alpha > 0)) return "alpha: must be > 0";
  const auto n = static_cast<int64_t>(std::llround(1.0 / alpha));
  if (std::fabs(static_cast<double>(n) * alpha - 1.0) > 1e-9)
    return "alpha: 1/alpha must be a whole number of pieces (got alpha " + p["alpha"].dump() +
           ", 1/alpha = " + std::to_string(1.0 / alpha) + ")";
  if (n > seq)
    return "alpha: 1/alpha = " + std::to_string(n) + " pieces do not fit in seq_len " +
           std::to_string(seq);
  if (p["piece_lengths"] == "equal" && seq % n != 0)
    return "alpha: pieces of alpha*seq_len = " + std::to_string(alpha * static_cast<double>(seq)) +
           " tokens are not whole (seq_len " + std::to_string(seq) + ", " + std::to_string(n) +
           " pieces)";
  const int64_t target = p["factor"].get<int64_t>() * seq;
  if (position == "learned" && target > max_positions)
    return "factor: ids reach factor*seq_len-1 = " + std::to_string(target - 1) +
           ", outside the learned position table (model.max_positions " +
           std::to_string(max_positions) + ")";
  return "";
}

class ChunkSampler : public PositionSampler {
 public:
  ChunkSampler(const nlohmann::json& p, const SamplerContext& ctx)
      : seq_(ctx.seq_len),
        target_(p["factor"].get<int64_t>() * ctx.seq_len),
        pieces_(std::llround(1.0 / p["alpha"].get<double>())),
        random_lengths_(p["piece_lengths"] == "random"),
        mask_boundaries_(p["mask_boundary_labels"].get<bool>()),
        source_(ctx, target_ + 1, p["source"] == "packed_stream") {
    if (p["source"] == "document" && source_.packed())
      throw ConfigError(
          "train.positions.factor: chunk with source 'document' needs a training "
          "document of at least factor*seq_len+1 = " +
          std::to_string(target_ + 1) +
          " tokens and none is that long (lower factor or use source "
          "'packed_stream')");
  }

  data::Example sample(Rng& rng) override {
    int64_t offset = 0;
    const auto window = source_.draw(rng, &offset);  // target_+1 tokens: ids 0..target_-1
    // Piece lengths: equal, or a uniform composition of seq_ into pieces_ positive parts.
    std::vector<int64_t> lengths(static_cast<size_t>(pieces_), seq_ / pieces_);
    if (random_lengths_) {
      auto cuts = sorted_sample(rng, pieces_ - 1, seq_ - 1);
      int64_t prev = 0;
      for (int64_t i = 0; i < pieces_; ++i) {
        const int64_t end = i + 1 < pieces_ ? cuts[static_cast<size_t>(i)] + 1 : seq_;
        lengths[static_cast<size_t>(i)] = end - prev;
        prev = end;
      }
    }
    // Stars and bars: pieces_+1 gaps summing to target_-seq_, uniform over all placements.
    const auto bars = sorted_sample(rng, pieces_, target_ - seq_ + pieces_);
    std::vector<int64_t> idx;
    std::vector<double> pos;
    idx.reserve(static_cast<size_t>(seq_));
    std::map<std::string, double> info;
    int64_t before = 0;  // tokens of earlier pieces
    for (int64_t i = 0; i < pieces_; ++i) {
      const int64_t start = bars[static_cast<size_t>(i)] - i + before;
      info["start" + std::to_string(i)] = static_cast<double>(start);
      if (random_lengths_)
        info["len" + std::to_string(i)] = static_cast<double>(lengths[static_cast<size_t>(i)]);
      for (int64_t j = 0; j < lengths[static_cast<size_t>(i)]; ++j) {
        idx.push_back(start + j);
        pos.push_back(static_cast<double>(start + j));
      }
      before += lengths[static_cast<size_t>(i)];
    }
    auto ex = gather_example(window, idx, pos, mask_boundaries_);
    info["window_offset"] = static_cast<double>(offset);
    ex.info = std::move(info);
    return ex;
  }

 private:
  int64_t seq_, target_, pieces_;
  bool random_lengths_, mask_boundaries_;
  WindowSource source_;
};

}  // namespace

MethodInfo sampler_chunk_info() {
  MethodInfo m;
  m.kind = MethodKind::Sampler;
  m.name = "chunk";
  m.doc =
      "Segmented sequences, chunk-alpha (Karypis et al.): 1/alpha pieces of one factor*seq_len "
      "window keep their original ids (DA = contiguous; full = contiguous at seq_len factor*L0).";
  m.params = {
      {"alpha",
       ParamType::Float,
       0.25,
       0.0,
       1.0,
       {},
       "piece fraction: 1/alpha pieces of alpha*seq_len tokens (1/alpha must be whole)"},
      {"factor",
       ParamType::Int,
       4,
       1,
       1e6,
       {},
       "k: the source window is Lt = k*seq_len tokens; ids lie in [0, Lt)"},
      {"source",
       ParamType::Choice,
       "document",
       -INFINITY,
       INFINITY,
       {"document", "packed_stream"},
       "document: the window lies inside one document of >= Lt+1 tokens (error if none); "
       "packed_stream: documents packed, BOS-separated, so a window may span documents"},
      {"piece_lengths",
       ParamType::Choice,
       "equal",
       -INFINITY,
       INFINITY,
       {"equal", "random"},
       "equal: alpha*seq_len each (paper); random: a uniform composition of seq_len (extension)"},
      {"mask_boundary_labels",
       ParamType::Bool,
       true,
       -INFINITY,
       INFINITY,
       {},
       "do not score a piece's last token when a gap follows it (its target is always the true "
       "next source token, which the example does not contain)"},
  };
  bind_checked_sampler<ChunkSampler>(m, check);
  return m;
}

}  // namespace ctx
