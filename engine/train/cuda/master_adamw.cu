// The master-weight AdamW kernel (see master_adamw.h). Tensors travel by value in the launch's
// parameters (CUDA 12.1+ takes up to 32 KB of them), so a step needs no upload of a pointer table;
// each block takes a fixed chunk of one tensor, found by binary search over the chunk offsets.
// Assumes: every tensor is contiguous; numel < 2^31 · kChunk.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "train/cuda/master_adamw.h"

namespace ctx::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int64_t kChunk = 16 * 1024;  // elements per block
constexpr int kMaxEntries = 320;       // 320 · (64 + 4) bytes: well within the 32 KB of parameters

struct Batch {
  MasterAdamwEntry e[kMaxEntries];
  // Block offsets: entry i owns blocks [first_block[i], first_block[i+1]).
  int first_block[kMaxEntries + 1];
  int count;
};

__device__ __forceinline__ float load_grad(const float* g, int64_t i) {
  return g[i];
}
__device__ __forceinline__ float load_grad(const __nv_bfloat16* g, int64_t i) {
  return __bfloat162float(g[i]);
}

template <typename G>
__global__ void __launch_bounds__(kThreads)
    master_adamw_kernel(const __grid_constant__ Batch b, float beta1, float beta2, float eps,
                        const float* coef) {
  // The entry owning this block: the last i with first_block[i] <= blockIdx.x.
  int lo = 0, hi = b.count - 1;
  const int blk = static_cast<int>(blockIdx.x);
  while (lo < hi) {
    const int mid = (lo + hi + 1) / 2;
    if (b.first_block[mid] <= blk)
      lo = mid;
    else
      hi = mid - 1;
  }
  const MasterAdamwEntry& e = b.e[lo];
  const int64_t start = static_cast<int64_t>(blk - b.first_block[lo]) * kChunk;
  const int64_t end = min(e.n, start + kChunk);
  const float c = coef ? *coef : 1.0f;
  const G* grad = static_cast<const G*>(e.grad);
  __nv_bfloat16* copy = static_cast<__nv_bfloat16*>(e.copy);
  for (int64_t i = start + threadIdx.x; i < end; i += kThreads) {
    const float g = load_grad(grad, i) * c;
    // The order of ATen's fused AdamW (fused_adam_utils.cuh), so both round alike.
    float p = e.master[i];
    p -= e.lr_wd * p;
    const float m = beta1 * e.exp_avg[i] + (1.0f - beta1) * g;
    const float v = beta2 * e.exp_avg_sq[i] + (1.0f - beta2) * g * g;
    const float denom = sqrtf(v) / e.bc2_sqrt + eps;
    p = p - e.step_size * (m / denom);
    e.master[i] = p;
    e.exp_avg[i] = m;
    e.exp_avg_sq[i] = v;
    if (copy) copy[i] = __float2bfloat16(p);
  }
}

template <typename G>
void launch_all(const MasterAdamwEntry* entries, int count, float beta1, float beta2, float eps,
                const float* coef, cudaStream_t st) {
  for (int begin = 0; begin < count; begin += kMaxEntries) {
    Batch b;
    b.count = std::min(kMaxEntries, count - begin);
    int blocks = 0;
    for (int i = 0; i < b.count; ++i) {
      b.e[i] = entries[begin + i];
      b.first_block[i] = blocks;
      blocks += static_cast<int>((b.e[i].n + kChunk - 1) / kChunk);
    }
    b.first_block[b.count] = blocks;
    if (blocks > 0) master_adamw_kernel<G><<<blocks, kThreads, 0, st>>>(b, beta1, beta2, eps, coef);
  }
}

}  // namespace

void master_adamw(const MasterAdamwEntry* entries, int count, int grad_dtype, float beta1,
                  float beta2, float eps, const float* coef, void* stream) {
  auto st = static_cast<cudaStream_t>(stream);
  if (grad_dtype == 1)
    launch_all<__nv_bfloat16>(entries, count, beta1, beta2, eps, coef, st);
  else
    launch_all<float>(entries, count, beta1, beta2, eps, coef, st);
}

}  // namespace ctx::cuda
