// The stacked rotary kernel: see qkv_rope.h. One thread per V consecutive elements of each half of
// a head's row (16-byte loads and stores where every stride and pointer allows, one element
// otherwise); consecutive threads walk a head's row, then the heads of a token, so that the output
// row of a token is written in one coalesced sweep. Index arithmetic is 32-bit where the thread
// count allows (64-bit division is what kept the first rotary kernel at 1.8 TB/s).
// Assumes: every last dimension is contiguous; cos/sin are fp32.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <initializer_list>

#include "model/cuda/qkv_rope.h"

namespace ctx::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kMaxGroups = 3;

struct Groups {
  const void* ptr[kMaxGroups];
  int64_t sb[kMaxGroups], sh[kMaxGroups], st[kMaxGroups];
  int heads[kMaxGroups];
  int rotate[kMaxGroups];
  int n;
};

__device__ __forceinline__ float load(float v) {
  return v;
}
__device__ __forceinline__ float load(__nv_bfloat16 v) {
  return __bfloat162float(v);
}
__device__ __forceinline__ void store(float& p, float v) {
  p = v;
}
__device__ __forceinline__ void store(__nv_bfloat16& p, float v) {
  p = __float2bfloat16(v);
}

template <typename T>
__device__ __forceinline__ T pick(int k, T a, T b, T c) {
  return k == 0 ? a : (k == 1 ? b : c);
}

template <typename S, int V>
struct alignas(sizeof(S) * V) Pack {
  S v[V];
};

template <typename S, int V, typename I>
__global__ void __launch_bounds__(kThreads)
    rope_groups_kernel(Groups g, S* out, I T, I heads, I lanes, I half, int64_t ob, int64_t ot,
                       const float* cos, const float* sin, int64_t cb, int64_t ct, float sign,
                       I total) {
  const I i = static_cast<I>(blockIdx.x) * kThreads + threadIdx.x;
  if (i >= total) return;
  const I d = (i % lanes) * V;
  I r = i / lanes;
  const I h = r % heads;
  r /= heads;
  const I t = r % T;
  const I b = r / T;
  // The group of head h. Fields are picked with constant indices: a runtime index into the
  // parameter struct would copy it to local memory in every thread.
  const I h0 = static_cast<I>(g.heads[0]), h01 = h0 + static_cast<I>(g.heads[1]);
  const int k = h < h0 ? 0 : (g.n < 3 || h < h01 ? 1 : 2);
  const I hh = k == 0 ? h : (k == 1 ? h - h0 : h - h01);
  const S* xp = static_cast<const S*>(pick(k, g.ptr[0], g.ptr[1], g.ptr[2])) +
                b * pick(k, g.sb[0], g.sb[1], g.sb[2]) + hh * pick(k, g.sh[0], g.sh[1], g.sh[2]) +
                t * pick(k, g.st[0], g.st[1], g.st[2]) + d;
  S* op = out + b * ob + t * ot + static_cast<int64_t>(h) * (2 * half) + d;
  const auto a = *reinterpret_cast<const Pack<S, V>*>(xp);
  const auto e = *reinterpret_cast<const Pack<S, V>*>(xp + half);
  if (!pick(k, g.rotate[0], g.rotate[1], g.rotate[2])) {
    *reinterpret_cast<Pack<S, V>*>(op) = a;
    *reinterpret_cast<Pack<S, V>*>(op + half) = e;
    return;
  }
  const auto c = *reinterpret_cast<const Pack<float, V>*>(cos + b * cb + t * ct + d);
  const auto s = *reinterpret_cast<const Pack<float, V>*>(sin + b * cb + t * ct + d);
  Pack<S, V> oa, oe;
#pragma unroll
  for (int j = 0; j < V; ++j) {
    const float av = load(a.v[j]), ev = load(e.v[j]), sv = sign * s.v[j];
    store(oa.v[j], av * c.v[j] - ev * sv);
    store(oe.v[j], ev * c.v[j] + av * sv);
  }
  *reinterpret_cast<Pack<S, V>*>(op) = oa;
  *reinterpret_cast<Pack<S, V>*>(op + half) = oe;
}

