// iRPE 1-D causal adaptation: bucket function and its cached lookup, per-layer zero-initialised
// tables, the bucket gather into the logits, and delegation to the wrapped base scheme.
#include "model/irpe_positions.h"

#include <algorithm>
#include <cmath>

#include "model/absolute_positions.h"
#include "model/attention.h"
#include "model/rope.h"

namespace ctx {

int64_t irpe_piecewise_index(double x, double alpha, double beta, double gamma) {
  const double a = std::fabs(x);
  // std::nearbyint rounds half to even under the default rounding mode, as torch.round does.
  if (a <= alpha) return static_cast<int64_t>(std::nearbyint(x));
  const double y = std::min(
      beta, std::nearbyint(alpha + std::log(a / alpha) / std::log(gamma / alpha) * (beta - alpha)));
  // The reference clamps the float, then casts (truncation): a non-integer beta caps at
  // floor(beta).
  return (x < 0 ? -1 : 1) * static_cast<int64_t>(y);
}

torch::Tensor irpe_piecewise_index(const torch::Tensor& x, double alpha, double beta,
                                   double gamma) {
  auto xd = x.to(torch::kDouble);
  auto a = xd.abs();
  // log(0) = -inf only reaches the branch that torch::where discards.
  auto far = (alpha + (a / alpha).log() / std::log(gamma / alpha) * (beta - alpha))
                 .round()
                 .clamp_max(beta)
                 .trunc();
  return torch::where(a <= alpha, xd.round(), xd.sign() * far).to(torch::kLong);
}

namespace {

// The first integer distance whose bucket is max_bucket; g is non-decreasing in |x|, so every
// larger distance shares it.
int64_t saturation_distance(double alpha, double beta, double gamma, int64_t max_bucket) {
  auto bucket = [&](int64_t d) {
    return std::min(irpe_piecewise_index(static_cast<double>(d), alpha, beta, gamma), max_bucket);
  };
  int64_t hi = 1;
  while (bucket(hi) < max_bucket && hi < (int64_t{1} << 60)) hi *= 2;
  int64_t lo = 0;  // invariant: bucket(hi) == max_bucket; answer in [lo, hi]
  while (lo < hi) {
    const int64_t mid = lo + (hi - lo) / 2;
    if (bucket(mid) >= max_bucket)
      hi = mid;
    else
      lo = mid + 1;
  }
  return hi;
}

}  // namespace

IrpePositions::IrpePositions(const ModelConfig& model, const nlohmann::json& rope_scaling)
    : heads_(model.heads), head_dim_(model.head_dim()) {
  const nlohmann::json& p = model.position_params;
  contextual_ = p.value("mode", std::string("contextual")) == "contextual";
  const std::string on = p.value("on", std::string("k"));
  if (on.find('v') != std::string::npos)
    throw ConfigError(
        "model.position.on: the value term (v) is not supported: it needs the attention "
        "probabilities, which the model's attention hooks do not expose; use k, q or qk");
  on_k_ = on.find('k') != std::string::npos;
  on_q_ = on.find('q') != std::string::npos;
  if (!on_k_ && !on_q_)
    throw ConfigError("model.position.on: name at least one of k, q (got '" + on + "')");
  const std::string shared = p.value("shared_heads", std::string("auto"));
  // Paper Tab. 2: sharing costs bias mode 0.5 points, contextual mode 0.1 (within noise).
  shared_ = shared == "auto" ? contextual_ : shared == "true";
  alpha_ = p.value("alpha", 16.0);
  beta_ = p.value("beta", 32.0);
  gamma_ = p.value("gamma", 128.0);
  if (!(alpha_ > 0) || !(gamma_ > alpha_) || !(beta_ >= alpha_))
    throw ConfigError("model.position: iRPE needs 0 < alpha <= beta and gamma > alpha");
  max_bucket_ = static_cast<int64_t>(std::floor(beta_));
  sink_ = p.value("sink_bucket", false);
  base_name_ = p.value("base", std::string("nope"));

  if (base_name_ == "rope") {
    ModelConfig m = model;
    m.position = "rope";
    m.position_params = {
        {"theta", p.value("rope_theta", 10000.0)}, {"pairing", "half"}, {"rotary_fraction", 1.0}};
    base_ = std::make_shared<RopeScheme>(m, rope_scaling);
  } else if (base_name_ == "learned") {
    base_ = std::make_shared<LearnedPositions>(model.max_positions, model.d_model);
  } else if (base_name_ != "nope") {
    throw ConfigError("model.position.base: unknown base '" + base_name_ +
                      "' (one of: nope, rope, learned)");
  }
  if (base_) register_module("base", base_);

  // Zero init: a fresh iRPE adds exactly nothing, so it can be added to a trained base model.
  const int64_t hh = shared_ ? 1 : heads_, nb = num_buckets();
  for (int64_t l = 0; l < model.layers; ++l) {
    const auto s = std::to_string(l);
    if (!contextual_) {
      bias_tables_.push_back(register_parameter("bias_" + s, torch::zeros({hh, nb})));
      continue;
    }
    if (on_k_) k_tables_.push_back(register_parameter("k_" + s, torch::zeros({hh, head_dim_, nb})));
    if (on_q_) q_tables_.push_back(register_parameter("q_" + s, torch::zeros({hh, head_dim_, nb})));
  }
}

torch::Tensor IrpePositions::table(const std::string& site, int64_t layer) const {
  const auto& v = site == "k" ? k_tables_ : site == "q" ? q_tables_ : bias_tables_;
  return v.at(static_cast<size_t>(layer));
}

torch::Tensor IrpePositions::buckets_of(const torch::Tensor& d) {
  // One host sync for both facts: are all distances integers, and how far do they reach.
  auto stats = torch::stack({(d != d.round()).any().to(torch::kDouble), d.max()}).cpu();
  if (stats[0].item<double>() != 0)  // fractional ids: g itself rounds inside alpha
    return irpe_piecewise_index(d, alpha_, beta_, gamma_).clamp_(0, max_bucket_);
  // Integer distances: a lookup bucket[d], grown on demand up to the saturation distance S
  // (every d >= S is bucket B), so neither long inputs nor huge id gaps grow it further.
  const int64_t sat = saturation_distance(alpha_, beta_, gamma_, max_bucket_);
  const int64_t need = std::min(static_cast<int64_t>(stats[1].item<double>()), sat) + 1;
  if (static_cast<int64_t>(lut_.size()) < need || !lut_dev_.defined() ||
      lut_dev_.device() != d.device()) {
    for (int64_t x = static_cast<int64_t>(lut_.size()); x < need; ++x)
      lut_.push_back(std::min(irpe_piecewise_index(static_cast<double>(x), alpha_, beta_, gamma_),
                              max_bucket_));
    lut_dev_ = torch::tensor(lut_, torch::TensorOptions().dtype(torch::kLong)).to(d.device());
  }
  auto dl = d.to(torch::kLong).clamp_max_(sat);
  return lut_dev_.index_select(0, dl.flatten()).view(dl.sizes());
}

void IrpePositions::prepare(const torch::Tensor& positions) {
  if (base_) base_->prepare(positions);
  // d_ij = p(i) - p(j) in float64 (exact for any float32 ids); negative distances (only from
  // decreasing ids, never produced by a sampler) share bucket 0 rather than indexing out of range.
  auto p = positions.to(torch::kDouble);
  auto d = (p.unsqueeze(-1) - p.unsqueeze(-2)).clamp_min_(0);  // [B, T, T]
  auto idx = buckets_of(d);
  // Pairs whose key is the window's first token (BOS / attention sink) get a bucket of their own.
  if (sink_) idx.select(-1, 0).fill_(max_bucket_ + 1);
  idx_ = idx.unsqueeze(1);  // [B, 1, T, T]
}

torch::Tensor IrpePositions::embed(const torch::Tensor& h) {
  return base_ ? base_->embed(h) : h;
}

void IrpePositions::rotate(torch::Tensor& q, torch::Tensor& k, int64_t layer) {
  // The contextual terms use q, k before the base's rotation, so q_i . r_b stays a function of
  // content and distance only (with a rope base, rotated q would tie it to the absolute id).
  if (contextual_) {
    q0_ = q;
    k0_ = k;
    stash_layer_ = layer;
  }
  if (base_) base_->rotate(q, k, layer);
}

torch::Tensor IrpePositions::logit_bias(const torch::Tensor& q, const torch::Tensor& k,
                                        int64_t layer) {
  TORCH_CHECK(idx_.defined(), "IrpePositions: logit_bias before prepare");
  const int64_t T = idx_.size(-1), Tq = q.size(-2), Tk = k.size(-2);
  TORCH_CHECK(Tk == T && Tq <= T, "IrpePositions: ", Tk, " keys for ", T, " prepared ids");
  auto idx = Tq == T ? idx_ : idx_.narrow(2, T - Tq, Tq);
  const auto l = static_cast<size_t>(layer);
  if (!contextual_) {
    // Input-independent: one [B|1, H|1, Tq, Tk] tensor, added to the already-scaled logits (as
    // the reference does: no 1/sqrt(d) on a learned scalar).
    auto tab = bias_tables_.at(l);
    return tab.index_select(1, idx.reshape({-1}))
        .view({tab.size(0), idx.size(0), Tq, Tk})
        .transpose(0, 1);
  }
  torch::Tensor qq = q, kk = k;
  if (stash_layer_ == layer) {
    qq = q0_;
    kk = k0_;
    // Stashed before grouped key heads were repeated for their query heads (llama's GQA).
    kk = repeat_kv_heads(kk, q.size(1));
  }
  // Drop the stash now: holding it would keep this layer's activations alive past the step.
  q0_ = torch::Tensor();
  k0_ = torch::Tensor();
  stash_layer_ = -1;
  auto full = idx.expand({q.size(0), q.size(1), Tq, Tk});
  torch::Tensor bias;
  // Per bucket first (q R: [B, H, Tq, buckets]), then gather: O(T * buckets * d) + O(T^2).
  if (on_k_) bias = torch::gather(torch::matmul(qq, k_tables_.at(l).to(q.scalar_type())), -1, full);
  if (on_q_) {
    // k_j . r_b(i-j): per key and bucket, gathered along the bucket axis of its transpose. Same
    // bucket b(i - j) as the key term, not the reference's reversed offset (always < 0 here).
    auto t = torch::gather(torch::matmul(kk, q_tables_.at(l).to(k.scalar_type())).transpose(-1, -2),
                           -2, full);
    bias = bias.defined() ? bias + t : t;
  }
  // The reference pre-scales q (and k for the query term): both terms carry 1/sqrt(Dh).
  return bias * (1.0 / std::sqrt(static_cast<double>(head_dim_)));
}

int64_t IrpePositions::max_position() const {
  return base_ ? base_->max_position() : 0;
}

torch::Tensor IrpePositions::adapt_loaded(const std::string& name, const torch::Tensor& loaded) {
  if (!base_ || name.rfind("base.", 0) != 0) return {};
  return base_->adapt_loaded(name.substr(5), loaded);
}

nlohmann::json IrpePositions::describe() const {
  nlohmann::json j{{"mode", contextual_ ? "contextual" : "bias"},
                   {"on", std::string(on_q_ ? "q" : "") + (on_k_ ? "k" : "")},
                   {"shared_heads", shared_},
                   {"alpha", alpha_},
                   {"beta", beta_},
                   {"gamma", gamma_},
                   {"max_bucket", max_bucket_},
                   {"buckets", num_buckets()},
                   {"saturates_at", saturation_distance(alpha_, beta_, gamma_, max_bucket_)},
                   {"sink_bucket", sink_},
                   {"value_term", false},
                   {"base", base_name_}};
  if (base_) j["base_resolved"] = base_->describe();
  return j;
}

}  // namespace ctx
