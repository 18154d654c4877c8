// bench: training and evaluation tokens/s for a few model sizes on the chosen device, as a table.
// Data is random tokens: this measures the engine, not the corpus.
#include <chrono>
#include <iostream>
#include <sstream>

#include <torch/cuda.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adamw.h>
#include <torch/utils.h>

#include "cli/cli_common.h"
#include "model/language_model.h"
#include "train/runtime.h"

namespace ctx::cli {
namespace {

struct Size {
  std::string name;
  int64_t layers, d_model, heads;
};

const std::vector<Size> kSizes = {
    {"tiny", 2, 128, 4}, {"small", 4, 256, 4}, {"base", 6, 384, 6}, {"medium", 8, 512, 8}, {"large", 12, 768, 12}};

void sync(const torch::Device& d) {
  if (d.is_cuda()) torch::cuda::synchronize();
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

int cmd_bench(const Common& c, const std::string& sizes, int64_t steps, const std::string& device_name) {
  if (steps < 1) throw UsageError("--steps: must be >= 1");
  const int threads = setup_threads(0);
  const auto dev = resolve_device(device_name.empty() ? "cpu" : device_name);
  const double gflops = dev.is_cpu() ? probe_blas_gflops() : 0.0;
  if (auto w = blas_warning(gflops); dev.is_cpu() && !w.empty()) std::cerr << "warning: " << w << "\n";

  std::vector<Size> chosen;
  std::stringstream ss(sizes);
  std::string s;
  while (std::getline(ss, s, ',')) {
    auto it = std::find_if(kSizes.begin(), kSizes.end(), [&](auto& z) { return z.name == s; });
    if (it == kSizes.end()) throw UsageError("--sizes: unknown size '" + s + "' (tiny, small, base, medium, large)");
    chosen.push_back(*it);
  }
  const int64_t B = 16, T = 128, evalB = 4, evalT = 1024;
  nlohmann::json rows = nlohmann::json::array();
  if (!c.json)
    std::printf("device %s, %d threads%s\n%-7s %7s %8s %16s %16s %16s\n", device_description(dev).c_str(), threads,
                dev.is_cpu() ? (", BLAS " + format_number(gflops, 3) + " GFLOP/s").c_str() : "", "size", "layers",
                "params", "train tok/s", "eval@128 tok/s", "eval@1024 tok/s");
  for (auto& z : chosen) {
    ModelConfig mc;
    mc.layers = z.layers;
    mc.d_model = z.d_model;
    mc.heads = z.heads;
    mc.position = "rope";
    mc.position_params = {{"theta", 10000.0}, {"pairing", "half"}, {"rotary_fraction", 1.0}};
    torch::manual_seed(1);
    auto model = make_language_model(mc, nullptr, 259);
    model->to(dev);
    torch::optim::AdamW opt(model->parameters(), torch::optim::AdamWOptions(3e-4).weight_decay(0.1));
    auto tok = torch::randint(0, 256, {B, T + 1}, torch::TensorOptions().dtype(torch::kLong)).to(dev);
    auto pos = torch::arange(T, torch::kFloat).unsqueeze(0).expand({B, T}).contiguous().to(dev);
    auto in = tok.narrow(1, 0, T), tg = tok.narrow(1, 1, T);
    auto train_step = [&] {
      opt.zero_grad();
      auto loss = model->loss(in, pos, tg);
      loss.backward();
      torch::nn::utils::clip_grad_norm_(model->parameters(), 1.0);
      opt.step();
    };
    for (int i = 0; i < 3; ++i) train_step();
    sync(dev);
    auto t0 = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < steps; ++i) train_step();
    sync(dev);
    const double train_tps = static_cast<double>(steps * B * T) / seconds_since(t0);

    auto eval_tps = [&](int64_t bb, int64_t tt) {
      torch::NoGradGuard ng;
      auto x = torch::randint(0, 256, {bb, tt}, torch::TensorOptions().dtype(torch::kLong)).to(dev);
      auto p = torch::arange(tt, torch::kFloat).unsqueeze(0).expand({bb, tt}).contiguous().to(dev);
      model->forward(x, p);
      sync(dev);
      const int64_t reps = std::max<int64_t>(2, steps / 4);
      auto t1 = std::chrono::steady_clock::now();
      for (int64_t i = 0; i < reps; ++i) model->forward(x, p);
      sync(dev);
      return static_cast<double>(reps * bb * tt) / seconds_since(t1);
    };
    const double e128 = eval_tps(B, T), e1024 = eval_tps(evalB, evalT);
    rows.push_back({{"size", z.name}, {"layers", z.layers}, {"d_model", z.d_model}, {"heads", z.heads},
                    {"parameters", model->parameter_count()}, {"train_tokens_per_s", train_tps},
                    {"eval128_tokens_per_s", e128}, {"eval1024_tokens_per_s", e1024}});
    if (!c.json)
      std::printf("%-7s %7lld %8.2fM %16.0f %16.0f %16.0f\n", z.name.c_str(), static_cast<long long>(z.layers),
                  static_cast<double>(model->parameter_count()) / 1e6, train_tps, e128, e1024);
  }
  if (c.json)
    print_json({{"device", device_description(dev)}, {"threads", threads}, {"blas_gflops", gflops},
                {"batch", B}, {"seq_len", T}, {"rows", rows}});
  return 0;
}

}  // namespace ctx::cli