bool aligned(const void* p, int64_t bytes) {
  return reinterpret_cast<uintptr_t>(p) % bytes == 0;
}

bool multiples(int64_t v, std::initializer_list<int64_t> xs) {
  for (auto x : xs)
    if (x % v != 0) return false;
  return true;
}

template <typename S, int V, typename I>
void launch_as(const Groups& g, S* out, int64_t B, int64_t T, int64_t heads, int64_t half,
               int64_t ob, int64_t ot, const float* cos, const float* sin, int64_t cb, int64_t ct,
               float sign, cudaStream_t st) {
  const int64_t lanes = half / V, total = B * T * heads * lanes;
  const auto blocks = static_cast<unsigned>((total + kThreads - 1) / kThreads);
  rope_groups_kernel<S, V, I><<<blocks, kThreads, 0, st>>>(
      g, out, static_cast<I>(T), static_cast<I>(heads), static_cast<I>(lanes), static_cast<I>(half),
      ob, ot, cos, sin, cb, ct, sign, static_cast<I>(total));
}

template <typename S, int V>
void launch(const Groups& g, S* out, int64_t B, int64_t T, int64_t heads, int64_t half, int64_t ob,
            int64_t ot, const float* cos, const float* sin, int64_t cb, int64_t ct, float sign,
            cudaStream_t st) {
  const int64_t total = B * T * heads * (half / V);
  if (total + kThreads < (int64_t{1} << 31))
    launch_as<S, V, uint32_t>(g, out, B, T, heads, half, ob, ot, cos, sin, cb, ct, sign, st);
  else
    launch_as<S, V, int64_t>(g, out, B, T, heads, half, ob, ot, cos, sin, cb, ct, sign, st);
}

template <typename S>
void dispatch(const Groups& g, S* out, int64_t B, int64_t T, int64_t heads, int64_t half,
              int64_t ob, int64_t ot, const float* cos, const float* sin, int64_t cb, int64_t ct,
              float sign, cudaStream_t st) {
  constexpr int V = 16 / sizeof(S);
  bool vec = multiples(V, {half, ob, ot, cb, ct}) && aligned(out, 16) && aligned(cos, 4 * V) &&
             aligned(sin, 4 * V);
  for (int k = 0; k < g.n; ++k)
    vec = vec && multiples(V, {g.sb[k], g.sh[k], g.st[k]}) && aligned(g.ptr[k], 16);
  if (vec)
    launch<S, V>(g, out, B, T, heads, half, ob, ot, cos, sin, cb, ct, sign, st);
  else
    launch<S, 1>(g, out, B, T, heads, half, ob, ot, cos, sin, cb, ct, sign, st);
}

}  // namespace

void rope_head_groups(int dtype, const HeadGroup* groups, int n_groups, void* out, int64_t B,
                      int64_t T, int64_t half, int64_t ob, int64_t ot, const float* cos,
                      const float* sin, int64_t cb, int64_t ct, float sign, void* stream) {
  Groups g{};
  int64_t heads = 0;
  g.n = n_groups < kMaxGroups ? n_groups : kMaxGroups;
  for (int k = 0; k < g.n; ++k) {
    g.ptr[k] = groups[k].ptr;
    g.sb[k] = groups[k].sb;
    g.sh[k] = groups[k].sh;
    g.st[k] = groups[k].st;
    g.heads[k] = static_cast<int>(groups[k].heads);
    g.rotate[k] = groups[k].rotate ? 1 : 0;
    heads += groups[k].heads;
  }
  if (B * T * heads * half == 0) return;
  auto st = static_cast<cudaStream_t>(stream);
  if (dtype == 1)
    dispatch(g, static_cast<__nv_bfloat16*>(out), B, T, heads, half, ob, ot, cos, sin, cb, ct, sign,
             st);
  else
    dispatch(g, static_cast<float*>(out), B, T, heads, half, ob, ot, cos, sin, cb, ct, sign, st);
}

}  // namespace ctx::cuda
