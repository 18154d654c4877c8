// CLEX's ODE: forward and reverse-mode RK integration in fp32 loops, plus the autograd reference.
#include "model/clex_ode.h"

#include <cmath>

#include <torch/autograd.h>
#include <torch/nn/init.h>

namespace ctx {
namespace {

// An explicit Runge–Kutta tableau: k_s = f(t + c_s h, z + h Σ_{r<s} a_sr k_r), z' = z + h Σ b_s k_s.
struct Tableau {
  std::vector<std::vector<double>> a;
  std::vector<double> b, c;
};

Tableau tableau(const std::string& scheme) {
  if (scheme == "classic") return {{{}, {0.5}, {0, 0.5}, {0, 0, 1}}, {1 / 6.0, 1 / 3.0, 1 / 3.0, 1 / 6.0}, {0, 0.5, 0.5, 1}};
  // Kutta's 3/8 rule: what torchdiffeq's fixed-grid "rk4" method uses.
  return {{{}, {1 / 3.0}, {-1 / 3.0, 1}, {1, -1, 1}}, {0.125, 0.375, 0.375, 0.125}, {0, 1 / 3.0, 2 / 3.0, 1}};
}

double alpha_of(double t) { return t < 1 ? 1.0 : 2 * t - 1; }

// One vector-field evaluation as the reverse pass needs it: the input x = z + ξ(t) and the
// activation and its derivative (kept so the reverse pass never recomputes tanh/sigmoid).
struct Eval {
  std::vector<float> x;     // [d/2]
  std::vector<float> a;     // act(u), [H]
  std::vector<float> da;    // act'(u), [H]
};

struct Solver {
  int64_t D, H;  // d/2, hidden
  const float* up;
  const float* down;
  bool silu;
  // ξ_j(t) = c0_j + c1_j·ln α(t) and ξ'_j(t) = c2_j / α(t) (dα/dt = 2): one log per evaluation.
  std::vector<float> c0, c1, c2;

  Solver(const ClexOptions& o, int64_t hidden, const float* up_, const float* down_)
      : D(o.rot_dim / 2), H(hidden), up(up_), down(down_), silu(o.act == "silu") {
    const double d = static_cast<double>(o.rot_dim), lb = std::log(o.time_base);
    for (int64_t j = 0; j < D; ++j) {
      const double i = 2.0 * static_cast<double>(j);
      c0.push_back(static_cast<float>(-(i / d) * lb));
      c1.push_back(static_cast<float>(-(i / (d - 2))));
      c2.push_back(static_cast<float>(-(i / (d - 2)) * 2.0));
    }
  }

  // f(t, z) into `out`; records the evaluation when `rec` is given.
  void field(double t, const float* z, float* out, Eval* rec) const {
    const double alpha = alpha_of(t);
    const float la = static_cast<float>(std::log(alpha)), inv_a = static_cast<float>(t < 1 ? 0.0 : 1.0 / alpha);
    thread_local std::vector<float> x, u, a, da;
    x.resize(static_cast<size_t>(D));
    u.assign(static_cast<size_t>(H), 0.f);
    a.resize(static_cast<size_t>(H));
    da.resize(static_cast<size_t>(H));
    for (int64_t j = 0; j < D; ++j) x[j] = z[j] + c0[j] + c1[j] * la;
    for (int64_t j = 0; j < D; ++j) {
      const float xj = x[j];
      const float* row = up + j * H;
      for (int64_t i = 0; i < H; ++i) u[i] += xj * row[i];
    }
    for (int64_t i = 0; i < H; ++i) {
      if (silu) {
        const float sg = 1.f / (1.f + std::exp(-u[i]));
        a[i] = u[i] * sg;
        da[i] = sg * (1.f + u[i] * (1.f - sg));
      } else {
        a[i] = std::tanh(u[i]);
        da[i] = 1.f - a[i] * a[i];
      }
    }
    for (int64_t k = 0; k < D; ++k) out[k] = c2[k] * inv_a;
    for (int64_t i = 0; i < H; ++i) {
      const float ai = a[i];
      const float* row = down + i * D;
      for (int64_t k = 0; k < D; ++k) out[k] += ai * row[k];
    }
    if (rec) {
      rec->x = x;
      rec->a = a;
      rec->da = da;
    }
  }

