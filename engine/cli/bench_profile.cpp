// Kineto profiling for bench --shape; see bench_profile.h.
#include "cli/bench_profile.h"

#include <cstdio>
#include <cstdlib>

#include <torch/version.h>
#if TORCH_VERSION_MAJOR >= 2 && __has_include(<torch/csrc/autograd/profiler_kineto.h>)
#include <torch/csrc/autograd/profiler_kineto.h>
#define CTXLAB_KINETO 1
#endif

namespace ctx::cli {

std::string profile_path() {
  const char* p = std::getenv("CTXLAB_PROFILE");
  return p ? std::string(p) : std::string();
}

#ifdef CTXLAB_KINETO
namespace {
namespace impl = torch::profiler::impl;
impl::ProfilerConfig config() { return impl::ProfilerConfig(impl::ProfilerState::KINETO); }
std::set<impl::ActivityType> activities() { return {impl::ActivityType::CPU, impl::ActivityType::CUDA}; }
}  // namespace

bool start_profile() {
  torch::autograd::profiler::prepareProfiler(config(), activities());
  torch::autograd::profiler::enableProfiler(config(), activities());
  return true;
}

void finish_profile(const std::string& path) {
  auto result = torch::autograd::profiler::disableProfiler();
  result->save(path);
  std::fprintf(stderr, "profile: trace written to %s\n", path.c_str());
}
#else
bool start_profile() {
  std::fprintf(stderr, "profile: this build has no Kineto profiler (LibTorch 2.x with CUDA has one)\n");
  return false;
}
void finish_profile(const std::string&) {}
#endif

}  // namespace ctx::cli
