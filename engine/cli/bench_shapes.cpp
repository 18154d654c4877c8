// bench --shape NAME: training throughput of Llama-shaped models at real lengths, as
// tools/bench_vs_hf.py times transformers on the same shapes: tokens/s, model TFLOP/s, MFU against
// the H200's 989 TFLOP/s dense bf16, and peak GPU memory. Random tokens: this measures the engine.
// FLOPs per token: 6 x (layer + head parameters) + 6 x layers x attention width x T (causal
// attention's forward and backward), the convention the transformers figures use.
#include <torch/cuda.h>
#include <torch/torch.h>

#include <chrono>
#include <iostream>

#if __has_include(<c10/cuda/CUDACachingAllocator.h>) && __has_include(<cuda_runtime_api.h>)
#include <c10/cuda/CUDACachingAllocator.h>
#define CTXLAB_CUDA_MEMORY_STATS 1
#endif

#include "cli/bench_profile.h"
#include "cli/bench_shapes.h"
#include "cli/cli_common.h"
#include "model/llama.h"
#include "model/lora.h"
#include "train/bf16_weights.h"
#include "train/fused_adamw.h"
#include "train/grad_clip.h"
#include "train/precision.h"
#include "train/runtime.h"
#include "train/step_graph.h"

namespace ctx::cli {

const std::vector<Shape> kShapes = {
    {"s85m-2k", 768, 12, 12, 12, 2048, 32000, 2048, 8, false, false, false},
    {"m350m-8k", 1024, 24, 16, 16, 2816, 32000, 8192, 2, false, false, false},
    // Llama-3.2-1B: LoRA rank 8 on q/k/v/o, trainable embeddings and norms, checkpointing.
    {"l1b-32k-lora", 2048, 16, 32, 8, 8192, 128256, 32768, 1, true, true, true},
    // Llama-2-7B, full fine-tuning with checkpointing: several GPUs (bench under torchrun).
    {"l7b-64k", 4096, 32, 32, 32, 11008, 32000, 65536, 1, false, false, true},
    {"l7b-128k", 4096, 32, 32, 32, 11008, 32000, 131072, 1, false, false, true},
    // A few million parameters: the distributed bench's smoke test on the CPU.
    {"t4m-256", 256, 2, 4, 4, 688, 4096, 256, 2, false, false, false},
};

const Shape& find_shape(const std::string& name) {
  auto it = std::find_if(kShapes.begin(), kShapes.end(), [&](const Shape& s) { return s.name == name; });
  if (it != kShapes.end()) return *it;
  std::string names;
  for (const auto& s : kShapes) names += (names.empty() ? "" : ", ") + s.name;
  throw UsageError("--shape: unknown shape '" + name + "' (" + names + ")");
}

void reset_peak(const torch::Device& dev) {
#ifdef CTXLAB_CUDA_MEMORY_STATS
  if (dev.is_cuda())
    c10::cuda::CUDACachingAllocator::resetPeakStats(dev.index() < 0 ? 0 : dev.index());
#else
  (void)dev;
#endif
}

double peak_gib(const torch::Device& dev) {
#ifdef CTXLAB_CUDA_MEMORY_STATS
  if (!dev.is_cuda()) return -1;
  const auto stats =
      c10::cuda::CUDACachingAllocator::getDeviceStats(dev.index() < 0 ? 0 : dev.index());
  const auto agg = static_cast<size_t>(c10::CachingAllocator::StatType::AGGREGATE);
  return static_cast<double>(stats.allocated_bytes[agg].peak) / (1024.0 * 1024.0 * 1024.0);
#else
  (void)dev;
  return -1;
#endif
}

ModelConfig model_of(const Shape& s) {
  ModelConfig m;
  m.arch = "llama";
  m.layers = s.layers;
  m.d_model = s.d;
  m.heads = s.heads;
  m.kv_heads = s.kv_heads;
  m.ffn_hidden = s.ffn;
  m.vocab_size = s.vocab;
  m.tie_embeddings = s.tie;
  m.max_positions = s.T;
  m.position = "rope";
  m.position_params = {{"theta", 500000.0}, {"pairing", "half"}, {"rotary_fraction", 1.0}};
  return m;
}

double flops_per_token(const Shape& s, const LanguageModelImpl& model, int64_t T) {
  int64_t body = 0;
  for (const auto& p : model.named_parameters())
    if (p.key() != "model.embed_tokens.weight" && p.key() != "lm_head.weight" && !is_lora_parameter(p.key()))
      body += p.value().numel();
  const int64_t head = s.vocab * s.d;  // the output projection (tied or not) is a matrix product
  return 6.0 * static_cast<double>(body + head) +
         6.0 * static_cast<double>(s.layers * s.heads * (s.d / s.heads) * T);
}

LanguageModel build_shape_model(const Shape& s, const torch::Device& dev) {
  torch::manual_seed(1);
  auto model = make_language_model(model_of(s), nullptr, s.vocab);
  if (s.lora) {
    LoraConfig l;
    l.enabled = true;
    l.rank = 8;
    l.alpha = 16;
    l.train_embeddings = true;
    l.train_norms = true;
    apply_lora(*model, l);
  }
  model->to(dev);
  model->train();
  model->set_checkpointing(s.checkpointing);
  return model;
}

int cmd_bench_shape(const Common& c, const std::string& name, const std::string& device_name,
                    const std::string& precision, int64_t steps, bool cuda_graph) {
  const Shape& s = find_shape(name);
  setup_threads(0);
  const auto dev = resolve_device(device_name.empty() ? "cuda" : device_name);
  check_precision(precision, dev, "--precision", true);
  if (cuda_graph && (!dev.is_cuda() || !StepGraph::supported()))
    throw UsageError(std::string("--cuda-graph: ") +
                     (dev.is_cuda() ? "this build has no CUDA graphs (a CUDA LibTorch and nvcc)"
                                    : "CUDA graphs need --device cuda"));
  auto model = build_shape_model(s, dev);
  // bf16-weights: bf16 copies of the weights for the passes, fp32 masters for the optimizer;
  // bf16: autocast over fp32 weights.
  std::unique_ptr<Bf16Weights> bf16_weights;
  if (precision == "bf16-weights") bf16_weights = std::make_unique<Bf16Weights>(*model);
  std::vector<torch::Tensor> trainable;
  for (auto& p : model->parameters())
    if (p.requires_grad()) trainable.push_back(p);
  torch::optim::AdamW opt(trainable, torch::optim::AdamWOptions(1e-4).weight_decay(0.1));
  const bool use_fused = FusedAdamW::available(opt);
  FusedAdamW fused(opt, use_fused ? bf16_weights.get() : nullptr);
  auto tok = torch::randint(0, s.vocab, {s.B, s.T + 1}, torch::TensorOptions().dtype(torch::kLong))
                 .to(dev);
  auto pos = torch::arange(s.T, torch::kFloat).unsqueeze(0).expand({s.B, s.T}).contiguous().to(dev);
  auto in = tok.narrow(1, 0, s.T), tg = tok.narrow(1, 1, s.T);
  // No host synchronisation inside a step (the loss is read once, after the timed steps), as a
  // training loop that logs every N steps runs.
  torch::Tensor loss;
  auto passes = [&] {
    Bf16Weights::Scope bf16(bf16_weights.get());
    {
      PrecisionScope scope(precision, dev);  // the forward pass only, as autocast wants
      loss = model->loss(in, pos, tg);
    }
    loss.backward();
  };
  auto update = [&] {
    if (use_fused) {
      fused.step(clip_factor_on_device(trainable, 1.0).coef);  // clipped as read
    } else {
      clip_grad_norm_on_device(trainable, 1.0);
      opt.step();
    }
  };
  StepGraph graph;
  auto step = [&] {
    if (graph.captured()) {
      graph.replay();  // the passes, gradients rewritten in place
    } else {
      opt.zero_grad();
      passes();
    }
    update();
  };
  for (int i = 0; i < 3; ++i) step();
  if (dev.is_cuda()) torch::cuda::synchronize();
  reset_peak(dev);  // before the capture: the graph's pool holds the passes' memory from then on
  if (cuda_graph) graph.capture(passes, trainable);
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < steps; ++i) step();
  if (dev.is_cuda()) torch::cuda::synchronize();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double tps = static_cast<double>(steps * s.B * s.T) / secs;
  const double tflops = flops_per_token(s, *model, s.T) * tps / 1e12;
  const double peak = peak_gib(dev);
  const double last_loss = loss.item<double>();
  if (const auto trace = profile_path(); !trace.empty() && start_profile()) {
    for (int i = 0; i < 3; ++i) step();
    if (dev.is_cuda()) torch::cuda::synchronize();
    finish_profile(trace);
  }
  const nlohmann::json row{{"shape", s.name},
                           {"device", device_description(dev)},
                           {"precision", precision},
                           {"tokens_per_s", tps},
                           {"tflops", tflops},
                           {"mfu", tflops / kH200PeakTflops},
                           {"peak_gib", peak},
                           {"parameters", model->parameter_count()},
                           {"fused_adamw", use_fused},
                           {"steps", steps},
                           {"cuda_graph", graph.captured()},
                           {"loss", last_loss}};
  if (c.json) {
    print_json(row);
    return 0;
  }
  std::printf(
      "%-13s %-6s %12s %10s %8s %10s  (%s, %.0fM parameters, fused AdamW %s, CUDA graph %s, loss "
      "%.3f)\n",
      "shape", "prec", "tokens/s", "TFLOP/s", "MFU", "peak GiB", device_description(dev).c_str(),
      static_cast<double>(model->parameter_count()) / 1e6, use_fused ? "on" : "off",
      graph.captured() ? "on" : "off", last_loss);
  std::printf("%-13s %-6s %12.0f %10.1f %7.1f%% %10.1f\n", s.name.c_str(), precision.c_str(), tps,
              tflops, 100 * tflops / kH200PeakTflops, peak);
  return 0;
}

}  // namespace ctx::cli
