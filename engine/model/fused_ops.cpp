// Fused rotary embedding and SwiGLU; see fused_ops.h.
#include "model/fused_ops.h"

#include <torch/autograd.h>
#include <torch/nn/functional/activation.h>

#ifdef CTXLAB_CUDA_KERNELS
#include <c10/cuda/CUDAStream.h>

#include "model/cuda/fused_kernels.h"
#include "model/cuda/qkv_rope.h"
#endif

#include <cstdlib>
#include <cstring>

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

// The angles' strides for the kernels: cos [B or 1, 1, T, half] contiguous.
int64_t angle_batch_stride(const torch::Tensor& cos) {
  return cos.size(0) == 1 ? 0 : cos.stride(0);
}

// Whether the kernels take these angles for B rows of T tokens at head width dh: fp32 cos/sin
// [B or 1, 1, T, dh/2], contiguous, without gradient (CLEX's trained angles take ATen's path).
bool angles_fit(const torch::Tensor& cos, const torch::Tensor& sin, int64_t B, int64_t T,
                int64_t dh) {
  return cos.scalar_type() == torch::kFloat && sin.scalar_type() == torch::kFloat &&
         cos.dim() == 4 && cos.sizes() == sin.sizes() && cos.is_contiguous() &&
         sin.is_contiguous() && cos.size(1) == 1 && cos.size(2) == T &&
         (cos.size(0) == 1 || cos.size(0) == B) && 2 * cos.size(3) == dh && !cos.requires_grad() &&
         !sin.requires_grad();
}

// t [B, H, T, Dh] with a dense last dim, as the kernel reads it.
ctx::cuda::HeadGroup group(const torch::Tensor& t, bool rotate) {
  return {t.data_ptr(), t.size(1), t.stride(0), t.stride(1), t.stride(2), rotate};
}

// q, k, v [B, H, T, Dh] -> rotated where marked, into one contiguous [B, T, ΣH, Dh] buffer.
torch::Tensor rope_groups_launch(const std::vector<torch::Tensor>& parts,
                                 const std::vector<bool>& rotate, const torch::Tensor& cos,
                                 const torch::Tensor& sin, float sign) {
  std::vector<ctx::cuda::HeadGroup> groups;
  int64_t heads = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    groups.push_back(group(parts[i], rotate[i]));
    heads += parts[i].size(1);
  }
  const auto& p = parts[0];
  const int64_t B = p.size(0), T = p.size(2), Dh = p.size(3);
  auto out = torch::empty({B, T, heads, Dh}, p.options());
  ctx::cuda::rope_head_groups(kernel_dtype(p), groups.data(), static_cast<int>(groups.size()),
                              out.data_ptr(), B, T, Dh / 2, out.stride(0), out.stride(1),
                              cos.data_ptr<float>(), sin.data_ptr<float>(), angle_batch_stride(cos),
                              cos.stride(2), sign, stream());
  return out;
}

// x [B, H, T, Dh] -> rotated, in a fresh [B, T, H, Dh] buffer seen as [B, H, T, Dh].
torch::Tensor rope_launch(const torch::Tensor& x_in, const torch::Tensor& cos, const torch::Tensor& sin,
                          float sign) {
  const auto x = x_in.stride(-1) == 1 ? x_in : x_in.contiguous();
  return rope_groups_launch({x}, {true}, cos, sin, sign).transpose(1, 2);
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

// [B, T, (Hq + 2 Hkv)·Dh] -> the three [B, H, T, Dh] views of its heads.
std::vector<torch::Tensor> qkv_views(const torch::Tensor& qkv, int64_t hq, int64_t hkv,
                                     int64_t dh) {
  auto heads = qkv.view({qkv.size(0), qkv.size(1), hq + 2 * hkv, dh});
  return {heads.narrow(2, 0, hq).transpose(1, 2), heads.narrow(2, hq, hkv).transpose(1, 2),
          heads.narrow(2, hq + hkv, hkv).transpose(1, 2)};
}

struct QkvRopeKernel : torch::autograd::Function<QkvRopeKernel> {
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx,
                                                const torch::Tensor& qkv, const torch::Tensor& cos,
                                                const torch::Tensor& sin, int64_t hq, int64_t hkv) {
    const int64_t dh = qkv.size(-1) / (hq + 2 * hkv);
    auto in = qkv_views(qkv, hq, hkv, dh);
    auto qk =
        rope_groups_launch({in[0], in[1]}, {true, true}, cos, sin, 1.0f);  // [B, T, Hq + Hkv, Dh]
    ctx->save_for_backward({cos, sin});
    ctx->saved_data["dtype"] = static_cast<int64_t>(qkv.scalar_type());
    return {qk.narrow(2, 0, hq).transpose(1, 2), qk.narrow(2, hq, hkv).transpose(1, 2), in[2]};
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list g) {
    const auto saved = ctx->get_saved_variables();
    // Outputs without a gradient arrive as zeros (materialized grads, the default).
    const auto dtype = static_cast<torch::ScalarType>(ctx->saved_data["dtype"].toInt());
    std::vector<torch::Tensor> grads;
    for (const auto& gi : g) {
      auto t = gi.to(dtype);
      grads.push_back(t.stride(-1) == 1 ? t : t.contiguous());
    }
    auto d = rope_groups_launch(grads, {true, true, false}, saved[0], saved[1], -1.0f);
    return {d.flatten(2), torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor()};
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
  const bool fits = x.is_cuda() && x.dim() == 4 && kernel_dtype(x) >= 0 &&
                    angles_fit(cos, sin, x.size(0), x.size(2), x.size(3));
  return fits ? RopeKernel::apply(x, cos, sin) : torch::Tensor();
}

std::vector<torch::Tensor> split_rotate_qkv(const torch::Tensor& qkv, const torch::Tensor& cos,
                                            const torch::Tensor& sin, int64_t heads,
                                            int64_t kv_heads) {
  if (const char* e = std::getenv("CTXLAB_QKV_ROPE"); e && std::strcmp(e, "split") == 0) return {};
  const int64_t width = heads + 2 * kv_heads;
  if (!qkv.is_cuda() || qkv.dim() != 3 || kernel_dtype(qkv) < 0 || heads <= 0 || kv_heads <= 0 ||
      qkv.size(-1) % width != 0 || qkv.stride(-1) != 1 || qkv.stride(1) != qkv.size(-1))
    return {};
  if (!angles_fit(cos, sin, qkv.size(0), qkv.size(1), qkv.size(-1) / width)) return {};
  return QkvRopeKernel::apply(qkv, cos, sin, heads, kv_heads);
}

torch::Tensor swiglu(const torch::Tensor& gu) {
  if (gu.is_cuda() && kernel_dtype(gu) >= 0 && gu.size(-1) % 2 == 0 && gu.numel() > 0)
    return SwigluKernel::apply(gu);
  return swiglu_reference(gu);
}

#else

bool cuda_kernels_built() { return false; }

torch::Tensor rope_half_kernel(const torch::Tensor&, const torch::Tensor&, const torch::Tensor&) { return {}; }

std::vector<torch::Tensor> split_rotate_qkv(const torch::Tensor&, const torch::Tensor&,
                                            const torch::Tensor&, int64_t, int64_t) {
  return {};
}

torch::Tensor swiglu(const torch::Tensor& gu) { return swiglu_reference(gu); }

#endif

}  // namespace ctx
