// Rotary position embedding with explicit (fractional) position ids, both pairing conventions,
// partial rotary dims, and any registered rope_scaling (frequencies resolved per sequence length).
#pragma once

#include <map>

#include "methods/rope_scaling.h"
#include "model/clex_ode.h"
#include "model/position_scheme.h"

namespace ctx {

enum class RopePairing { Half, Interleaved };

// Rotates the first 2*cos.size(-1) dims of x [B, H, T, Dh] by angles whose cos/sin are
// [B, 1, T, d/2]; the remaining dims pass through.
torch::Tensor apply_rope(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin, RopePairing p);

// The same rotation, fast where it can be, with cos/sin in any dtype (cast to x's where ATen
// computes): half pairing over all of x's dims with angles that take no gradient runs through the
// CUDA kernel (model/fused_ops.h) where built, else as one autograd node whose backward is the
// inverse rotation (four ATen kernels each way); anything else (interleaved, partial rotary, CLEX's
// trained angles) is apply_rope.
torch::Tensor apply_rope_fast(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                              RopePairing p);

class RopeScheme : public PositionScheme {
 public:
  RopeScheme(const ModelConfig& model, const nlohmann::json& rope_scaling);
  void prepare(const torch::Tensor& positions) override;
  void rotate(torch::Tensor& q, torch::Tensor& k, int64_t layer) override;
  // The stacked kernel of model/fused_ops.h where it applies (half pairing over whole heads, fixed
  // angles, no CLEX query scale).
  std::vector<torch::Tensor> split_rotated(const torch::Tensor& qkv, int64_t heads,
                                           int64_t kv_heads, int64_t layer) override;
  nlohmann::json describe() const override;

  // Frequencies the registry formula gives at `seq_len` (for CLEX: the untrained ODE).
  RopeFreqs frequencies(int64_t seq_len) const;
  // Frequencies this model really uses at `seq_len` in evaluation, a trained CLEX ODE included.
  RopeFreqs frequencies_in_use(int64_t seq_len);
  const RopeBase& base() const { return base_; }
  // The learned CLEX ODE when rope_scaling is clex (null otherwise).
  ClexOde clex() const { return clex_; }

 private:
  RopeBase base_;
  RopePairing pairing_;
  nlohmann::json scaling_;
  torch::Tensor cos_, sin_;
  std::map<int64_t, RopeFreqs> cache_;  // by sequence length, for length-dependent scalings
  RopeFreqs last_;
  // The last inverse frequencies uploaded, by (sequence length, device): a step uploads none.
  int64_t inv_dev_len_ = -1;
  torch::Tensor inv_dev_;
  // Whether the formula gives the same frequencies at every length (then prepare() need not read
  // the largest id back from the device, which would wait for the GPU at every forward pass).
  int length_free_ = -1;  // -1: not yet known
  bool length_free();
  // CLEX: the ODE, L0, and (evaluation only) the frequency grid for t = 1..max_t.
  ClexOde clex_{nullptr};
  int64_t clex_L0_ = 0;
  bool clex_log_scale_ = false;
  torch::Tensor clex_grid_;
  int64_t clex_t_ = 1;
  double q_scale_ = 1.0;
  torch::Tensor inv_freq_tensor(const torch::Tensor& positions, int64_t seq_len);
};

}  // namespace ctx
