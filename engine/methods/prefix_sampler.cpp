// Segmented-sequence training, prefix-α (METHODS.md §1): a scored suffix of α·L0 consecutive tokens
// at ids i.., preceded by (1−α)·L0 unscored tokens drawn from before i, all with their original
// ids.
#include <cmath>

#include "methods/registry.h"
#include "config/run_config.h"

namespace ctx {
namespace {

int64_t suffix_len(const nlohmann::json& p, int64_t seq) {
  return std::llround(p["alpha"].get<double>() * static_cast<double>(seq));
}

std::string check(const nlohmann::json& p, int64_t seq, int64_t max_positions,
                  const std::string& position) {
  const double alpha = p["alpha"].get<double>();
  const double s = alpha * static_cast<double>(seq);
  if (std::fabs(s - std::round(s)) > 1e-9)
    return "alpha: the suffix of alpha*seq_len = " + std::to_string(s) +
           " tokens is not whole (seq_len " + std::to_string(seq) + ")";
  if (suffix_len(p, seq) < 1) return "alpha: the suffix alpha*seq_len must hold at least 1 token";
  const int64_t target = p["factor"].get<int64_t>() * seq;
  if (position == "learned" && target > max_positions)
    return "factor: ids reach factor*seq_len-1 = " + std::to_string(target - 1) +
           ", outside the learned position table (model.max_positions " +
           std::to_string(max_positions) + ")";
  return "";
}

class PrefixSampler : public PositionSampler {
 public:
  PrefixSampler(const nlohmann::json& p, const SamplerContext& ctx)
      : seq_(ctx.seq_len),
        target_(p["factor"].get<int64_t>() * ctx.seq_len),
        suffix_(suffix_len(p, ctx.seq_len)),
        block_(p["prefix_mode"] == "block"),
        source_(ctx, target_ + 1, p["source"] == "packed_stream") {
    if (p["source"] == "document" && source_.packed())
      throw ConfigError(
          "train.positions.factor: prefix with source 'document' needs a training "
          "document of at least factor*seq_len+1 = " +
          std::to_string(target_ + 1) +
          " tokens and none is that long (lower factor or use source "
          "'packed_stream')");
  }

  data::Example sample(Rng& rng) override {
    int64_t offset = 0;
    const auto window = source_.draw(rng, &offset);  // target_+1 tokens: ids 0..target_-1
    const int64_t prefix = seq_ - suffix_;
    const int64_t i = rng.between(prefix, target_ - suffix_);  // suffix start
    std::vector<int64_t> idx;
    int64_t block_start = -1;
    if (block_) {
      block_start = rng.between(0, i - prefix);
      for (int64_t j = 0; j < prefix; ++j) idx.push_back(block_start + j);
    } else {
      idx = sorted_sample(rng, prefix, i);
    }
    for (int64_t j = 0; j < suffix_; ++j) idx.push_back(i + j);
    const std::vector<double> pos(idx.begin(), idx.end());
    auto ex = gather_example(window, idx, pos, false);
    for (int64_t j = 0; j < prefix; ++j) ex.loss_mask[static_cast<size_t>(j)] = 0;
    ex.info["suffix_start"] = static_cast<double>(i);
    if (block_) ex.info["block_start"] = static_cast<double>(block_start);
    ex.info["window_offset"] = static_cast<double>(offset);
    return ex;
  }

 private:
  int64_t seq_, target_, suffix_;
  bool block_;
  WindowSource source_;
};

}  // namespace

MethodInfo sampler_prefix_info() {
  MethodInfo m;
  m.kind = MethodKind::Sampler;
  m.name = "prefix";
  m.doc =
      "Segmented sequences, prefix-alpha (Karypis et al.): loss on an alpha*seq_len suffix at ids "
      "i.. of a factor*seq_len window; the prefix is drawn from before i, unscored.";
  m.params = {
      {"alpha",
       ParamType::Float,
       0.25,
       0.0,
       1.0,
       {},
       "suffix fraction: alpha*seq_len scored tokens (must be whole); the rest is the prefix"},
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
       "packed_stream: documents packed, BOS-separated"},
      {"prefix_mode",
       ParamType::Choice,
       "tokens",
       -INFINITY,
       INFINITY,
       {"tokens", "block"},
       "tokens: prefix = distinct positions drawn from [0, i), sorted; block: one contiguous run "
       "inside [0, i)"},
  };
  bind_checked_sampler<PrefixSampler>(m, check);
  return m;
}

}  // namespace ctx