  // Reverse of one evaluation: given dL/df, accumulate dL/dW and return dL/dz (= dL/dx).
  void field_back(const Eval& e, const float* g, float* gz, float* gup, float* gdown) const {
    thread_local std::vector<float> gu;
    gu.resize(static_cast<size_t>(H));
    for (int64_t i = 0; i < H; ++i) {
      const float ai = e.a[i];
      const float* row = down + i * D;
      float* grow = gdown + i * D;
      float ga = 0;
#pragma omp simd reduction(+ : ga)
      for (int64_t k = 0; k < D; ++k) {
        grow[k] += ai * g[k];
        ga += row[k] * g[k];
      }
      gu[i] = ga * e.da[i];
    }
    for (int64_t j = 0; j < D; ++j) {
      const float* row = up + j * H;
      float* grow = gup + j * H;
      const float xj = e.x[j];
      float acc = 0;
#pragma omp simd reduction(+ : acc)
      for (int64_t i = 0; i < H; ++i) {
        grow[i] += xj * gu[i];
        acc += row[i] * gu[i];
      }
      gz[j] = acc;
    }
  }
};

int64_t steps_per_unit(double dt) { return static_cast<int64_t>(std::llround(1.0 / dt)); }

class ClexSolveFn : public torch::autograd::Function<ClexSolveFn> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, torch::Tensor up, torch::Tensor down,
                               ClexOdeImpl* module, int64_t t_end) {
    ctx->saved_data["module"] = reinterpret_cast<int64_t>(module);
    ctx->saved_data["t_end"] = t_end;
    ctx->save_for_backward({up, down});
    return run(module, up, down, t_end, nullptr, nullptr, {});
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    auto* module = reinterpret_cast<ClexOdeImpl*>(ctx->saved_data["module"].toInt());
    const int64_t t_end = ctx->saved_data["t_end"].toInt();
    auto saved = ctx->get_saved_variables();
    auto gup = torch::zeros_like(saved[0], torch::kCPU);
    auto gdown = torch::zeros_like(saved[1], torch::kCPU);
    run(module, saved[0], saved[1], t_end, &gup, &gdown, grads[0].to(torch::kCPU, torch::kFloat).contiguous());
    return {gup.to(saved[0].device()), gdown.to(saved[1].device()), torch::Tensor(), torch::Tensor()};
  }

  // Forward pass (returns z at t = 1..t_end); with gradient outputs, also runs the reverse pass.
  static torch::Tensor run(ClexOdeImpl* m, const torch::Tensor& up_t, const torch::Tensor& down_t, int64_t t_end,
                           torch::Tensor* gup_t, torch::Tensor* gdown_t, const torch::Tensor& gout) {
    auto up_c = up_t.detach().to(torch::kCPU, torch::kFloat).contiguous();
    auto down_c = down_t.detach().to(torch::kCPU, torch::kFloat).contiguous();
    const auto& o = m->options();
    Solver s(o, up_c.size(1), up_c.data_ptr<float>(), down_c.data_ptr<float>());
    const Tableau tb = tableau(o.scheme);
    const size_t S = tb.b.size();
    const int64_t per = steps_per_unit(o.time_dt);
    const double h = 1.0 / static_cast<double>(per);
    const int64_t n_steps = (t_end - 1) * per;
    const bool backward = gup_t != nullptr;
    const size_t D = static_cast<size_t>(s.D);

    auto out = torch::empty({t_end, s.D}, torch::kFloat);
    float* outp = out.data_ptr<float>();
    std::vector<float> z(D);
    for (size_t j = 0; j < D; ++j) {
      const double inv = std::pow(o.theta, -2.0 * static_cast<double>(j) / static_cast<double>(o.rot_dim));
      z[j] = static_cast<float>(std::log(inv));
    }
    std::copy(z.begin(), z.end(), outp);
    std::vector<Eval> tape(backward ? static_cast<size_t>(n_steps) * S : 0);
    std::vector<std::vector<float>> k(S, std::vector<float>(D));
    std::vector<float> in(D);
    for (int64_t n = 0; n < n_steps; ++n) {
      const double t = 1.0 + static_cast<double>(n) * h;
      for (size_t st = 0; st < S; ++st) {
        for (size_t j = 0; j < D; ++j) {
          double acc = 0;
          for (size_t r = 0; r < st; ++r) acc += tb.a[st][r] * k[r][j];
          in[j] = z[j] + static_cast<float>(h * acc);
        }
        s.field(t + tb.c[st] * h, in.data(), k[st].data(), backward ? &tape[static_cast<size_t>(n) * S + st] : nullptr);
      }
      for (size_t j = 0; j < D; ++j) {
        double acc = 0;
        for (size_t st = 0; st < S; ++st) acc += tb.b[st] * k[st][j];
        z[j] += static_cast<float>(h * acc);
      }
      if ((n + 1) % per == 0) std::copy(z.begin(), z.end(), outp + ((n + 1) / per) * s.D);
    }
    if (!backward) return out.to(up_t.device());

    // Reverse sweep: g holds dL/dz at the current grid point; outputs add in at integer times.
    const float* go = gout.data_ptr<float>();
    float* gup = gup_t->data_ptr<float>();
    float* gdown = gdown_t->data_ptr<float>();
    std::vector<float> g(go + (t_end - 1) * s.D, go + t_end * s.D);
    std::vector<std::vector<float>> gk(S, std::vector<float>(D));
    std::vector<float> gin(D);
    for (int64_t n = n_steps - 1; n >= 0; --n) {
      for (size_t st = 0; st < S; ++st)
        for (size_t j = 0; j < D; ++j) gk[st][j] = static_cast<float>(h * tb.b[st]) * g[j];
      for (size_t st = S; st-- > 0;) {
        s.field_back(tape[static_cast<size_t>(n) * S + st], gk[st].data(), gin.data(), gup, gdown);
        for (size_t j = 0; j < D; ++j) g[j] += gin[j];
        for (size_t r = 0; r < st; ++r)
          for (size_t j = 0; j < D; ++j) gk[r][j] += static_cast<float>(h * tb.a[st][r]) * gin[j];
      }
      if (n % per == 0) {
        const int64_t row = n / per;  // grid point t = 1 + row
        for (size_t j = 0; j < D; ++j) g[j] += go[row * s.D + static_cast<int64_t>(j)];
      }
    }
    return out;
  }
};

}  // namespace

