// GPU memory and utilisation per log step; see gpu_monitor.h.
#include "train/gpu_monitor.h"

#include <dlfcn.h>

#include <cstdlib>
#include <map>
#include <mutex>
#include <sstream>

#if __has_include(<c10/cuda/CUDACachingAllocator.h>) && __has_include(<cuda_runtime_api.h>)
#include <c10/cuda/CUDACachingAllocator.h>
#define CTXLAB_GPU_MEMORY_STATS 1
#endif

namespace ctx {
namespace {

// The few NVML declarations used (nvml.h is not needed: the library is looked up at run time).
using nvmlReturn = int;  // NVML_SUCCESS = 0
using nvmlDevice = void*;
struct nvmlUtilization {
  unsigned int gpu, memory;
};
using InitFn = nvmlReturn (*)();
using ByIndexFn = nvmlReturn (*)(unsigned int, nvmlDevice*);
using ByUuidFn = nvmlReturn (*)(const char*, nvmlDevice*);
using UtilFn = nvmlReturn (*)(nvmlDevice, nvmlUtilization*);

class Nvml {
 public:
  static Nvml& get() {
    static Nvml n;
    return n;
  }
  // Utilisation in percent of CUDA device `cuda_index`; negative when it cannot be read.
  double utilisation(int cuda_index) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!util_) return -1;
    auto it = devices_.find(cuda_index);
    if (it == devices_.end()) it = devices_.emplace(cuda_index, find(cuda_index)).first;
    nvmlUtilization u{};
    if (!it->second || util_(it->second, &u) != 0) return -1;
    return static_cast<double>(u.gpu);
  }

 private:
  Nvml() {
    lib_ = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib_) return;
    auto sym = [&](const char* a, const char* b) {
      void* p = dlsym(lib_, a);
      return p ? p : (b ? dlsym(lib_, b) : nullptr);
    };
    auto init = reinterpret_cast<InitFn>(sym("nvmlInit_v2", "nvmlInit"));
    by_index_ = reinterpret_cast<ByIndexFn>(sym("nvmlDeviceGetHandleByIndex_v2", "nvmlDeviceGetHandleByIndex"));
    by_uuid_ = reinterpret_cast<ByUuidFn>(sym("nvmlDeviceGetHandleByUUID", nullptr));
    auto util = reinterpret_cast<UtilFn>(sym("nvmlDeviceGetUtilizationRates", nullptr));
    if (init && by_index_ && util && init() == 0) util_ = util;
  }
  // The process stays attached to NVML until it exits (nvmlShutdown is not needed then).

  nvmlDevice find(int cuda_index) {
    const char* env = std::getenv("CUDA_VISIBLE_DEVICES");
    std::string uuid;
    const int index = nvml_index_of(cuda_index, env ? env : "", &uuid);
    nvmlDevice d = nullptr;
    if (index >= 0 && by_index_(static_cast<unsigned int>(index), &d) == 0) return d;
    if (!uuid.empty() && by_uuid_ && by_uuid_(uuid.c_str(), &d) == 0) return d;
    return nullptr;  // no utilisation rather than another device's
  }

  std::mutex mu_;
  void* lib_ = nullptr;
  ByIndexFn by_index_ = nullptr;
  ByUuidFn by_uuid_ = nullptr;
  UtilFn util_ = nullptr;
  std::map<int, nvmlDevice> devices_;
};

}  // namespace

int nvml_index_of(int cuda_index, const std::string& visible, std::string* uuid) {
  if (uuid) uuid->clear();
  if (cuda_index < 0) return -1;
  if (visible.empty()) return cuda_index;
  std::stringstream ss(visible);
  std::string entry;
  for (int i = 0; std::getline(ss, entry, ','); ++i) {
    if (i != cuda_index) continue;
    const auto b = entry.find_first_not_of(' '), e = entry.find_last_not_of(' ');
    entry = b == std::string::npos ? std::string() : entry.substr(b, e - b + 1);
    if (!entry.empty() && entry.find_first_not_of("0123456789") == std::string::npos) return std::stoi(entry);
    if (entry.rfind("GPU-", 0) == 0 || entry.rfind("MIG-", 0) == 0) {
      if (uuid) *uuid = entry;
    }
    return -1;
  }
  return -1;
}

void append_gpu_metrics(int cuda_index, std::vector<std::pair<std::string, double>>& values) {
  if (cuda_index < 0) return;
#ifdef CTXLAB_GPU_MEMORY_STATS
  const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(cuda_index);
  // Index 0 is StatType::AGGREGATE (all pools), whose namespace moved between LibTorch versions.
  values.emplace_back("gpu_memory_gib", static_cast<double>(stats.allocated_bytes[0].peak) / (1024.0 * 1024.0 * 1024.0));
  c10::cuda::CUDACachingAllocator::resetPeakStats(cuda_index);  // the next log reports its own window
#endif
  const double util = Nvml::get().utilisation(cuda_index);
  if (util >= 0) values.emplace_back("gpu_util", util);
}

}  // namespace ctx
