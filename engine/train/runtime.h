// Process-wide runtime set-up: thread count, device selection, and a quick BLAS speed probe
// (Debian's LibTorch runs on whatever libblas.so.3 points to; the reference BLAS is ~60x slower).
#pragma once

#include <string>

#include <torch/types.h>

namespace ctx {

// Sets intra-op threads (0 = all cores) and returns the number used.
int setup_threads(int64_t requested);

// Parses "cpu", "cuda", "cuda:N"; throws ConfigError when CUDA is asked for but absent.
torch::Device resolve_device(const std::string& name);

// GFLOP/s of a float32 matmul on the CPU (a few milliseconds with a good BLAS).
double probe_blas_gflops();

// A warning text when BLAS is slow, empty otherwise.
std::string blas_warning(double gflops);

std::string device_description(const torch::Device& d);

}  // namespace ctx
