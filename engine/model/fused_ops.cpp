// Fused rotary embedding and SwiGLU; see fused_ops.h.
#include "model/fused_ops.h"

#include <torch/autograd.h>
#include <torch/nn/functional/activation.h>

#ifdef CTXLAB_CUDA_KERNELS
#include <c10/cuda/CUDAStream.h>

#include "model/cuda/fused_kernels.h"
#endif

namespace ctx {

torch::Tensor swiglu_reference(const torch::Tensor& gu) {
  auto parts = gu.chunk(2, -1);
  return torch::nn::functional::silu(parts[0]) * parts[1];
}

#ifdef CTXLAB_CUDA_KERNELS
namespace {

void* stream() { return c10::cuda::getCurrentCUDAStream().stream(); }

int kernel_dtype(const torch::Tensor& t) {
  if (t.scalar_type() == torch::kBFloat16) return 1;
  if (t.scalar_type() == torch::kFloat) return 0;
  return -1;
}

// x [B, H, T, Dh] -> rotated, in a fresh [B, T, H, Dh] buffer seen as [B, H, T, Dh].
torch::Tensor rope_launch(const torch::Tensor& x_in, const torch::Tensor& cos, const torch::Tensor& sin,
                          float sign) {
  const auto x = x_in.stride(-1) == 1 ? x_in : x_in.contiguous();
  const int64_t B = x.size(0), H = x.size(1), T = x.size(2), Dh = x.size(3);
  auto out = torch::empty({B, T, H, Dh}, x.options()).transpose(1, 2);
  ctx::cuda::rope_half(kernel_dtype(x), x.data_ptr(), cos.data_ptr<float>(), sin.data_ptr<float>(),
                       out.data_ptr(), B, H, T, Dh / 2, x.stride(0), x.stride(1), x.stride(2), out.stride(0),
                       out.stride(1), out.stride(2), cos.size(0) == 1 ? 0 : cos.stride(0), cos.stride(2),
                       sign, stream());
  return out;
}

struct RopeKernel : torch::autograd::Function<RopeKernel> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& cos, const torch::Tensor& sin) {
    ctx->save_for_backward({cos, sin});
    return rope_launch(x, cos, sin, 1.0f);
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list g) {
    const auto saved = ctx->get_saved_variables();
    return {rope_launch(g[0], saved[0], saved[1], -1.0f), torch::Tensor(), torch::Tensor()};
  }
};

struct SwigluKernel : torch::autograd::Function<SwigluKernel> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& gu_in) {
    const auto gu = gu_in.contiguous();
    const int64_t F = gu.size(-1) / 2, N = gu.numel() / (2 * F);
    auto sizes = gu.sizes().vec();
    sizes.back() = F;
    auto out = torch::empty(sizes, gu.options());
    ctx::cuda::swiglu_forward(kernel_dtype(gu), gu.data_ptr(), out.data_ptr(), N, F, 2 * F, stream());
    ctx->save_for_backward({gu});
    return out;
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list g) {
    const auto gu = ctx->get_saved_variables()[0];
    const auto dout = g[0].to(gu.scalar_type()).contiguous();
    const int64_t F = gu.size(-1) / 2, N = gu.numel() / (2 * F);
    auto dgu = torch::empty_like(gu);
    ctx::cuda::swiglu_backward(kernel_dtype(gu), gu.data_ptr(), dout.data_ptr(), dgu.data_ptr(), N, F, 2 * F,
                               stream());
    return {dgu};
  }
};

}  // namespace

bool cuda_kernels_built() { return true; }

torch::Tensor rope_half_kernel(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin) {
  const bool fits = x.is_cuda() && x.dim() == 4 && kernel_dtype(x) >= 0 && cos.scalar_type() == torch::kFloat &&
                    sin.scalar_type() == torch::kFloat && cos.dim() == 4 && cos.sizes() == sin.sizes() &&
                    cos.is_contiguous() && sin.is_contiguous() && cos.size(1) == 1 && cos.size(2) == x.size(2) &&
                    (cos.size(0) == 1 || cos.size(0) == x.size(0)) && 2 * cos.size(3) == x.size(3) &&
                    !cos.requires_grad() && !sin.requires_grad();
  return fits ? RopeKernel::apply(x, cos, sin) : torch::Tensor();
}

torch::Tensor swiglu(const torch::Tensor& gu) {
  if (gu.is_cuda() && kernel_dtype(gu) >= 0 && gu.size(-1) % 2 == 0 && gu.numel() > 0)
    return SwigluKernel::apply(gu);
  return swiglu_reference(gu);
}

#else

bool cuda_kernels_built() { return false; }

torch::Tensor rope_half_kernel(const torch::Tensor&, const torch::Tensor&, const torch::Tensor&) { return {}; }

torch::Tensor swiglu(const torch::Tensor& gu) { return swiglu_reference(gu); }

#endif

}  // namespace ctx
