// E2-LLM (Liu et al., METHODS.md §4): a contiguous R = seq_len window whose ids are
// [0..n_sink-1] ∪ [n_sink+t .. R-1+t], all divided by g; g and t are redrawn every batch.
// The division by g is the PI factor, so positions are fractional and RoPE uses them as they are
// (no rope_scaling needed). The sink tokens are the window's first tokens (no BOS is inserted).
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

int64_t g_min(const nlohmann::json& p, int64_t seq, int64_t L) {
  return p["allow_small_g"].get<bool>() ? 1 : (seq + L - 1) / L;
}

int64_t t_max(int64_t g, int64_t L, int64_t seq) {
  return std::max<int64_t>(0, g * L - seq);
}

std::string check(const nlohmann::json& p, int64_t seq, int64_t max_positions,
                  const std::string& position) {
  const int64_t L = original_len(p, max_positions);
  if (p["n_sink"].get<int64_t>() >= seq)
    return "n_sink: " + p["n_sink"].dump() + " sink tokens leave no body in seq_len " +
           std::to_string(seq);
  const int64_t lo = g_min(p, seq, L), hi = p["g_max"].get<int64_t>();
  if (hi < lo)
    return "g_max: must be >= ceil(seq_len/original_len) = " + std::to_string(lo) + " (seq_len " +
           std::to_string(seq) + ", original_len " + std::to_string(L) + ")";
  if (position == "learned") {
    double top = 0;  // largest scaled id over every g that can be drawn
    for (int64_t g = lo; g <= hi; ++g)
      top = std::max(top, static_cast<double>(seq - 1 + t_max(g, L, seq)) / static_cast<double>(g));
    if (top > static_cast<double>(max_positions - 1))
      return "original_len: scaled ids reach " + std::to_string(top) +
             ", outside the learned position table (model.max_positions " +
             std::to_string(max_positions) + ")";
  }
  return "";
}

class E2LlmSampler : public PositionSampler {
 public:
  E2LlmSampler(const nlohmann::json& p, const SamplerContext& ctx)
      : seq_(ctx.seq_len),
        L_(original_len(p, ctx.max_positions)),
        g_lo_(g_min(p, ctx.seq_len, L_)),
        g_hi_(p["g_max"].get<int64_t>()),
        sink_(p["n_sink"].get<int64_t>()),
        per_sample_(p["per_sample"].get<bool>()),
        source_(ctx, seq_ + 1),
        g_(g_lo_) {}

  void begin_batch(Rng& rng) override {
    if (!per_sample_) draw(rng);
  }

  data::Example sample(Rng& rng) override {
    if (per_sample_) draw(rng);
    int64_t offset = 0;
    const auto window = source_.draw(rng, &offset);
    std::vector<int64_t> idx(static_cast<size_t>(seq_));
    std::vector<double> pos(static_cast<size_t>(seq_));
    for (int64_t i = 0; i < seq_; ++i) {
      idx[static_cast<size_t>(i)] = i;
      const int64_t id = i < sink_ ? i : i + t_;
      pos[static_cast<size_t>(i)] = static_cast<double>(id) / static_cast<double>(g_);
    }
    auto ex = gather_example(window, idx, pos, false);
    ex.info = {{"g", static_cast<double>(g_)},
               {"t", static_cast<double>(t_)},
               {"window_offset", static_cast<double>(offset)}};
    return ex;
  }

 private:
  void draw(Rng& rng) {
    g_ = rng.between(g_lo_, g_hi_);
    t_ = rng.between(0, t_max(g_, L_, seq_));
  }

  int64_t seq_, L_, g_lo_, g_hi_, sink_;
  bool per_sample_;
  WindowSource source_;
  int64_t g_, t_ = 0;  // until the first begin_batch: the smallest g, no offset
};

}  // namespace

MethodInfo sampler_e2llm_info() {
  MethodInfo m;
  m.kind = MethodKind::Sampler;
  m.name = "e2llm";
  m.doc =
      "E2-LLM (Liu et al.): contiguous seq_len window, ids = n_sink sink ids then an offset t "
      "body, all divided by a PI factor g; g and t redrawn per batch.";
  m.params = {
      {"original_len",
       ParamType::Int,
       0,
       0,
       1e9,
       {},
       "L, the model's original window (t_max = g*L - seq_len); 0 = model.max_positions"},
      {"g_max",
       ParamType::Int,
       20,
       1,
       1e5,
       {},
       "largest scale g; g ~ U{ceil(seq_len/L)..g_max} (paper: 20)"},
      {"n_sink", ParamType::Int, 4, 0, 1e9, {}, "leading tokens that keep offset 0 (paper: 4)"},
      {"per_sample",
       ParamType::Bool,
       false,
       -INFINITY,
       INFINITY,
       {},
       "draw g and t per example instead of once per batch (the paper: per iteration)"},
      {"allow_small_g",
       ParamType::Bool,
       false,
       -INFINITY,
       INFINITY,
       {},
       "draw g from {1..g_max} even when g*L < seq_len (scaled ids then exceed L; t = 0)"},
  };
  bind_checked_sampler<E2LlmSampler>(m, check);
  return m;
}

}  // namespace ctx
