// Launcher of the stacked rotary kernel (qkv_rope.cu), torch-free so that nvcc compiles only plain
// CUDA. One kernel reads up to three groups of heads, rotates the groups marked so (half pairing
// over all Dh dims, fp32 angles) and copies the others, writing one [B, T, ΣH, Dh] buffer:
//   forward   the q and k heads of the stacked q/k/v product [B, T, (Hq + 2 Hkv)·Dh] -> [B, T,
//             Hq + Hkv, Dh] rotated (v stays a view of the product);
//   backward  dq, dk, dv [B, H, T, Dh] in any layout -> d(product) [B, T, (Hq + 2 Hkv)·Dh], dq and
//             dk rotated back (sign = -1: R^T = R(-angle)) and dv copied,
// where the separate path costs a rotation per tensor each way and the split's gradient (a cat).
// dtype: 0 = fp32, 1 = bf16. Strides are in elements; every group's last dimension is contiguous.
#pragma once

#include <cstdint>

namespace ctx::cuda {

struct HeadGroup {
  const void* ptr = nullptr;  // element (b, h, t, 0) at ptr + b·sb + h·sh + t·st
  int64_t heads = 0, sb = 0, sh = 0, st = 0;
  bool rotate = false;
};

// Writes out[b, t, h, :] for h over the groups' heads in order (out's head stride is Dh = 2·half,
// its token stride ot, its batch stride ob). cos/sin fp32 [B or 1, T, half] with strides (cb, ct,
// 1); cb = 0 broadcasts one row of angles over the batch. At most three groups.
void rope_head_groups(int dtype, const HeadGroup* groups, int n_groups, void* out, int64_t B,
                      int64_t T, int64_t half, int64_t ob, int64_t ot, const float* cos,
                      const float* sin, int64_t cb, int64_t ct, float sign, void* stream);

}  // namespace ctx::cuda
