// CLEX training positions (METHODS.md §2, CLEX/clex_layer.py): per batch an integer scale
// t ~ U{min_t..max_t}; ids = 0, then L-2 distinct sorted integers of {0..L·t-3} plus 1, divided by
// s = max(1, L // L0), then floor(L·t/s)-1 (L = seq_len). The sampled t is recorded as info["t"]:
// the CLEX RoPE scaling (the ODE over t) reads it to pick its frequencies; this file only samples.
// As in the code, the appended last id can lie below the largest drawn one when s > 1 (by < 1).
#include <algorithm>
#include <cmath>

#include "methods/registry.h"
#include "config/run_config.h"

namespace ctx {
namespace {

int64_t original_len(const nlohmann::json& p, int64_t max_positions) {
  const int64_t given = p["original_len"].get<int64_t>();
  return given > 0 ? given : max_positions;
}

std::string check(const nlohmann::json& p, int64_t seq, int64_t max_positions,
                  const std::string& position) {
  if (seq < 2) return "seq_len: clex_positions needs seq_len >= 2";
  const int64_t lo = p["min_t"].get<int64_t>(), hi = p["max_t"].get<int64_t>();
  if (lo > hi) return "min_t: must be <= max_t (" + std::to_string(hi) + ")";
  const int64_t s = std::max<int64_t>(1, seq / original_len(p, max_positions));
  const int64_t top = seq * hi / s - 1;
  if (position == "learned" && top > max_positions - 1)
    return "max_t: ids reach " + std::to_string(top) +
           ", outside the learned position table (model.max_positions " +
           std::to_string(max_positions) + ")";
  return "";
}

class ClexPositionsSampler : public PositionSampler {
 public:
  ClexPositionsSampler(const nlohmann::json& p, const SamplerContext& ctx)
      : seq_(ctx.seq_len),
        s_(std::max<int64_t>(1, ctx.seq_len / original_len(p, ctx.max_positions))),
        min_t_(p["min_t"].get<int64_t>()),
        max_t_(p["max_t"].get<int64_t>()),
        per_example_(p["per_example_positions"].get<bool>()),
        source_(ctx, seq_ + 1),
        t_(min_t_) {
    Rng fixed(0);  // positions for a sample() before any begin_batch
    shared_ = positions(t_, fixed);
  }

  void begin_batch(Rng& rng) override {
    t_ = rng.between(min_t_, max_t_);
    if (!per_example_) shared_ = positions(t_, rng);
  }

  data::Example sample(Rng& rng) override {
    int64_t offset = 0;
    const auto window = source_.draw(rng, &offset);
    std::vector<int64_t> idx(static_cast<size_t>(seq_));
    for (int64_t i = 0; i < seq_; ++i) idx[static_cast<size_t>(i)] = i;
    auto ex = gather_example(window, idx, per_example_ ? positions(t_, rng) : shared_, false);
    ex.info = {{"t", static_cast<double>(t_)},
               {"s", static_cast<double>(s_)},
               {"window_offset", static_cast<double>(offset)}};
    return ex;
  }

 private:
  // The code's positions for scale t (get_random_position_ids and the two fixed ends).
  std::vector<double> positions(int64_t t, Rng& rng) const {
    const int64_t L = seq_;
    const auto drawn = sorted_sample(rng, L - 2, L * t - 2);
    std::vector<double> pos;
    pos.reserve(static_cast<size_t>(L));
    pos.push_back(0.0);
    for (auto x : drawn) pos.push_back(static_cast<double>(x + 1) / static_cast<double>(s_));
    pos.push_back(static_cast<double>(L * t / s_ - 1));
    return pos;
  }

  int64_t seq_, s_, min_t_, max_t_;
  bool per_example_;
  WindowSource source_;
  int64_t t_;
  std::vector<double> shared_;  // this batch's positions (the code draws one set per forward)
};

}  // namespace

MethodInfo sampler_clex_positions_info() {
  MethodInfo m;
  m.kind = MethodKind::Sampler;
  m.name = "clex_positions";
  m.doc =
      "CLEX training positions: per batch an integer t, seq_len random sorted ids spanning "
      "[0, L0*t) in steps of 1/s; info t drives the CLEX frequency ODE.";
  m.params = {
      {"original_len",
       ParamType::Int,
       0,
       0,
       1e9,
       {},
       "L0, the pre-training length (s = max(1, seq_len // L0)); 0 = model.max_positions"},
      {"max_t", ParamType::Int, 16, 1, 1e6, {}, "largest scale t (max_factor; code default 16)"},
      {"min_t",
       ParamType::Int,
       1,
       1,
       1e6,
       {},
       "smallest scale t (code: 1; its first commit used 2)"},
      {"per_example_positions",
       ParamType::Bool,
       false,
       -INFINITY,
       INFINITY,
       {},
       "draw the ids per example; default: one set per batch, as the code (per forward pass)"},
  };
  bind_checked_sampler<ClexPositionsSampler>(m, check);
  return m;
}

}  // namespace ctx
