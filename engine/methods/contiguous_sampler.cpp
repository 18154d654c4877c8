// The plain sampler: a window of seq_len+1 consecutive tokens, ids 0..T-1 (or the window's offset
// in its document, for offset-position training), every target scored.
#include <cmath>

#include "methods/registry.h"

namespace ctx {
namespace {

class ContiguousSampler : public PositionSampler {
 public:
  ContiguousSampler(const SamplerContext& ctx, bool keep_offset)
      : source_(ctx, ctx.seq_len + 1), seq_(ctx.seq_len), keep_offset_(keep_offset) {}

  data::Example sample(Rng& rng) override {
    int64_t offset = 0;
    auto w = source_.draw(rng, &offset);
    return window_example(w.data(), seq_, keep_offset_ ? offset : 0);
  }

 private:
  WindowSource source_;
  int64_t seq_;
  bool keep_offset_;
};

}  // namespace

MethodInfo sampler_contiguous_info() {
  MethodInfo m;
  m.kind = MethodKind::Sampler;
  m.name = "contiguous";
  m.doc = "Consecutive tokens with ids 0..T-1 (ordinary training).";
  m.params = {{"keep_offset", ParamType::Bool, false, -INFINITY, INFINITY, {},
               "use the window's offset in its document as the first id instead of 0"}};
  m.sampler = [](const nlohmann::json& p, const SamplerContext& ctx) -> std::unique_ptr<PositionSampler> {
    return std::make_unique<ContiguousSampler>(ctx, p["keep_offset"].get<bool>());
  };
  return m;
}

}  // namespace ctx
