// The fused cross-entropy of cross_entropy.h: one block per row. Pass 1 reads the row once for an
// online maximum and sum of exponentials per thread (merged across the block), pass 2 reads it
// again (mostly from L2: a 32k-vocabulary bf16 row is 64 KB) and writes the scaled gradient in
// place. 16-byte loads of 8 bf16 values where the row allows, one value at a time otherwise.
// Assumes: rows of at least one element; sizes fit int64.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>

#include "model/cuda/cross_entropy.h"

namespace ctx::cuda {
namespace {

constexpr int kThreads = 512;

struct MaxSum {
  float m, s;  // running maximum, Σ exp(x − m)
};

__device__ __forceinline__ MaxSum merge(MaxSum a, MaxSum b) {
  const float m = fmaxf(a.m, b.m);
  if (m == -INFINITY) return {m, 0.f};
  return {m, a.s * __expf(a.m - m) + b.s * __expf(b.m - m)};
}

__device__ __forceinline__ void add(MaxSum& a, float x) {
  if (x > a.m) {
    a.s = a.s * __expf(a.m - x) + 1.f;
    a.m = x;
  } else {
    a.s += __expf(x - a.m);
  }
}

// The block's (max, sum): warp shuffles, then one warp over the warps' results.
__device__ MaxSum block_merge(MaxSum v) {
  __shared__ MaxSum warps[kThreads / 32];
  __shared__ MaxSum result;
  for (int o = 16; o > 0; o >>= 1) {
    MaxSum other{__shfl_xor_sync(0xffffffffu, v.m, o), __shfl_xor_sync(0xffffffffu, v.s, o)};
    v = merge(v, other);
  }
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  if (lane == 0) warps[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = lane < kThreads / 32 ? warps[lane] : MaxSum{-INFINITY, 0.f};
    for (int o = 16; o > 0; o >>= 1) {
      MaxSum other{__shfl_xor_sync(0xffffffffu, v.m, o), __shfl_xor_sync(0xffffffffu, v.s, o)};
      v = merge(v, other);
    }
    if (lane == 0) result = v;
  }
  __syncthreads();
  return result;
}

union Pack {
  uint4 raw;
  __nv_bfloat162 h2[4];
};

template <bool kVector>
__global__ void __launch_bounds__(kThreads)
    ce_rows_kernel(__nv_bfloat16* logits, int64_t V, int64_t ld, const int64_t* targets,
                   const float* weight, const float* scale, float* row_loss) {
  const int64_t row = blockIdx.x;
  __nv_bfloat16* x = logits + row * ld;
  const int64_t t = targets[row];
  const bool valid = t >= 0 && t < V;
  // The target's logit, read before pass 2 overwrites it (block_merge's barriers lie between).
  const float xt = valid && threadIdx.x == 0 ? __bfloat162float(x[t]) : 0.f;

  MaxSum acc{-INFINITY, 0.f};
  if (kVector) {
    const int64_t packs = V / 8;
    const uint4* p = reinterpret_cast<const uint4*>(x);
    for (int64_t i = threadIdx.x; i < packs; i += kThreads) {
      Pack v;
      v.raw = p[i];
#pragma unroll
      for (int k = 0; k < 4; ++k) {
        const float2 f = __bfloat1622float2(v.h2[k]);
        add(acc, f.x);
        add(acc, f.y);
      }
    }
  } else {
    for (int64_t j = threadIdx.x; j < V; j += kThreads) add(acc, __bfloat162float(x[j]));
  }
  const MaxSum total = block_merge(acc);
  const float lse = total.m + __logf(total.s);
  if (threadIdx.x == 0) row_loss[row] = valid ? weight[row] * (lse - xt) : NAN;

  const float s = scale[row];
  if (kVector) {
    const int64_t packs = V / 8;
    uint4* p = reinterpret_cast<uint4*>(x);
    for (int64_t i = threadIdx.x; i < packs; i += kThreads) {
      Pack v;
      v.raw = p[i];
#pragma unroll
      for (int k = 0; k < 4; ++k) {
        const float2 f = __bfloat1622float2(v.h2[k]);
        const int64_t j = i * 8 + 2 * k;
        float g0 = __expf(f.x - lse), g1 = __expf(f.y - lse);
        if (j == t) g0 -= 1.f;
        if (j + 1 == t) g1 -= 1.f;
        v.h2[k] = __floats2bfloat162_rn(g0 * s, g1 * s);
      }
      p[i] = v.raw;
    }
  } else {
    for (int64_t j = threadIdx.x; j < V; j += kThreads) {
      float g = __expf(__bfloat162float(x[j]) - lse);
      if (j == t) g -= 1.f;
      x[j] = __float2bfloat16(g * s);
    }
  }
}

}  // namespace

void cross_entropy_rows_bf16(void* logits, int64_t n, int64_t V, int64_t ld, const int64_t* targets,
                             const float* weight, const float* scale, float* row_loss,
                             void* stream) {
  if (n <= 0) return;
  auto* x = static_cast<__nv_bfloat16*>(logits);
  auto st = static_cast<cudaStream_t>(stream);
  const bool vector = V % 8 == 0 && ld % 8 == 0 && reinterpret_cast<uintptr_t>(x) % 16 == 0;
  const dim3 grid(static_cast<unsigned>(n));
  if (vector)
    ce_rows_kernel<true><<<grid, kThreads, 0, st>>>(x, V, ld, targets, weight, scale, row_loss);
  else
    ce_rows_kernel<false><<<grid, kThreads, 0, st>>>(x, V, ld, targets, weight, scale, row_loss);
}

}  // namespace ctx::cuda
