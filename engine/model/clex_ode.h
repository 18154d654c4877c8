// CLEX (METHODS.md §2): RoPE log-frequencies z(t) evolved by a learned neural ODE from z(1) = log θ,
// dz/dt = W_down·act(W_up·(z + ξ(t))) + ξ'(t), with ξ the NTK time embedding (α = 2t − 1).
// A fixed-step explicit Runge–Kutta solver in plain loops with an exact reverse pass (a custom
// autograd function): the ODE is tiny (d/2 → λd → d/2) and LibTorch's per-op overhead would
// otherwise cost more than the model step. A readable LibTorch-autograd reference sits beside it.
#pragma once

#include <string>

#include <torch/nn/module.h>
#include <torch/types.h>

namespace ctx {

struct ClexOptions {
  int64_t rot_dim = 64;        // d: rotated dims per head
  double theta = 10000.0;      // RoPE base b: z(1) = log θ
  // Base of the NTK time embedding ξ(t). The released code always uses 10000: ODELinear.forward
  // calls get_time_embedding without its base, whatever rope_theta is. It does not change the
  // untrained solution (only ξ' enters there), only what the trained network sees.
  double time_base = 10000.0;
  int64_t max_t = 16;          // max_factor
  int64_t param_factor = 1;    // λ: hidden width λ·d
  double time_dt = 0.01;       // RK step
  std::string act = "tanh";    // tanh | silu
  std::string scheme = "3/8";  // "3/8" (torchdiffeq's rk4) | "classic"
};

class ClexOdeImpl : public torch::nn::Module {
 public:
  explicit ClexOdeImpl(const ClexOptions& o);
  // z(t) at the integer times 1..t_end, [t_end, d/2] (row k is t = k + 1), differentiable in W.
  torch::Tensor solve(int64_t t_end);
  // The same through LibTorch ops and autograd: slow, plain, and the reference for tests.
  torch::Tensor solve_reference(int64_t t_end);
  // NTK time embedding ξ(t) (log of NTK inverse frequencies with α = 2t − 1, base time_base) and its derivative.
  std::pair<std::vector<float>, std::vector<float>> time_embedding(double t) const;
  const ClexOptions& options() const { return o_; }
  torch::Tensor up, down;  // [d/2, λd] and [λd, d/2]; down starts at zero

 private:
  ClexOptions o_;
};
TORCH_MODULE(ClexOde);

}  // namespace ctx
