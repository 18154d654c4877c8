// Attention kernels behind one signature; both LibTorch 1.13 (Debian) and 2.x (GPU machine) build.
#include "model/attention.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include <torch/version.h>
#if TORCH_VERSION_MAJOR >= 2
#include <ATen/ops/scaled_dot_product_attention.h>
#else
#include <ATen/ops/_scaled_dot_product_attention.h>
#endif

#include "model/context_parallel.h"
#include "model/saved_attention.h"

// SDPA's enable_gqa (2.5+): key/value heads shared by groups of query heads without copies.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 5)
#define CTXLAB_SDPA_GQA 1
#endif

namespace ctx {
namespace {

torch::Tensor causal_mask(int64_t tq, int64_t tk, const torch::Device& dev) {
  // True = masked. Query i sits at key index i + (tk - tq).
  auto qi = torch::arange(tq, torch::TensorOptions().dtype(torch::kLong).device(dev)).unsqueeze(1) + (tk - tq);
  auto kj = torch::arange(tk, torch::TensorOptions().dtype(torch::kLong).device(dev)).unsqueeze(0);
  return kj > qi;
}

}  // namespace

torch::Tensor repeat_kv_heads(const torch::Tensor& t, int64_t heads) {
  const int64_t rep = heads / t.size(1);
  return rep == 1 ? t : t.repeat_interleave(rep, 1);
}

std::pair<torch::Tensor, torch::Tensor> attend_explicit(const torch::Tensor& q,
                                                        const torch::Tensor& k_in,
                                                        const torch::Tensor& v_in,
                                                        const torch::Tensor& bias, bool causal) {
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
  const auto k = repeat_kv_heads(k_in, q.size(1)), v = repeat_kv_heads(v_in, q.size(1));
  auto logits = torch::matmul(q, k.transpose(-2, -1)).mul_(scale);
  if (bias.defined()) logits = logits + bias;
  if (causal)
    logits = logits.masked_fill(causal_mask(q.size(-2), k.size(-2), q.device()), -std::numeric_limits<float>::infinity());
  auto probs = torch::softmax(logits.to(torch::kFloat), -1).to(q.scalar_type());
  return {torch::matmul(probs, v), probs};
}

torch::Tensor attend(const torch::Tensor& q, const torch::Tensor& k_in, const torch::Tensor& v_in,
                     const torch::Tensor& bias, bool causal) {
  const int64_t heads = q.size(1);
  TORCH_CHECK(heads % k_in.size(1) == 0 && v_in.size(1) == k_in.size(1), "attend: ", heads,
              " query heads for ", k_in.size(1), " key/value heads");
  const bool square = q.size(-2) == k_in.size(-2);
  const bool plain_causal = causal && square && !bias.defined() && !sequence_sharded();
  if (plain_causal) {
    // In a checkpointed block: recorded in the first forward, replayed in the recomputation.
    if (auto out = taped_attention(q, k_in, v_in)) return *out;
  }
#ifdef CTXLAB_SDPA_GQA
  if (plain_causal && k_in.size(1) != heads)
    return at::scaled_dot_product_attention(q, k_in, v_in, {}, 0.0, true, std::nullopt, true);
#endif
  const auto k = repeat_kv_heads(k_in, heads), v = repeat_kv_heads(v_in, heads);
  if (sequence_sharded())
    return sharded_attention(q, k, v, bias, causal);  // context parallel: the ring
  if (bias.defined() || (causal && !square)) {
    // Fold the causal mask into the float bias: fused kernels take one or the other.
    torch::Tensor mask = bias.defined() ? bias : torch::zeros({1}, q.options());
    if (causal)
      mask = mask.masked_fill(causal_mask(q.size(-2), k.size(-2), q.device()), -std::numeric_limits<float>::infinity());
#if TORCH_VERSION_MAJOR >= 2
    return at::scaled_dot_product_attention(q, k, v, mask.to(q.scalar_type()), 0.0, false);
#else
    return attend_explicit(q, k, v, mask, false).first;
#endif
  }
#if TORCH_VERSION_MAJOR >= 2
  return at::scaled_dot_product_attention(q, k, v, {}, 0.0, causal);
#else
  return std::get<0>(at::_scaled_dot_product_attention(q, k, v, {}, 0.0, false, causal));
#endif
}

torch::Tensor attend_chunked(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                             const torch::Tensor& bias, int64_t chunk) {
  const int64_t T = q.size(2);
  std::vector<torch::Tensor> parts;
  for (int64_t r0 = 0; r0 < T; r0 += chunk) {
    const int64_t r1 = std::min(T, r0 + chunk);
    // Keys after r1 are all in the future of these rows: attend aligns the rows to the last keys.
    auto b = bias.defined() ? bias.narrow(-2, r0, r1 - r0).narrow(-1, 0, r1) : bias;
    parts.push_back(attend(q.narrow(2, r0, r1 - r0), k.narrow(2, 0, r1), v.narrow(2, 0, r1), b, true));
  }
  return parts.size() == 1 ? parts[0] : torch::cat(parts, 2);
}

}  // namespace ctx
