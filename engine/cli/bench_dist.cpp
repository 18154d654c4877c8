// bench --shape NAME under torchrun: the training step of the distributed engine itself (c10d's
// reducer over every rank, ZeRO-1 AdamW, ring attention over --context-parallel ranks per
// sequence) on a Llama shape. Rank 0 prints the global tokens/s, the MFU per GPU, the peak memory
// of every rank, and with --max-length the longest sequence one step trains (doubling, then
// bisecting to within 1/8; every rank must fit it) and that step's tokens/s. Random tokens: this
// measures the engine.
#include <torch/cuda.h>
#include <torch/nn/utils/clip_grad.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <optional>
#include <thread>
#include <tuple>
#include <utility>

#if __has_include(<c10/cuda/CUDACachingAllocator.h>) && __has_include(<cuda_runtime_api.h>)
#include <c10/cuda/CUDACachingAllocator.h>
#define CTXLAB_BENCH_EMPTY_CACHE 1
#endif

#include "cli/bench_dist.h"
#include "cli/bench_shapes.h"
#include "model/context_parallel.h"
#include "train/distributed.h"
#include "train/gradient_sync.h"
#include "train/precision.h"
#include "train/runtime.h"
#include "train/zero_optimizer.h"

namespace ctx::cli {
namespace {

struct Bench {
  const Shape& shape;
  Distributed& dist;
  torch::Device dev;
  std::string precision;
  LanguageModel model;
  std::unique_ptr<ShardedAdamW> zero;
  std::unique_ptr<torch::optim::AdamW> local;  // the optimizer ZeRO-1 leaves this rank
  std::unique_ptr<GradientSync> sync;
  std::vector<torch::Tensor> trainable;
  double last_loss = 0;

  void build_sync() {
    std::vector<std::pair<std::string, torch::Tensor>> params;
    for (auto& p : model->named_parameters())
      if (p.value().requires_grad()) params.emplace_back(p.key(), p.value());
    sync.reset();  // a reducer left mid-backward by an out-of-memory step is not reused
    sync = std::make_unique<GradientSync>(params, dist.world_group(), false);
  }

  // One training step on sequences of T tokens: each ring holds B of them, split over its ranks.
  void step(int64_t T) {
    const int64_t cp = dist.cp_size(), r = dist.cp_rank();
    torch::manual_seed(static_cast<uint64_t>(1000 + dist.dp_rank()));  // the same sequence on a ring
    auto tok = torch::randint(0, shape.vocab, {shape.B, T + 1}, torch::kLong).to(dev);
    auto pos = torch::arange(T, torch::kFloat).unsqueeze(0).expand({shape.B, T}).contiguous().to(dev);
    auto in = tok.narrow(1, 0, T), tg = tok.narrow(1, 1, T);
    model->zero_grad(false);
    std::optional<ShardedSequence> scope;
    if (cp > 1) {
      scope.emplace(pos);
      in = zigzag_shard(in, cp, r).contiguous();
      tg = zigzag_shard(tg, cp, r).contiguous();
      pos = zigzag_shard(pos, cp, r).contiguous();
    }
    sync->before_forward();
    torch::Tensor loss;
    {
      PrecisionScope p(precision, dev);
      loss = model->loss(in, pos, tg);
    }
    sync->before_backward({loss});
    loss.backward();
    scope.reset();
    torch::nn::utils::clip_grad_norm_(trainable, 1.0);
    zero->step();
    last_loss = loss.item<double>();
  }

