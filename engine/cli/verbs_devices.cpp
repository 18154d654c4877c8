// devices: what this ctxlab-cli can train on, for the window's GPU-count control and for a user
// deciding how to launch. Assumes LibTorch registers a CUDA device guard exactly when its CUDA
// libraries are linked in (c10_cuda does so at load time), GPUs or not; the GPU count is what
// LibTorch sees (CUDA_VISIBLE_DEVICES applies), which is what a torchrun launch gets.
#include <torch/cuda.h>

#include <c10/core/impl/DeviceGuardImplInterface.h>

#include <cstdio>

#include "cli/cli_common.h"
#include "train/distributed.h"

namespace ctx::cli {

int cmd_devices(const Common& c) {
  const bool cuda = c10::impl::hasDeviceGuardImpl(c10::DeviceType::CUDA);
  const int gpus = cuda ? static_cast<int>(torch::cuda::device_count()) : 0;
  const std::string backends = dist_backends();
  const bool nccl = backends.find("nccl") != std::string::npos;
  if (c.json) {
    print_json({{"cuda", cuda}, {"gpus", gpus}, {"backends", backends}, {"nccl", nccl}});
    return 0;
  }
  std::printf("CUDA            %s\n", cuda ? "yes (this LibTorch has CUDA)" : "no (this LibTorch is CPU-only)");
  std::printf("CUDA GPUs       %d\n", gpus);
  std::printf("process groups  %s\n", backends.empty() ? "none (no torchrun launches)" : backends.c_str());
  if (nccl && gpus > 1)
    std::printf("on %d GPUs:      torchrun --standalone --nproc_per_node %d --no-python ctxlab-cli train --config F\n",
                gpus, gpus);
  return 0;
}

}  // namespace ctx::cli
