// One rank of a ring test, launched by test_ring_processes.cpp with torchrun's variables. Every rank
// builds the same full inputs (fixed seeds), runs its part through the real ring over c10d (Gloo on
// the CPU, NCCL on CUDA), and compares with the plain computation on the whole sequence.
//   ctxlab_dist_worker ring DEVICE DTYPE   ring attention forward and backward vs causal attention
//   ctxlab_dist_worker model DEVICE SCALING CHECKPOINTING
//                                          a llama model's per-token losses and parameter gradients,
//                                          fractional position ids, rope_scaling SCALING (yarn,
//                                          dynamic, none)
// Prints "max_out=E max_grad=E" and exits 0 within tolerance, 3 beyond it, 1 on an error.
#include <cstdio>
#include <iostream>
#include <string>

#include "model/attention.h"
#include "model/context_parallel.h"
#include "model/language_model.h"
#include "model/ring_attention.h"
#include "train/distributed.h"

namespace {

using ctx::Distributed;

double diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kDouble).cpu() - b.to(torch::kDouble).cpu()).abs().max().item<double>();
}

int ring_case(Distributed& d, const torch::Device& dev, const std::string& dtype_name) {
  const auto dtype = dtype_name == "bf16" ? torch::kBFloat16 : dtype_name == "f32" ? torch::kFloat : torch::kDouble;
  const int64_t N = d.world(), r = d.rank(), T = 8 * N;
  torch::manual_seed(3);
  auto opts = torch::TensorOptions().dtype(dtype).device(dev);
  auto q = torch::randn({2, 4, T, 16}, opts), k = torch::randn({2, 4, T, 16}, opts),
       v = torch::randn({2, 4, T, 16}, opts), w = torch::randn({2, 4, T, 16}, opts);
  // The plain computation, in double on every rank.
  auto qd = q.to(torch::kDouble).clone().requires_grad_(), kd = k.to(torch::kDouble).clone().requires_grad_(),
       vd = v.to(torch::kDouble).clone().requires_grad_();
  auto ref = ctx::attend_explicit(qd, kd, vd, {}, true).first;
  (ref * w.to(torch::kDouble)).sum().backward();
  // This rank's part through the ring.
  auto shard = [&](const torch::Tensor& t) { return ctx::zigzag_shard(t, N, r, 2).contiguous(); };
  auto ql = shard(q).requires_grad_(), kl = shard(k).requires_grad_(), vl = shard(v).requires_grad_();
  auto out = ctx::ring_attention(ql, kl, vl, d.ring());
  (out.to(torch::kDouble) * shard(w).to(torch::kDouble)).sum().backward();
  const double e_out = diff(out, shard(ref.detach()));
  const double e_grad = std::max({diff(ql.grad(), shard(qd.grad())), diff(kl.grad(), shard(kd.grad())),
                                  diff(vl.grad(), shard(vd.grad()))});
  std::printf("max_out=%.3g max_grad=%.3g\n", e_out, e_grad);
  // The ring accumulates in fp32 whatever the inputs (ring_attention.h), double inputs included.
  const double tol = dtype == torch::kBFloat16 ? 6e-2 : 1e-5;
  return e_out < tol && e_grad < tol * 4 ? 0 : 3;
}

int model_case(Distributed& d, const torch::Device& dev, const std::string& scaling, bool checkpointing) {
  const int64_t N = d.world(), r = d.rank(), T = 12 * N, V = 64;
  nlohmann::json j = {{"name", "ring-model"},
                      {"model",
                       {{"arch", "llama"}, {"layers", 2}, {"d_model", 32}, {"heads", 4}, {"kv_heads", 2},
                        {"max_positions", 32}}}};
  if (scaling == "yarn") j["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 4.0}, {"original_max_position_embeddings", 32}};
  if (scaling == "dynamic") j["rope_scaling"] = {{"rope_type", "dynamic"}, {"factor", 2.0}};
  const auto cfg = ctx::parse_run_config(j);
  torch::manual_seed(5);
  auto model = ctx::make_language_model(cfg.model, cfg.rope_scaling, V);
  model->to(dev);
  model->set_checkpointing(checkpointing);
  torch::manual_seed(6);
  auto lopts = torch::TensorOptions().dtype(torch::kLong).device(dev);
  auto tokens = torch::randint(0, V, {2, T}, lopts), targets = torch::randint(0, V, {2, T}, lopts);
  // Fractional ids past the original 32 positions, a different offset per row.
  auto positions = (torch::arange(T, torch::kFloat) * 1.75 + 0.5).unsqueeze(0).repeat({2, 1});
  positions[1] += 3.25;
  positions = positions.to(dev);

  auto ref = model->token_losses(tokens, positions, targets);
  ref.sum().backward();
  std::vector<torch::Tensor> ref_grads;
  for (auto& p : model->parameters()) ref_grads.push_back(p.grad().clone());
  model->zero_grad();

  ctx::install_ring(d.ring());
  torch::Tensor local;
  {
    ctx::ShardedSequence scope(positions);
    auto shard = [&](const torch::Tensor& t) { return ctx::zigzag_shard(t, N, r).contiguous(); };
    local = model->token_losses(shard(tokens), shard(positions), shard(targets));
    local.sum().backward();
  }
  ctx::install_ring(nullptr);
  double e_grad = 0;
  size_t i = 0;
  for (auto& p : model->parameters()) {
    auto g = p.grad().clone();
    d.all_reduce_sum(g);  // each rank holds its tokens' part of every gradient
    e_grad = std::max(e_grad, diff(g, ref_grads[i++]));
  }
  const double e_out = diff(local, ctx::zigzag_shard(ref.detach(), N, r));
  std::printf("max_out=%.3g max_grad=%.3g\n", e_out, e_grad);
  return e_out < 1e-4 && e_grad < 1e-4 ? 0 : 3;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc < 3) throw std::invalid_argument("usage: ctxlab_dist_worker ring|model DEVICE ...");
    const std::string what = argv[1];
    const auto env = ctx::read_dist_env();
    const torch::Device dev = std::string(argv[2]) == "cuda"
                                  ? torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(env.local_rank))
                                  : torch::Device(argv[2]);
    auto d = Distributed::connect(env, dev, env.world, std::chrono::seconds(60));
    if (what == "ring") return ring_case(*d, dev, argc > 3 ? argv[3] : "f64");
    if (what == "model") return model_case(*d, dev, argc > 3 ? argv[3] : "none", argc > 4 && std::string(argv[4]) == "1");
    throw std::invalid_argument("unknown case '" + what + "'");
  } catch (const std::exception& e) {
    std::string msg = e.what();
    std::cerr << "error: " << msg.substr(0, msg.find('\n')) << "\n";
    return 1;
  }
}