  // Whether one step at T fits on every rank; when it does, the seconds it took (every rank).
  std::optional<double> fits(int64_t T) {
    bool failed = false;
    const auto t0 = std::chrono::steady_clock::now();
    try {
      step(T);
      if (dev.is_cuda()) torch::cuda::synchronize();
    } catch (const c10::Error& e) {
      if (std::string(e.what()).find("out of memory") == std::string::npos) throw;
      failed = true;
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (failed) {
#ifdef CTXLAB_BENCH_EMPTY_CACHE
      if (dev.is_cuda()) c10::cuda::CUDACachingAllocator::emptyCache();
#endif
    }
    const bool any_failed = dist.any(failed);
    if (any_failed) build_sync();
    if (dist.root())  // progress: a search cut short by a time limit still says what fitted
      std::fprintf(stderr, any_failed ? "max-length: %lld tokens do not fit\n" : "max-length: %lld tokens fit (%.1f s)\n",
                   static_cast<long long>(T), secs);
    if (any_failed) return std::nullopt;
    return dist.sum(secs) / dist.world();
  }
};

// The longest T (a multiple of `unit`) one step trains, doubling from `start`, then bisecting
// until the gap is under 1/8 of what fits (each step near the limit takes minutes at 1B x 400k),
// and the global tokens/s of that step (its first at that length: allocator warm-up included).
std::pair<int64_t, double> longest(Bench& b, int64_t start, int64_t unit) {
  int64_t good = 0, bad = 0, T = start;
  double good_secs = 0;
  auto attempt = [&](int64_t len) {
    const auto secs = b.fits(len);
    if (secs) {
      good = len;
      good_secs = *secs;
    } else {
      bad = len;
    }
  };
  while (bad == 0 && T <= (int64_t{1} << 24)) {
    attempt(T);
    T *= 2;
  }
  while (bad > 0 && bad - good > std::max(unit, good / 8)) {
    const int64_t mid = (good + bad) / 2 / unit * unit;
    if (mid <= good) break;
    attempt(mid);
  }
  const double tps = good > 0 ? static_cast<double>(b.shape.B * good * b.dist.dp_size()) / good_secs : 0.0;
  return {good, tps};
}

// Global tokens/s of `steps` training steps at T (every rank timed together).
double tokens_per_s(Bench& b, int64_t T, int64_t steps) {
  if (b.dev.is_cuda()) torch::cuda::synchronize();
  b.dist.barrier();
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < steps; ++i) b.step(T);
  if (b.dev.is_cuda()) torch::cuda::synchronize();
  b.dist.barrier();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return static_cast<double>(steps * b.shape.B * T * b.dist.dp_size()) / secs;
}

std::vector<double> peaks_per_rank(Distributed& d, const torch::Device& dev) {
  auto all = torch::zeros({d.world()}, torch::TensorOptions().dtype(torch::kDouble).device(dev));
  all[d.rank()] = peak_gib(dev);
  d.all_reduce_sum(all);
  all = all.cpu();
  return std::vector<double>(all.data_ptr<double>(), all.data_ptr<double>() + d.world());
}

}  // namespace

int cmd_bench_shape_dist(const Common& c, const DistEnv& launch, const BenchDistArgs& a) {
  const Shape& s = find_shape(a.shape);
  DistEnv env = launch;
  if (!env.launched()) env.master_port = 0;  // one process: its own store on any free port
  const int64_t cp = std::max<int64_t>(1, a.context_parallel);
  if (env.world % cp != 0)
    throw UsageError("--context-parallel: " + std::to_string(cp) + " does not divide the world size " +
                     std::to_string(env.world));
  if (s.T % (2 * cp) != 0)
    throw UsageError("--context-parallel: the shape's " + std::to_string(s.T) + " tokens do not split into 2 x " +
                     std::to_string(cp) + " chunks");
  const bool cpu = a.device == "cpu";
  if (!cpu && !torch::cuda::is_available()) throw UsageError("--device: no usable CUDA device");
  const torch::Device dev = cpu ? torch::Device(torch::kCPU)
                                : torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(env.local_rank));
  check_precision(a.precision, dev, "--precision");
  if (cpu) setup_threads(std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / env.local_world));
  // A step near the longest length takes minutes; a rank stuck longer than this fails the bench.
  auto dist = Distributed::connect(env, dev, cp, std::chrono::seconds(600));
  if (cp > 1) install_ring(dist->ring());
  Bench b{s, *dist, dev, a.precision, build_shape_model(s, dev), nullptr, nullptr, nullptr, {}, 0};
  for (auto& p : b.model->parameters())
    if (p.requires_grad()) b.trainable.push_back(p);
  TrainConfig t;
  t.lr = 1e-4;
  b.zero = std::make_unique<ShardedAdamW>(b.model, t, *dist);
  b.local = b.zero->release_local();
  b.build_sync();

  for (int i = 0; i < 3; ++i) b.step(s.T);
  if (dev.is_cuda()) torch::cuda::synchronize();
  reset_peak(dev);
  const double tps = tokens_per_s(b, s.T, a.steps);  // global
  const double tflops_gpu = flops_per_token(s, *b.model, s.T) * tps / dist->world() / 1e12;
  const auto peaks = peaks_per_rank(*dist, dev);
  int64_t max_len = 0;
  std::vector<double> max_peaks;
  double max_tps = 0;
  if (a.max_length) {
    reset_peak(dev);
    std::tie(max_len, max_tps) = longest(b, s.T, 512 * 2 * cp);
    max_peaks = peaks_per_rank(*dist, dev);
  }
  if (cp > 1) install_ring(nullptr);
  if (!dist->root()) return 0;
  nlohmann::json row{{"shape", s.name},
                     {"device", dist->device_label()},
                     {"precision", a.precision},
                     {"context_parallel", cp},
                     {"data_parallel", dist->dp_size()},
                     {"tokens_per_s", tps},
                     {"tflops_per_gpu", tflops_gpu},
                     {"mfu_per_gpu", tflops_gpu / kH200PeakTflops},
                     {"peak_gib_per_rank", peaks},
                     {"parameters", b.model->parameter_count()},
                     {"steps", a.steps},
                     {"loss", b.last_loss}};
  if (a.max_length) {
    row["max_length"] = max_len;
    row["max_length_peak_gib_per_rank"] = max_peaks;
    row["max_length_tokens_per_s"] = max_tps;
  }
  if (c.json) {
    print_json(row);
    return 0;
  }
  std::printf("%-13s %-6s %-10s %4s %4s %12s %12s %8s  (%.0fM parameters, loss %.3f)\n", "shape", "prec", "device",
              "cp", "dp", "tokens/s", "TFLOP/s/GPU", "MFU", static_cast<double>(b.model->parameter_count()) / 1e6,
              b.last_loss);
  std::printf("%-13s %-6s %-10s %4lld %4d %12.0f %12.1f %7.1f%%\n", s.name.c_str(), a.precision.c_str(),
              dist->device_label().c_str(), static_cast<long long>(cp), dist->dp_size(), tps, tflops_gpu,
              100 * tflops_gpu / kH200PeakTflops);
  std::printf("peak GiB per rank:");
  for (double p : peaks) std::printf(" %.1f", p);
  std::printf("\n");
  if (a.max_length) {
    std::printf("longest sequence one step trains: %lld tokens, %.0f tokens/s (peak GiB per rank:",
                static_cast<long long>(max_len), max_tps);
    for (double p : max_peaks) std::printf(" %.1f", p);
    std::printf(")\n");
  }
  return 0;
}

}  // namespace ctx::cli
