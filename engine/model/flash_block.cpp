// Flash attention blocks through boxed dispatcher calls: arguments are matched to the schema by
// name (defaults fill the rest), returns read by position. Guessed for LibTorch 2.x without its
// headers here: forward "(output, logsumexp, cum_seq_q, cum_seq_k, max_q, max_k, philox_seed /
// rng_state, philox_offset / unused, debug_attn_mask)"; backward takes grad_out, query, key, value,
// out, logsumexp, cum_seq_q/k, max_q/k, dropout_p, is_causal, philox_seed, philox_offset, scale.
#include "model/flash_block.h"

#include <ATen/core/dispatch/Dispatcher.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>

#include "model/boxed_op.h"

namespace ctx {
namespace {

// Set after a failed call, per user: ring attention's flash blocks, the attention tape's kernels.
std::atomic<bool> g_failed{false};
std::atomic<bool> g_tape_failed{false};

using Args = OpArgs;

std::optional<std::vector<c10::IValue>> call_by_name(
    const char* op, const Args& args, std::atomic<bool>& failed = g_failed,
    const char* user = "ring attention", const char* fallback = "using exact attention blocks") {
  return call_op_by_name(op, args, failed, user, fallback);
}

// The backward arguments both kernels share, for a dense (not variable-length) block without
// dropout: no cumulative lengths; the random state is passed back, not read.
Args backward_args(const torch::Tensor& grad_out, const torch::Tensor& q, const torch::Tensor& k,
                   const torch::Tensor& v, const torch::Tensor& out, const torch::Tensor& lse,
                   bool causal, const torch::Tensor& seed, const torch::Tensor& offset) {
  const auto none = torch::Tensor();
  return {{"grad_out", grad_out},
          {"query", q},
          {"key", k},
          {"value", v},
          {"out", out},
          {"logsumexp", lse},
          {"cum_seq_q", none},
          {"cum_seq_k", none},
          {"max_q", q.size(2)},
          {"max_k", k.size(2)},
          {"dropout_p", 0.0},
          {"is_causal", causal},
          {"philox_seed", seed},
          {"philox_offset", offset}};
}

}  // namespace

bool flash_block_usable(const torch::Tensor& q, const torch::Tensor& k) {
  if (g_failed || !q.is_cuda()) return false;
  static const bool exact = [] {
    const char* e = std::getenv("CTXLAB_RING_KERNEL");
    return e && std::strcmp(e, "exact") == 0;
  }();
  if (exact) return false;
  const auto dt = q.scalar_type();
  if ((dt != torch::kBFloat16 && dt != torch::kHalf) || k.scalar_type() != dt) return false;
  const int64_t d = q.size(-1);
  if (d % 8 != 0 || d > 256) return false;
  static const bool present =
      c10::Dispatcher::singleton().findSchema({"aten::_scaled_dot_product_flash_attention", ""}).has_value() &&
      c10::Dispatcher::singleton()
          .findSchema({"aten::_scaled_dot_product_flash_attention_backward", ""})
          .has_value();
  return present;
}

std::optional<std::pair<torch::Tensor, torch::Tensor>> flash_block_forward(const torch::Tensor& q,
                                                                           const torch::Tensor& k,
                                                                           const torch::Tensor& v,
                                                                           bool causal) {
  auto r = call_by_name("aten::_scaled_dot_product_flash_attention",
                        {{"query", q.contiguous()},
                         {"key", k.contiguous()},
                         {"value", v.contiguous()},
                         {"dropout_p", 0.0},
                         {"is_causal", causal},
                         {"return_debug_mask", false}});
  if (!r || r->size() < 2) return std::nullopt;
  auto out = (*r)[0].toTensor(), lse = (*r)[1].toTensor();
  if (lse.dim() != 3 || lse.size(2) != q.size(2)) {  // a padded or differently laid out lse
    g_failed = true;
    return std::nullopt;
  }
  return std::make_pair(out, lse.to(torch::kFloat));
}

std::optional<FlashGrads> flash_block_backward(const torch::Tensor& q, const torch::Tensor& k,
                                               const torch::Tensor& v, const torch::Tensor& out,
                                               const torch::Tensor& grad_out, const torch::Tensor& lse,
                                               bool causal) {
  const auto seed = torch::zeros({}, torch::kLong);  // dropout 0: not read
  auto r = call_by_name(
      "aten::_scaled_dot_product_flash_attention_backward",
      backward_args(grad_out.to(q.scalar_type()).contiguous(), q.contiguous(), k.contiguous(),
                    v.contiguous(), out.to(q.scalar_type()).contiguous(), lse.contiguous(), causal,
                    seed, seed));
  if (!r || r->size() < 3) return std::nullopt;
  return FlashGrads{(*r)[0].toTensor(), (*r)[1].toTensor(), (*r)[2].toTensor()};
}

// ---- the attention tape's kernels (model/saved_attention.h) ----

namespace {

const char* forward_op(LseKernel k) {
  return k == LseKernel::cudnn ? "aten::_scaled_dot_product_cudnn_attention"
                               : "aten::_scaled_dot_product_flash_attention";
}
const char* backward_op(LseKernel k) {
  return k == LseKernel::cudnn ? "aten::_scaled_dot_product_cudnn_attention_backward"
                               : "aten::_scaled_dot_product_flash_attention_backward";
}

// Both kernels read any layout whose last dimension is dense; other layouts are copied.
torch::Tensor last_dim_dense(const torch::Tensor& t) {
  return t.stride(-1) == 1 ? t : t.contiguous();
}

constexpr const char* kTapeUser = "attention tape";
constexpr const char* kTapeFallback = "recomputing attention in checkpointed blocks";

}  // namespace

bool lse_kernel_usable(LseKernel kernel, const torch::Tensor& q, const torch::Tensor& k) {
  if (g_tape_failed || !q.is_cuda()) return false;
  const auto dt = q.scalar_type();
  if ((dt != torch::kBFloat16 && dt != torch::kHalf) || k.scalar_type() != dt) return false;
  const int64_t d = q.size(-1);
  if (d % 8 != 0 || d > (kernel == LseKernel::cudnn ? 128 : 256)) return false;
  // The flash kernel serves grouped-query attention itself; cuDNN's needs repeated heads.
  if (q.size(1) % k.size(1) != 0 || (kernel == LseKernel::cudnn && q.size(1) != k.size(1)))
    return false;
  auto& d_ = c10::Dispatcher::singleton();
  static const bool flash = d_.findSchema({forward_op(LseKernel::flash), ""}).has_value() &&
                            d_.findSchema({backward_op(LseKernel::flash), ""}).has_value();
  static const bool cudnn = d_.findSchema({forward_op(LseKernel::cudnn), ""}).has_value() &&
                            d_.findSchema({backward_op(LseKernel::cudnn), ""}).has_value();
  return kernel == LseKernel::cudnn ? cudnn : flash;
}

std::optional<LseForward> lse_attention_forward(LseKernel kernel, const torch::Tensor& q,
                                                const torch::Tensor& k, const torch::Tensor& v) {
  Args args{{"query", last_dim_dense(q)}, {"key", last_dim_dense(k)}, {"value", last_dim_dense(v)},
            {"dropout_p", 0.0},           {"is_causal", true},        {"return_debug_mask", false}};
  if (kernel == LseKernel::cudnn) {
    args.emplace("attn_bias", c10::IValue());
    args.emplace("compute_log_sumexp", true);
  }
  auto r = call_by_name(forward_op(kernel), args, g_tape_failed, kTapeUser, kTapeFallback);
  if (!r || r->size() < 8) return std::nullopt;
  LseForward f;
  f.kernel = kernel;
  f.out = (*r)[0].toTensor();
  f.lse = (*r)[1].toTensor();
  // Dense calls: no cumulative lengths; dropout 0: the random state is not read but passed back.
  f.seed = (*r)[6].isTensor() ? (*r)[6].toTensor() : torch::Tensor();
  f.offset = (*r)[7].isTensor() ? (*r)[7].toTensor() : torch::Tensor();
  return f;
}

std::optional<FlashGrads> lse_attention_backward(const LseForward& f, const torch::Tensor& q,
                                                 const torch::Tensor& k, const torch::Tensor& v,
                                                 const torch::Tensor& grad_out) {
  // The kernels expect the output's gradient laid out as the output.
  auto g = grad_out.to(f.out.scalar_type());
  if (g.strides() != f.out.strides())
    g = torch::empty_strided(f.out.sizes(), f.out.strides(), g.options()).copy_(g);
  const auto zero = torch::zeros({}, torch::kLong);
  auto args =
      backward_args(g, last_dim_dense(q), last_dim_dense(k), last_dim_dense(v), f.out, f.lse, true,
                    f.seed.defined() ? f.seed : zero, f.offset.defined() ? f.offset : zero);
  if (f.kernel == LseKernel::cudnn) args.emplace("attn_bias", torch::Tensor());
  auto r = call_by_name(backward_op(f.kernel), args, g_tape_failed, kTapeUser, kTapeFallback);
  if (!r || r->size() < 3) return std::nullopt;
  return FlashGrads{(*r)[0].toTensor(), (*r)[1].toTensor(), (*r)[2].toTensor()};
}

}  // namespace ctx
