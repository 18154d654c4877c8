// RoPE: angles in fp32 from explicit ids, cos/sin shared by all layers of one forward pass.
#include "model/rope.h"

#include <algorithm>
#include <cmath>

#include <torch/autograd.h>
#include <torch/nn/functional/activation.h>

#include "model/context_parallel.h"
#include "model/fused_ops.h"

namespace ctx {

torch::Tensor apply_rope(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin, RopePairing p) {
  const int64_t half = cos.size(-1);
  const int64_t rot = 2 * half;
  auto xr = rot == x.size(-1) ? x : x.narrow(-1, 0, rot);
  torch::Tensor out;
  if (p == RopePairing::Half) {
    auto a = xr.narrow(-1, 0, half), b = xr.narrow(-1, half, half);
    out = torch::cat({a * cos - b * sin, b * cos + a * sin}, -1);
  } else {
    auto pairs = xr.unflatten(-1, {half, 2});
    auto a = pairs.select(-1, 0), b = pairs.select(-1, 1);
    out = torch::stack({a * cos - b * sin, b * cos + a * sin}, -1).flatten(-2);
  }
  if (rot == x.size(-1)) return out;
  return torch::cat({out, x.narrow(-1, rot, x.size(-1) - rot)}, -1);
}

namespace {

// Half pairing over all of x's dims, written half by half into one output with x's layout:
// out_a = a cos - sign b sin, out_b = b cos + sign a sin. sign = -1 is the inverse rotation, which
// is also the rotation's gradient (R^T = R(-angle)). Four kernels and no intermediate tensors,
// where the reference's narrow/cat costs seven forward and about fifteen backward (zero-filled
// slice gradients added up).
torch::Tensor rotate_half_into(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                               double sign) {
  const int64_t half = cos.size(-1);
  auto out = torch::empty_like(x);
  auto a = x.narrow(-1, 0, half), b = x.narrow(-1, half, half);
  auto oa = out.narrow(-1, 0, half), ob = out.narrow(-1, half, half);
  at::mul_out(oa, a, cos).addcmul_(b, sin, -sign);
  at::mul_out(ob, b, cos).addcmul_(a, sin, sign);
  return out;
}

struct RotaryHalf : torch::autograd::Function<RotaryHalf> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& cos, const torch::Tensor& sin) {
    ctx->save_for_backward({cos, sin});
    return rotate_half_into(x, cos, sin, 1.0);
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list g) {
    const auto saved = ctx->get_saved_variables();
    return {rotate_half_into(g[0], saved[0], saved[1], -1.0), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor apply_rope_fast(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                              RopePairing p) {
  const bool whole_half = p == RopePairing::Half && 2 * cos.size(-1) == x.size(-1) && !cos.requires_grad() &&
                          !sin.requires_grad();
  if (whole_half) {
    auto y = rope_half_kernel(x, cos, sin);  // the CUDA kernel, fp32 angles, where built and fitting
    if (y.defined()) return y;
  }
  auto c = cos.to(x.scalar_type()), s = sin.to(x.scalar_type());
  return whole_half ? RotaryHalf::apply(x, c, s) : apply_rope(x, c, s, p);
}

RopeScheme::RopeScheme(const ModelConfig& model, const nlohmann::json& rope_scaling) : scaling_(rope_scaling) {
  const auto& p = model.position_params;
  base_ = rope_base_of(model);
  pairing_ = p.at("pairing") == "interleaved" ? RopePairing::Interleaved : RopePairing::Half;
  if (rope_scaling_name(scaling_) == "clex") {
    ClexOptions o;
    o.rot_dim = base_.rot_dim;
    o.theta = base_.theta;
    const double tb = scaling_.at("time_embedding_base").get<double>();
    o.time_base = tb > 0 ? tb : base_.theta;
    o.max_t = scaling_.at("max_factor").get<int64_t>();
    o.param_factor = scaling_.at("param_factor").get<int64_t>();
    o.time_dt = scaling_.at("time_dt").get<double>();
    o.act = scaling_.at("act").get<std::string>();
    o.scheme = scaling_.at("rk_scheme").get<std::string>();
    clex_L0_ = scaling_.at("original_max_position_embeddings").get<int64_t>();
    if (clex_L0_ <= 0) clex_L0_ = base_.max_positions;
    clex_log_scale_ = scaling_.at("log_scale").get<bool>();
    clex_ = register_module("clex", ClexOde(o));
  }
}

torch::Tensor RopeScheme::inv_freq_tensor(const torch::Tensor& positions, int64_t seq_len) {
  auto opts = torch::TensorOptions().dtype(torch::kFloat).device(positions.device());
  if (!clex_) {
    auto it = cache_.find(seq_len);
    if (it == cache_.end()) {
      if (cache_.size() > 64) cache_.clear();
      it = cache_.emplace(seq_len, frequencies(seq_len)).first;
    }
    last_ = it->second;
    if (inv_dev_len_ != seq_len || !inv_dev_.defined() || inv_dev_.device() != positions.device()) {
      inv_dev_ =
          torch::tensor(std::vector<float>(last_.inv_freq.begin(), last_.inv_freq.end()), opts);
      inv_dev_len_ = seq_len;
    }
    return inv_dev_;
  }
  // CLEX: the scale is read from the ids themselves: training ids of scale t span [0, L0·t), and at
  // inference t = ⌈L/L0⌉ — both are ⌈(max id + 1)/L0⌉, capped at max_t.
  const int64_t max_t = clex_->options().max_t;
  clex_t_ = std::clamp<int64_t>((seq_len + clex_L0_ - 1) / clex_L0_, 1, max_t);
  last_ = RopeFreqs{base_inv_freq(base_.rot_dim, base_.theta), 1.0, {{"rope_type", "clex"}, {"t", clex_t_}}};
  q_scale_ = clex_log_scale_ && !is_training() ? std::log(static_cast<double>(seq_len)) / std::log(static_cast<double>(clex_L0_)) : 1.0;
  if (clex_t_ == 1) return torch::tensor(std::vector<float>(last_.inv_freq.begin(), last_.inv_freq.end()), opts);
  if (is_training() && torch::GradMode::is_enabled()) {
    clex_grid_ = torch::Tensor();  // weights are changing: the evaluation grid is stale
    return torch::exp(clex_->solve(clex_t_)[clex_t_ - 1]).to(positions.device());
  }
  if (!clex_grid_.defined()) {
    torch::NoGradGuard ng;
    clex_grid_ = torch::exp(clex_->solve(max_t)).to(positions.device());
  }
  return clex_grid_[clex_t_ - 1];
}

RopeFreqs RopeScheme::frequencies(int64_t seq_len) const { return rope_frequencies(scaling_, base_, seq_len); }

bool RopeScheme::length_free() {
  // CLEX reads its scale t from the ids; the others are decided by their formula.
  if (length_free_ < 0) length_free_ = !clex_ && rope_scaling_length_free(scaling_, base_);
  return length_free_ == 1;
}

void RopeScheme::prepare(const torch::Tensor& positions) {
  // Length-dependent scalings (dynamic NTK, ...) see the span of ids actually present (the whole
  // sequence's when this rank holds only its context-parallel part): the length L with every id in
  // [0, L), i.e. floor(max id) + 1. For integer ids that is max + 1; fractional ids must not round
  // up into the next window: E2-LLM's (m + t)/g reach up to L0 - 1/g and are already interpolated
  // (ceil made that L0 + 1, so g = 2 was applied on top), and CLEX's training ids at s = L/L0 >= 3
  // reach L0*t - 2/s (ceil read scale t + 1 instead of the sampled t).
  // Length-free formulas (plain RoPE, PI, YaRN, Llama 3, ...) skip reading the ids back: that read
  // waits for the GPU to finish the previous step at every forward pass.
  const int64_t seq_len =
      sequence_sharded() ? sharded_span()
      : length_free()    ? positions.size(-1)
                         : static_cast<int64_t>(std::floor(positions.max().item<double>())) + 1;
  auto inv = inv_freq_tensor(positions, seq_len);
  auto angles = positions.to(torch::kFloat).unsqueeze(-1) * inv;  // [B, T, d/2]
  const auto af = static_cast<float>(last_.attention_factor);
  cos_ = (angles.cos() * af).unsqueeze(1);
  sin_ = (angles.sin() * af).unsqueeze(1);
}

RopeFreqs RopeScheme::frequencies_in_use(int64_t seq_len) {
  torch::NoGradGuard ng;
  const bool was_training = is_training();
  eval();
  auto ids = torch::arange(seq_len, torch::kFloat).unsqueeze(0);
  auto inv = inv_freq_tensor(ids, seq_len).to(torch::kCPU, torch::kDouble).contiguous();
  if (was_training) train();
  RopeFreqs f = clex_ ? last_ : frequencies(seq_len);
  f.inv_freq.assign(inv.data_ptr<double>(), inv.data_ptr<double>() + inv.numel());
  if (clex_) {
    f.resolved["t"] = clex_t_;
    f.resolved["trained_ode"] = true;
  }
  return f;
}

void RopeScheme::rotate(torch::Tensor& q, torch::Tensor& k, int64_t) {
  q = apply_rope_fast(q, cos_, sin_, pairing_);
  if (q_scale_ != 1.0) q = q * q_scale_;
  k = apply_rope_fast(k, cos_, sin_, pairing_);
}

std::vector<torch::Tensor> RopeScheme::split_rotated(const torch::Tensor& qkv, int64_t heads,
                                                     int64_t kv_heads, int64_t) {
  if (pairing_ != RopePairing::Half || q_scale_ != 1.0 || !cos_.defined()) return {};
  // The kernel's own checks cover the rest (whole heads rotated, angles without gradient).
  return split_rotate_qkv(qkv, cos_, sin_, heads, kv_heads);
}

nlohmann::json RopeScheme::describe() const {
  auto f = frequencies(base_.max_positions);
  nlohmann::json j = f.resolved;
  j["pairing"] = pairing_ == RopePairing::Half ? "half" : "interleaved";
  j["attention_factor"] = f.attention_factor;
  return j;
}

}  // namespace ctx
