// The chunked loss as a custom autograd function: forward computes the loss and, when a graph is
// wanted, the gradients of hidden and W for a unit output gradient; backward scales them. Per
// chunk, the softmax and its gradient are either CtxLab's fused kernel over bf16 logits
// (model/cuda/cross_entropy.h: CUDA, gradients wanted; CTXLAB_CE=aten turns it off for an A/B) or
// the readable ATen sequence below, which the tests hold the kernel to.
#include "model/chunked_loss.h"

#include <torch/autograd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>

#ifdef CTXLAB_CUDA_KERNELS
#include <c10/cuda/CUDAStream.h>

#include "model/cuda/cross_entropy.h"
#endif

namespace ctx {
namespace {

std::atomic<int64_t> g_fused_chunks{0};

// Whether the chunk's bf16 logits go through the fused kernel.
bool fused_chunk(const torch::Tensor& logits) {
#ifdef CTXLAB_CUDA_KERNELS
  const char* e = std::getenv("CTXLAB_CE");
  const bool off = e && std::strcmp(e, "aten") == 0;
  return !off && logits.is_cuda() && logits.scalar_type() == torch::kBFloat16 &&
         logits.dim() == 2 && logits.stride(1) == 1;
#else
  (void)logits;
  return false;
#endif
}

// The fused chunk: the weighted loss sum of the rows, and `logits` overwritten by d loss / d logits
// (scaled by row_scale). [n, V] logits bf16; t [n] int64; wc, row_scale [n] fp32.
[[maybe_unused]] torch::Tensor fused_chunk_loss(torch::Tensor& logits, const torch::Tensor& t,
                                                const torch::Tensor& wc,
                                                const torch::Tensor& row_scale) {
#ifdef CTXLAB_CUDA_KERNELS
  const int64_t n = logits.size(0);
  auto targets = t.contiguous();
  auto w = wc.contiguous();
  auto scale = row_scale.contiguous();
  auto row_loss = torch::empty({n}, logits.options().dtype(torch::kFloat));
  cuda::cross_entropy_rows_bf16(logits.data_ptr(), n, logits.size(1), logits.stride(0),
                                targets.data_ptr<int64_t>(), w.data_ptr<float>(),
                                scale.data_ptr<float>(), row_loss.data_ptr<float>(),
                                c10::cuda::getCurrentCUDAStream().stream());
  ++g_fused_chunks;
  return row_loss.sum();
#else
  (void)logits, (void)t, (void)wc, (void)row_scale;
  return {};
#endif
}

struct ChunkedCE : torch::autograd::Function<ChunkedCE> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& hidden,
                               const torch::Tensor& W, const torch::Tensor& targets,
                               const c10::optional<torch::Tensor>& row_weights, int64_t chunk) {
    const torch::Tensor weights = row_weights.has_value() ? *row_weights : torch::Tensor();
    const int64_t N = hidden.size(0);
    const bool need_h = hidden.requires_grad(), need_w = W.requires_grad();
    auto w = weights.defined() ? weights.to(torch::kFloat)
                               : torch::ones({N}, hidden.options().dtype(torch::kFloat));
    const auto denom = w.sum().clamp_min(1.0);
    auto total = torch::zeros({}, hidden.options().dtype(torch::kFloat));
    torch::Tensor grad_h = need_h ? torch::empty_like(hidden) : torch::Tensor();
    // W's gradient in W's dtype. bf16 weights: each chunk's product is added inside the GEMM
    // (addmm_, fp32 accumulation, one bf16 rounding per chunk); fp32 weights under autocast: the
    // bf16 products are summed in fp32.
    torch::Tensor grad_w = need_w ? torch::zeros_like(W) : torch::Tensor();
    for (int64_t r0 = 0; r0 < N; r0 += chunk) {
      const int64_t n = std::min(chunk, N - r0);
      auto h = hidden.narrow(0, r0, n);
      auto t = targets.narrow(0, r0, n).unsqueeze(1);
      auto wc = w.narrow(0, r0, n);
      auto logits = torch::matmul(h, W.t());  // [n, V], the product's dtype
      if ((need_h || need_w) && fused_chunk(logits)) {
        const auto row_scale = (wc / denom).to(torch::kFloat);
        total += fused_chunk_loss(logits, t.squeeze(1), wc, row_scale);
        const auto& gc = logits;  // now d loss / d logits, row scale included
        if (need_h) grad_h.narrow(0, r0, n).copy_(torch::matmul(gc, W));
        if (need_w) {
          if (grad_w.scalar_type() == gc.scalar_type())
            grad_w.addmm_(gc.t(), h.to(gc.scalar_type()));
          else
            grad_w.add_(torch::matmul(gc.t(), h.to(gc.scalar_type())));
        }
        continue;
      }
      auto logp = torch::log_softmax(logits, 1, torch::kFloat);  // fp32 statistics
      total -= (logp.gather(1, t).squeeze(1) * wc).sum();
      if (!need_h && !need_w) continue;
      // d loss / d logits = (softmax - onehot) * w_i / denom; the row weights scale the [n, d] sides
      // of the two products instead of the [n, V] gradient.
      auto g = logp.exp_();
      g.scatter_add_(1, t, -torch::ones({n, 1}, g.options()));
      auto gc = g.to(logits.scalar_type());
      const auto row_scale = (wc / denom).unsqueeze(1);
      if (need_h)
        grad_h.narrow(0, r0, n).copy_(torch::matmul(gc, W) * row_scale);
      if (need_w) {
        auto hs = (h * row_scale).to(gc.scalar_type());
        if (grad_w.scalar_type() == gc.scalar_type())
          grad_w.addmm_(gc.t(), hs);
        else
          grad_w.add_(torch::matmul(gc.t(), hs));
      }
    }
    ctx->save_for_backward({grad_h, grad_w});
    return total / denom;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_out) {
    auto saved = ctx->get_saved_variables();
    const auto scale = grad_out[0];
    torch::Tensor gh =
        saved[0].defined() ? saved[0] * scale.to(saved[0].scalar_type()) : torch::Tensor();
    torch::Tensor gw = saved[1].defined() ? saved[1] * scale : torch::Tensor();
    return {gh, gw, torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor chunked_cross_entropy(const torch::Tensor& hidden, const torch::Tensor& W,
                                    const torch::Tensor& targets, const torch::Tensor& weights,
                                    int64_t chunk_rows) {
  // Optional, not an undefined tensor: autograd records every tensor input's device.
  return ChunkedCE::apply(hidden, W, targets,
                          weights.defined() ? c10::optional<torch::Tensor>(weights) : c10::nullopt,
                          std::max<int64_t>(1, chunk_rows));
}

torch::Tensor chunked_token_losses(const torch::Tensor& hidden, const torch::Tensor& W,
                                   const torch::Tensor& targets, int64_t chunk_rows) {
  torch::NoGradGuard ng;
  const int64_t N = hidden.size(0), chunk = std::max<int64_t>(1, chunk_rows);
  auto out = torch::empty({N}, hidden.options().dtype(torch::kFloat));
  for (int64_t r0 = 0; r0 < N; r0 += chunk) {
    const int64_t n = std::min(chunk, N - r0);
    auto logp = torch::log_softmax(torch::matmul(hidden.narrow(0, r0, n), W.t()), 1, torch::kFloat);
    out.narrow(0, r0, n).copy_(-logp.gather(1, targets.narrow(0, r0, n).unsqueeze(1)).squeeze(1));
  }
  return out;
}

int64_t fused_cross_entropy_chunks() {
  return g_fused_chunks.load();
}

int64_t loss_chunk_rows(int64_t vocab, int64_t budget_bytes) {
  return std::max<int64_t>(1, budget_bytes / (4 * std::max<int64_t>(1, vocab)));
}

}  // namespace ctx
