// Randomized positions (Ruoss et al., METHODS.md §8.9; RandomPos / PoSE's RandPos baseline):
// ordinary contiguous text whose ids are seq_len distinct integers from [0, Lmax), sorted.
#include <cmath>

#include "config/run_config.h"
#include "methods/randpos_ids.h"
#include "methods/registry.h"

namespace ctx {
namespace {

std::string check(const nlohmann::json& p, int64_t seq, int64_t max_positions,
                  const std::string& position) {
  const int64_t lmax = randpos_id_range(p, seq);
  if (lmax < seq)
    return "max_len: " + std::to_string(lmax) + " ids cannot hold seq_len " + std::to_string(seq) +
           " distinct positions";
  if (position == "learned" && lmax > max_positions)
    return std::string(p["max_len"].get<int64_t>() > 0 ? "max_len" : "factor") + ": ids reach " +
           std::to_string(lmax - 1) + ", outside the learned position table (model.max_positions " +
           std::to_string(max_positions) + ")";
  return "";
}

class RandPosSampler : public PositionSampler {
 public:
  RandPosSampler(const nlohmann::json& p, const SamplerContext& ctx)
      : seq_(ctx.seq_len), max_len_(randpos_id_range(p, ctx.seq_len)), source_(ctx, seq_ + 1) {}

  data::Example sample(Rng& rng) override {
    int64_t offset = 0;
    const auto window = source_.draw(rng, &offset);
    std::vector<int64_t> idx(static_cast<size_t>(seq_));
    for (int64_t i = 0; i < seq_; ++i) idx[static_cast<size_t>(i)] = i;
    const auto ids = sorted_sample(rng, seq_, max_len_);
    auto ex = gather_example(window, idx, std::vector<double>(ids.begin(), ids.end()), false);
    ex.info["window_offset"] = static_cast<double>(offset);
    return ex;
  }

 private:
  int64_t seq_, max_len_;
  WindowSource source_;
};

}  // namespace

MethodInfo sampler_randpos_info() {
  MethodInfo m;
  m.kind = MethodKind::Sampler;
  m.name = "randpos";
  m.doc =
      "Randomized positions (Ruoss et al.; RandomPos baseline): contiguous text, ids = seq_len "
      "distinct sorted integers from [0, Lmax).";
  m.params = {
      {"factor", ParamType::Int, 4, 1, 1e6, {}, "Lmax = factor*seq_len (unless max_len is set)"},
      {"max_len",
       ParamType::Int,
       0,
       0,
       1e9,
       {},
       "Lmax directly (noise_max_length in the reference code); 0 = use factor"},
  };
  bind_checked_sampler<RandPosSampler>(m, check);
  return m;
}

}  // namespace ctx
