// The RMSNorm weight-gradient kernel: see norm_weight_grad.h. Pass one: a block of kCols·V columns
// and kRows threads over rows; each thread sums V columns over every kRows-th row of its split in
// fp32, the block adds its kRows sums in shared memory and writes one row of `partial`. Pass two:
// kRows threads per column sum the splits' rows, then shared memory. 16-byte loads where D and the
// pointers allow. Assumes: x and dy rows contiguous with stride D; rstd fp32 [N].
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "model/cuda/norm_weight_grad.h"

namespace ctx::cuda {
namespace {

constexpr int kCols = 32;  // threads across columns (one warp)
constexpr int kRows = 8;   // threads across rows

__device__ __forceinline__ float load(float v) {
  return v;
}
__device__ __forceinline__ float load(__nv_bfloat16 v) {
  return __bfloat162float(v);
}
__device__ __forceinline__ void store(float* p, float v) {
  *p = v;
}
__device__ __forceinline__ void store(__nv_bfloat16* p, float v) {
  *p = __float2bfloat16(v);
}

template <typename S, int V>
struct alignas(sizeof(S) * V) Pack {
  S v[V];
};

template <typename S, int V>
__global__ void __launch_bounds__(kCols* kRows)
    partial_sums_kernel(const S* x, const S* dy, const float* rstd, float* partial, int64_t N,
                        int64_t D, int64_t rows_per_split) {
  __shared__ float sums[kRows][kCols * V];
  const int64_t c0 = (static_cast<int64_t>(blockIdx.x) * kCols + threadIdx.x) * V;
  const int64_t r0 = static_cast<int64_t>(blockIdx.y) * rows_per_split;
  const int64_t r1 = r0 + rows_per_split < N ? r0 + rows_per_split : N;
  float acc[V];
#pragma unroll
  for (int j = 0; j < V; ++j) acc[j] = 0.f;
  if (c0 < D) {
    for (int64_t r = r0 + threadIdx.y; r < r1; r += kRows) {
      const auto xv = *reinterpret_cast<const Pack<S, V>*>(x + r * D + c0);
      const auto gv = *reinterpret_cast<const Pack<S, V>*>(dy + r * D + c0);
      const float s = rstd[r];
#pragma unroll
      for (int j = 0; j < V; ++j) acc[j] += load(gv.v[j]) * load(xv.v[j]) * s;
    }
  }
#pragma unroll
  for (int j = 0; j < V; ++j) sums[threadIdx.y][threadIdx.x * V + j] = acc[j];
  __syncthreads();
  // kRows rows of sums -> one: each of the block's threads finishes some columns.
  for (int col = threadIdx.y * kCols + threadIdx.x; col < kCols * V; col += kCols * kRows) {
    float total = 0.f;
#pragma unroll
    for (int k = 0; k < kRows; ++k) total += sums[k][col];
    const int64_t c = static_cast<int64_t>(blockIdx.x) * kCols * V + col;
    if (c < D) partial[static_cast<int64_t>(blockIdx.y) * D + c] = total;
  }
}

// Pass two: a block of kCols columns, kRows threads summing every kRows-th split, then shared
// memory.
template <typename S>
__global__ void __launch_bounds__(kCols* kRows)
    column_sums_kernel(const float* partial, S* dw, int64_t D, int64_t splits) {
  __shared__ float sums[kRows][kCols];
  const int64_t c = static_cast<int64_t>(blockIdx.x) * kCols + threadIdx.x;
  float total = 0.f;
  if (c < D)
    for (int64_t s = threadIdx.y; s < splits; s += kRows) total += partial[s * D + c];
  sums[threadIdx.y][threadIdx.x] = total;
  __syncthreads();
  if (threadIdx.y != 0 || c >= D) return;
#pragma unroll
  for (int k = 1; k < kRows; ++k) total += sums[k][threadIdx.x];
  store(dw + c, total);
}

bool aligned(const void* p, int64_t bytes) {
  return reinterpret_cast<uintptr_t>(p) % bytes == 0;
}

template <typename S, int V>
void launch(const S* x, const S* dy, const float* rstd, S* dw, float* partial, int64_t N, int64_t D,
            int64_t splits, cudaStream_t st) {
  const int64_t rows = (N + splits - 1) / splits;
  const dim3 grid(static_cast<unsigned>((D + kCols * V - 1) / (kCols * V)),
                  static_cast<unsigned>(splits));
  partial_sums_kernel<S, V><<<grid, dim3(kCols, kRows), 0, st>>>(x, dy, rstd, partial, N, D, rows);
  column_sums_kernel<S>
      <<<static_cast<unsigned>((D + kCols - 1) / kCols), dim3(kCols, kRows), 0, st>>>(partial, dw,
                                                                                      D, splits);
}

template <typename S>
void dispatch(const S* x, const S* dy, const float* rstd, S* dw, float* partial, int64_t N,
              int64_t D, int64_t splits, cudaStream_t st) {
  constexpr int V = 16 / sizeof(S);
  if (D % V == 0 && aligned(x, 16) && aligned(dy, 16))
    launch<S, V>(x, dy, rstd, dw, partial, N, D, splits, st);
  else
    launch<S, 1>(x, dy, rstd, dw, partial, N, D, splits, st);
}

}  // namespace

int64_t norm_weight_grad_splits(int64_t N) {
  static const int sms = [] {
    int dev = 0, n = 0;
    if (cudaGetDevice(&dev) != cudaSuccess ||
        cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, dev) != cudaSuccess)
      return 108;
    return n;
  }();
  // One row block per multiprocessor (times the column blocks), at least 32 rows per block.
  return std::max<int64_t>(1, std::min<int64_t>(sms, (N + 31) / 32));
}

void rms_norm_weight_grad(int dtype, const void* x, const void* dy, const float* rstd, void* dw,
                          float* partial, int64_t N, int64_t D, int64_t splits, void* stream) {
  if (D == 0) return;
  auto st = static_cast<cudaStream_t>(stream);
  if (N == 0) {
    cudaMemsetAsync(dw, 0, D * (dtype == 1 ? 2 : 4), st);
    return;
  }
  if (dtype == 1)
    dispatch(static_cast<const __nv_bfloat16*>(x), static_cast<const __nv_bfloat16*>(dy), rstd,
             static_cast<__nv_bfloat16*>(dw), partial, N, D, splits, st);
  else
    dispatch(static_cast<const float*>(x), static_cast<const float*>(dy), rstd,
             static_cast<float*>(dw), partial, N, D, splits, st);
}

}  // namespace ctx::cuda
