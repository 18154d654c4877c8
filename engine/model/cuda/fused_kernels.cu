// CtxLab's SwiGLU kernels, one pass over memory forward and one backward, in fp32 arithmetic on
// fp32 or bf16 storage; 16-byte vector loads where the layout allows, one element per thread
// otherwise. See fused_kernels.h for the layouts.
// Assumes: the last dimension of every tensor is contiguous (stride 1); sizes fit int64.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <initializer_list>

#include "model/cuda/fused_kernels.h"

namespace ctx::cuda {
namespace {

__device__ __forceinline__ float load(const float* p) { return *p; }
__device__ __forceinline__ float load(const __nv_bfloat16* p) { return __bfloat162float(*p); }
__device__ __forceinline__ void store(float* p, float v) { *p = v; }
__device__ __forceinline__ void store(__nv_bfloat16* p, float v) { *p = __float2bfloat16(v); }

constexpr int kThreads = 256;

int64_t blocks_for(int64_t n) { return (n + kThreads - 1) / kThreads; }

template <typename S>
__global__ void swiglu_forward_kernel(const S* gu, S* out, int64_t N, int64_t F, int64_t gs) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= N * F) return;
  const int64_t n = i / F, j = i % F;
  const float g = load(gu + n * gs + j), u = load(gu + n * gs + F + j);
  store(out + i, g / (1.0f + __expf(-g)) * u);
}

template <typename S>
__global__ void swiglu_backward_kernel(const S* gu, const S* dout, S* dgu, int64_t N, int64_t F, int64_t gs) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= N * F) return;
  const int64_t n = i / F, j = i % F;
  const float g = load(gu + n * gs + j), u = load(gu + n * gs + F + j), d = load(dout + i);
  const float sig = 1.0f / (1.0f + __expf(-g));
  store(dgu + n * 2 * F + j, d * u * sig * (1.0f + g * (1.0f - sig)));
  store(dgu + n * 2 * F + F + j, d * g * sig);
}

// Vectorised forms: each thread moves V consecutive elements (16 bytes of x) per half with one
// load and one store, where every offset is a multiple of V and the pointers are aligned (checked
// by the launchers; the scalar kernels above serve otherwise).
template <typename S, int V>
struct alignas(sizeof(S) * V) Pack {
  S v[V];
};

template <typename S, int V>
__global__ void swiglu_forward_vec_kernel(const S* gu, S* out, int64_t N, int64_t F, int64_t gs) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t lanes = F / V;
  if (i >= N * lanes) return;
  const int64_t n = i / lanes, j = (i % lanes) * V;
  const auto g = *reinterpret_cast<const Pack<S, V>*>(gu + n * gs + j);
  const auto u = *reinterpret_cast<const Pack<S, V>*>(gu + n * gs + F + j);
  Pack<S, V> o;
#pragma unroll
  for (int k = 0; k < V; ++k) {
    const float gv = load(&g.v[k]);
    store(&o.v[k], gv / (1.0f + __expf(-gv)) * load(&u.v[k]));
  }
  *reinterpret_cast<Pack<S, V>*>(out + n * F + j) = o;
}

template <typename S, int V>
__global__ void swiglu_backward_vec_kernel(const S* gu, const S* dout, S* dgu, int64_t N, int64_t F, int64_t gs) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t lanes = F / V;
  if (i >= N * lanes) return;
  const int64_t n = i / lanes, j = (i % lanes) * V;
  const auto g = *reinterpret_cast<const Pack<S, V>*>(gu + n * gs + j);
  const auto u = *reinterpret_cast<const Pack<S, V>*>(gu + n * gs + F + j);
  const auto d = *reinterpret_cast<const Pack<S, V>*>(dout + n * F + j);
  Pack<S, V> dg, du;
#pragma unroll
  for (int k = 0; k < V; ++k) {
    const float gv = load(&g.v[k]), uv = load(&u.v[k]), dv = load(&d.v[k]);
    const float sig = 1.0f / (1.0f + __expf(-gv));
    store(&dg.v[k], dv * uv * sig * (1.0f + gv * (1.0f - sig)));
    store(&du.v[k], dv * gv * sig);
  }
  *reinterpret_cast<Pack<S, V>*>(dgu + n * 2 * F + j) = dg;
  *reinterpret_cast<Pack<S, V>*>(dgu + n * 2 * F + F + j) = du;
}

bool aligned(const void* p, int64_t bytes) { return reinterpret_cast<uintptr_t>(p) % bytes == 0; }

bool multiples(int64_t v, std::initializer_list<int64_t> xs) {
  for (auto x : xs)
    if (x % v != 0) return false;
  return true;
}

template <typename S>
void swiglu_forward_launch(const S* gu, S* out, int64_t N, int64_t F, int64_t gs, cudaStream_t st) {
  constexpr int V = 16 / sizeof(S);
  if (multiples(V, {F, gs}) && aligned(gu, 16) && aligned(out, 16)) {
    swiglu_forward_vec_kernel<S, V><<<blocks_for(N * F / V), kThreads, 0, st>>>(gu, out, N, F, gs);
    return;
  }
  swiglu_forward_kernel<<<blocks_for(N * F), kThreads, 0, st>>>(gu, out, N, F, gs);
}

template <typename S>
void swiglu_backward_launch(const S* gu, const S* dout, S* dgu, int64_t N, int64_t F, int64_t gs, cudaStream_t st) {
  constexpr int V = 16 / sizeof(S);
  if (multiples(V, {F, gs}) && aligned(gu, 16) && aligned(dout, 16) && aligned(dgu, 16)) {
    swiglu_backward_vec_kernel<S, V><<<blocks_for(N * F / V), kThreads, 0, st>>>(gu, dout, dgu, N, F, gs);
    return;
  }
  swiglu_backward_kernel<<<blocks_for(N * F), kThreads, 0, st>>>(gu, dout, dgu, N, F, gs);
}

}  // namespace

void swiglu_forward(int dtype, const void* gu, void* out, int64_t N, int64_t F, int64_t gs, void* stream) {
  if (N * F == 0) return;
  auto st = static_cast<cudaStream_t>(stream);
  if (dtype == 1)
    swiglu_forward_launch(static_cast<const __nv_bfloat16*>(gu), static_cast<__nv_bfloat16*>(out), N, F, gs, st);
  else
    swiglu_forward_launch(static_cast<const float*>(gu), static_cast<float*>(out), N, F, gs, st);
}

void swiglu_backward(int dtype, const void* gu, const void* dout, void* dgu, int64_t N, int64_t F, int64_t gs,
                     void* stream) {
  if (N * F == 0) return;
  auto st = static_cast<cudaStream_t>(stream);
  if (dtype == 1)
    swiglu_backward_launch(static_cast<const __nv_bfloat16*>(gu), static_cast<const __nv_bfloat16*>(dout),
                           static_cast<__nv_bfloat16*>(dgu), N, F, gs, st);
  else
    swiglu_backward_launch(static_cast<const float*>(gu), static_cast<const float*>(dout), static_cast<float*>(dgu),
                           N, F, gs, st);
}

}  // namespace ctx::cuda