ClexOdeImpl::ClexOdeImpl(const ClexOptions& o) : o_(o) {
  const int64_t D = o.rot_dim / 2, H = o.param_factor * o.rot_dim;
  up = register_parameter("up", torch::empty({D, H}));
  down = register_parameter("down", torch::zeros({H, D}));
  torch::NoGradGuard ng;
  torch::nn::init::kaiming_uniform_(up, std::sqrt(5.0));  // as nn.init in the released code
}

std::pair<std::vector<float>, std::vector<float>> ClexOdeImpl::time_embedding(double t) const {
  const int64_t D = o_.rot_dim / 2;
  const double d = static_cast<double>(o_.rot_dim), a = alpha_of(t), lb = std::log(o_.time_base);
  const double da = t < 1 ? 0.0 : 2.0;  // dα/dt
  std::vector<float> xi(static_cast<size_t>(D)), dxi(static_cast<size_t>(D));
  for (int64_t j = 0; j < D; ++j) {
    const double i = 2.0 * static_cast<double>(j);
    xi[j] = static_cast<float>(-(i / d) * lb - (i / (d - 2)) * std::log(a));
    dxi[j] = static_cast<float>(-(i / (d - 2)) * da / a);
  }
  return {xi, dxi};
}

torch::Tensor ClexOdeImpl::solve(int64_t t_end) {
  return ClexSolveFn::apply(up, down, this, t_end);
}

torch::Tensor ClexOdeImpl::solve_reference(int64_t t_end) {
  const Tableau tb = tableau(o_.scheme);
  const int64_t per = steps_per_unit(o_.time_dt);
  const double h = 1.0 / static_cast<double>(per);
  auto opts = torch::TensorOptions().dtype(torch::kFloat).device(up.device());
  auto z = torch::log(torch::pow(o_.theta, -2.0 * torch::arange(o_.rot_dim / 2, opts) / static_cast<double>(o_.rot_dim)));
  auto f = [&](double t, const torch::Tensor& y) {
    auto [xi, dxi] = time_embedding(t);
    auto x = y + torch::tensor(xi, opts);
    auto u = torch::matmul(x, up);
    auto a = o_.act == "silu" ? u * torch::sigmoid(u) : torch::tanh(u);
    return torch::matmul(a, down) + torch::tensor(dxi, opts);
  };
  std::vector<torch::Tensor> rows = {z};
  for (int64_t n = 0; n < (t_end - 1) * per; ++n) {
    const double t = 1.0 + static_cast<double>(n) * h;
    std::vector<torch::Tensor> k;
    for (size_t s = 0; s < tb.b.size(); ++s) {
      auto in = z;
      for (size_t r = 0; r < s; ++r) in = in + h * tb.a[s][r] * k[r];
      k.push_back(f(t + tb.c[s] * h, in));
    }
    auto step = k[0] * tb.b[0];
    for (size_t s = 1; s < k.size(); ++s) step = step + k[s] * tb.b[s];
    z = z + h * step;
    if ((n + 1) % per == 0) rows.push_back(z);
  }
  return torch::stack(rows);
}

}  // namespace ctx
