// Threads, devices and the BLAS probe.
#include "train/runtime.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <torch/cuda.h>

#include <algorithm>
#include <chrono>
#include <sstream>
#include <thread>

#include "config/run_config.h"

namespace ctx {

int setup_threads(int64_t requested) {
  int n = requested > 0 ? static_cast<int>(requested) : static_cast<int>(std::thread::hardware_concurrency());
  if (n < 1) n = 1;
  at::set_num_threads(n);
  // Denormal floats (e.g. far tails of a softmax) take a slow microcode path on x86 CPUs and carry
  // nothing a model needs: flush them to zero, as torch.set_flush_denormal(True) does.
  at::globalContext().setFlushDenormal(true);
  return n;
}

torch::Device resolve_device(const std::string& name) {
  if (name == "cpu") return torch::Device(torch::kCPU);
  if (!torch::cuda::is_available())
    throw ConfigError("train.device: '" + name + "' requested but this LibTorch has no usable CUDA device");
  if (name == "cuda") return torch::Device(torch::kCUDA, 0);
  const int idx = std::stoi(name.substr(5));
  if (idx < 0 || idx >= static_cast<int>(torch::cuda::device_count()))
    throw ConfigError("train.device: '" + name + "' does not exist (" + std::to_string(torch::cuda::device_count()) + " CUDA devices)");
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(idx));
}

double probe_blas_gflops() {
  torch::NoGradGuard ng;
  const int64_t n = 512;
  auto a = torch::randn({n, n}), b = torch::randn({n, n});
  torch::matmul(a, b);  // warm-up (thread pool, BLAS init)
  // Best of a few: other processes on the machine only ever make a single timing slower.
  double best = 1e30;
  for (int i = 0; i < 5; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    torch::matmul(a, b);
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return 2.0 * static_cast<double>(n * n * n) / std::max(best, 1e-9) / 1e9;
}

std::string blas_warning(double gflops) {
  if (gflops >= 15.0) return "";
  std::ostringstream s;
  s.precision(3);
  s << "BLAS is slow (" << gflops << " GFLOP/s for a float32 matmul): install libopenblas0-openmp "
    << "(apt-get install libopenblas0-openmp) so libblas.so.3 points to OpenBLAS";
  return s.str();
}

std::string device_description(const torch::Device& d) {
  if (d.is_cpu()) return "cpu (" + std::to_string(at::get_num_threads()) + " threads)";
  return d.str();
}

}  // namespace ctx
